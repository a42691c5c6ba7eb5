/*  sluicectl: keygen files and modes, --help everywhere, and the member and
    status commands against the real sluiced. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sl_keys.h"

static tb_t tb;
static char out[16384];

#define CTL tb_program ("SLUICECTL")
/*  Runs the printf-formatted shell command line (CTL: sluicectl's path);
 *  its stdout in `out`. The exit status. */
#define SH(...) tl_sh (out, sizeof out, __VA_ARGS__)
/*  Runs sluicectl with --data of the test broker and the printf-formatted
 *  arguments; stderr folded into out. The exit status. */
#define RUN(fmt, ...) \
    SH ("SLUICE_TIMEOUT=%d '%s' --data '%s/data' " fmt " 2>&1", tb_wait (5000), CTL, tb.dir, ##__VA_ARGS__)

static void
s_tmp (void)
{
    memset (&tb, 0, sizeof tb);
    snprintf (tb.dir, sizeof tb.dir, "/tmp/sl-sdk-cli-XXXXXX");
    cr_assert_not_null (mkdtemp (tb.dir));
}

static void
s_broker (void)
{
    tb_init (&tb);
    tb_start (&tb);
}

static void
s_teardown (void)
{
    tb_cleanup (&tb);
}

Test (cli, keygen_writes_a_private_key_and_a_public_key, .init = s_tmp, .fini = s_teardown)
{
    char path[512];
    struct stat st;
    cr_assert_eq (SH ("'%s' keygen water --dir '%s' 2>&1", CTL, tb.dir), 0, "%s", out);
    TL_HAS (out, "water.key", "member add");
    snprintf (path, sizeof path, "%s/water.key", tb.dir);
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600, "secret key mode %o", st.st_mode & 0777);
    sl_keypair_t kp;
    char err[256], pub[SL_KEY_Z85_LEN + 1];
    cr_assert_eq (sl_keys_load_secret (path, &kp, err, sizeof err), 0, "%s", err);
    snprintf (path, sizeof path, "%s/water.pub", tb.dir);
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0077 & ~0044, 0, "public key not writable by others");
    cr_assert_eq (sl_keys_load_public (path, pub, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (pub, kp.public_key);

    /* a second keygen does not overwrite the secret key */
    cr_assert_eq (SH ("'%s' keygen water --dir '%s' 2>&1", CTL, tb.dir), 1);
    TL_HAS (out, "already exists", "--force");

    /* --json gives the same public key */
    cr_assert_eq (SH ("'%s' keygen power --dir '%s' --json", CTL, tb.dir), 0);
    cJSON *j = cJSON_Parse (out);
    cr_assert_not_null (j, "not JSON: %s", out);
    cr_assert_str_eq (cJSON_GetObjectItem (j, "name")->valuestring, "power");
    cr_assert (sl_keys_valid_z85 (cJSON_GetObjectItem (j, "public_key")->valuestring));
    cJSON_Delete (j);

    /* names that would escape the directory are refused */
    cr_assert_eq (SH ("'%s' keygen ../evil --dir '%s' 2>&1", CTL, tb.dir), 2, "%s", out);
}

Test (cli, every_command_has_help, .init = s_tmp, .fini = s_teardown)
{
    const char *cmds[] = { "--help", "keygen --help", "member --help", "member add --help",
                           "member list --help", "member revoke --help", "status --help" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq (SH ("'%s' %s", CTL, cmds[i]), 0, "sluicectl %s", cmds[i]);
        cr_assert (strstr (out, "usage: sluicectl") != NULL, "sluicectl %s: %s", cmds[i], out);
    }
    TL_EXPECT (SH ("'%s' frobnicate 2>&1", CTL), 2, out, "unknown command 'frobnicate'");
    TL_EXPECT (SH ("'%s' member add water 2>&1", CTL), 2, out, "--role");
}

Test (cli, no_broker_is_a_clear_error, .init = s_tmp, .fini = s_teardown)
{
    cr_assert_eq (RUN ("status"), 1);
    TL_HAS (out, "endpoints", "sluiced");
}

/*  Asserts that `member list --json` is a JSON array listing `name` with
 *  `role`, revoked or not (`revoked`: 1 or 0). */
static void
s_listed (const char *name, const char *role, int revoked)
{
    cr_assert_eq (RUN ("member list --json"), 0, "%s", out);
    cJSON *j = cJSON_Parse (out), *m, *found = NULL;
    cr_assert (cJSON_IsArray (j), "not a JSON array: %s", out);
    cJSON_ArrayForEach (m, j)
        if (!strcmp (cJSON_GetObjectItem (m, "name")->valuestring, name))
            found = m;
    cr_assert_not_null (found, "%s is not listed: %s", name, out);
    cr_assert_str_eq (cJSON_GetObjectItem (found, "role")->valuestring, role);
    cJSON *r = cJSON_GetObjectItem (found, "revoked");
    cr_assert (revoked ? cJSON_IsTrue (r) : cJSON_IsFalse (r), "revoked is not %d: %s", revoked, out);
    cJSON_Delete (j);
}

Test (cli, member_add_list_revoke, .init = s_broker, .fini = s_teardown)
{
    cr_assert_eq (RUN ("keygen water --dir '%s/keys'", tb.dir), 0, "%s", out);
    TL_EXPECT (RUN ("member add water --role member --pub '%s/keys/water.pub'", tb.dir), 0, out,
               "added member water");
    /* the same name twice is refused with the broker's reason */
    TL_EXPECT (RUN ("member add water --role member --pub '%s/keys/water.pub'", tb.dir), 1, out, "member.add");

    s_listed ("water", "member", 0);
    cr_assert_eq (RUN ("member list"), 0);
    TL_HAS (out, "NAME", "water");

    /* revoking closes the member's open session */
    sl_client_options_t o = tb_options (&tb, NULL);
    char key[400], err[512];
    snprintf (key, sizeof key, "%s/keys/water.key", tb.dir);
    o.key_file = key;
    sl_client_t *w = NULL;
    cr_assert_eq (sl_client_connect (&o, &w, err, sizeof err), 0, "%s", err);
    TL_EXPECT (RUN ("member revoke water"), 0, out, "revoked member water");
    TL_HAS (out, "(1 open session closed)");
    cr_assert_eq (sl_client_poll (w, tb_wait (500)), SL_ECLOSED, "the session learns it was revoked");
    sl_client_destroy (&w, 0);
    s_listed ("water", "member", 1);

    /* a member's key may not use the admin plane */
    cr_assert_eq (RUN ("keygen power --dir '%s/keys'", tb.dir), 0);
    cr_assert_eq (RUN ("member add power --role member --pub '%s/keys/power.pub'", tb.dir), 0, "%s", out);
    TL_EXPECT (RUN ("--key '%s/keys/power.key' member add x --role member --pub '%s/keys/power.pub'",
                      tb.dir, tb.dir), 1, out, "member.add");
    /* the same through SLUICE_KEY */
    cr_assert_eq (SH ("SLUICE_KEY='%s/keys/power.key' '%s' --data '%s/data' member list 2>&1", tb.dir,
                        CTL, tb.dir), 1, "a member's key cannot list members: %s", out);
}

Test (cli, status_json_parses, .init = s_broker, .fini = s_teardown)
{
    char key[320];
    tb_member (&tb, "water", "member", key);
    sl_client_t *w = tb_connect (&tb, key);
    cr_assert_eq (RUN ("status --json"), 0, "%s", out);
    cJSON *j = cJSON_Parse (out);
    cr_assert_not_null (j, "not JSON: %s", out);
    cr_assert (cJSON_IsString (cJSON_GetObjectItem (j, "version")));
    cr_assert (cJSON_IsNumber (cJSON_GetObjectItem (j, "uptime_s")));
    cJSON *conn = cJSON_GetObjectItem (j, "members_connected"), *m;
    cr_assert (cJSON_IsArray (conn));
    int has_water = 0;
    cJSON_ArrayForEach (m, conn)
        has_water |= cJSON_IsString (m) && !strcmp (m->valuestring, "water");
    cr_assert (has_water, "water is connected: %s", out);
    cr_assert (cJSON_IsObject (cJSON_GetObjectItem (j, "queues")));
    cJSON_Delete (j);
    cr_assert_eq (RUN ("status"), 0);
    TL_HAS (out, "sluiced", "water");
    sl_client_destroy (&w, 0);
}
