/*  sl_file — the one reader of a whole file into memory (registries,
 *  descriptor sets, TLS certificates and keys). */
#ifndef SL_COMMON_FILE_H
#define SL_COMMON_FILE_H

#include <stddef.h>

/*  Reads the whole file `path` into a new buffer with a NUL after its
 *  `*len` bytes (so a text file is a string; binary files may hold NULs).
 *  Returns 0 with *out (the caller frees it); SL_EIO with err "PATH: reason"
 *  when it cannot be opened, or "PATH: read error"; SL_ENOMEM with err
 *  "PATH: out of memory". On error *out is NULL. */
int sl_file_read (const char *path, char **out, size_t *len, char *err, size_t errlen);

#endif
