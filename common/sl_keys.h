/*  sl_keys — CURVE key files.
 *
 *  A key pair NAME is two text files, as `sluicectl keygen NAME` writes them:
 *
 *    NAME.pub  (any mode)            NAME.key  (mode 0600, owner only)
 *      # sluice CURVE public key       # sluice CURVE secret key — keep private
 *      public-key = <40 chars Z85>     public-key = <40 chars Z85>
 *                                      secret-key = <40 chars Z85>
 *
 *  Lines starting with '#' and blank lines are ignored; keys are Z85 text as
 *  libzmq's zmq_curve_keypair() writes it. A secret key file that group or
 *  others may read is refused (SL_EKEY), as ssh refuses one.
 */
#ifndef SL_KEYS_H
#define SL_KEYS_H

#include <stddef.h>

#define SL_KEY_Z85_LEN 40   /* characters, without the terminating NUL */

typedef struct {
    char public_key[SL_KEY_Z85_LEN + 1];
    char secret_key[SL_KEY_Z85_LEN + 1];   /* "" when loaded from a .pub file */
} sl_keypair_t;

/*  Makes a new CURVE key pair. Returns 0, or SL_EIO if libzmq was built
 *  without CURVE. */
int sl_keys_generate (sl_keypair_t *out);

/*  Writes DIR/NAME.key (0600, created exclusively unless `overwrite`) and
 *  DIR/NAME.pub (0644). Returns 0, SL_EEXIST if NAME.key exists and not
 *  `overwrite`, SL_EIO otherwise; `err` (may be NULL) gets a message. */
int sl_keys_write (const char *dir, const char *name, const sl_keypair_t *kp,
                   int overwrite, char *err, size_t errlen);

/*  Reads a secret key file (NAME.key). Refuses files readable by group or
 *  others. Returns 0, SL_EKEY (unsafe mode, malformed, public and secret key
 *  do not match) or SL_EIO (cannot open); `err` gets "PATH:LINE: what". */
int sl_keys_load_secret (const char *path, sl_keypair_t *out, char *err, size_t errlen);

/*  Reads a public key from a .pub or .key file (only `public-key` is used).
 *  Returns 0, SL_EKEY or SL_EIO, with `err` as above. */
int sl_keys_load_public (const char *path, char public_key[SL_KEY_Z85_LEN + 1],
                         char *err, size_t errlen);

/*  True if `z85` is 40 valid Z85 characters decoding to a 32-byte key. */
int sl_keys_valid_z85 (const char *z85);

/*  Short fingerprint of a public key for logs and audit entries: the first
 *  16 hex digits of BLAKE2b-256(raw 32-byte key). `out` needs 17 bytes.
 *  Returns 0 or SL_EINVAL for an invalid key. */
int sl_keys_fingerprint (const char *public_z85, char out[17]);

#endif
