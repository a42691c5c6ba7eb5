/*  The console's HTTP helpers (console/sl_html.h, console/sl_web.h): what a
    page is built with and how a request is read. The whole server is
    exercised by browser_test.mjs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sl_html.h"
#include "sl_web.h"

Test (html, escapes_text_and_attributes)
{
    sl_html_t *h = sl_html_new ();
    cr_assert_not_null (h);
    sl_html_text (h, "<script>alert('x') & \"y\"</script>");
    cr_expect_str_eq (sl_html_data (h),
                      "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    sl_html_destroy (&h);
    cr_expect_null (h);
    sl_html_destroy (&h);           /* twice is harmless */
}

Test (html, cells_and_inputs)
{
    sl_html_t *h = sl_html_new ();
    sl_html_cell (h, "a<b");
    sl_html_cell (h, NULL);
    sl_html_input (h, "f", "Since", "since", "2026-01-01 \"x\"", NULL);
    cr_expect_str_eq (sl_html_data (h),
                      "<td>a&lt;b</td><td></td><label>Since <input name=\"since\" id=\"f-since\" "
                      "value=\"2026-01-01 &quot;x&quot;\" placeholder=\"\"></label>\n");
    sl_html_destroy (&h);
}

Test (html, grows_and_hands_over_the_text)
{
    sl_html_t *h = sl_html_new ();
    for (int i = 0; i < 10000; i++)
        sl_html_printf (h, "%d,", i);
    cr_expect_eq (sl_html_failed (h), 0);
    size_t len = 0;
    char *text = sl_html_take (h, &len);
    cr_assert_not_null (text);
    cr_expect_eq (len, strlen (text));
    cr_expect (strncmp (text, "0,1,2,", 6) == 0);
    cr_expect_eq (sl_html_len (h), 0);
    free (text);
    sl_html_destroy (&h);
}

Test (html, url_and_csv)
{
    sl_html_t *h = sl_html_new ();
    sl_html_url (h, "a b&c=d/é");
    cr_expect_str_eq (sl_html_data (h), "a%20b%26c%3Dd%2F%C3%A9");
    free (sl_html_take (h, NULL));
    sl_html_csv (h, "plain");
    sl_html_raw (h, "|");
    sl_html_csv (h, "a,\"b\"");
    sl_html_raw (h, "|");
    sl_html_csv (h, "=HYPERLINK(\"x\")");
    cr_expect_str_eq (sl_html_data (h), "plain|\"a,\"\"b\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"");
    sl_html_destroy (&h);
}

Test (form, decodes_fields)
{
    const char *f = "csrf=abc&text=permit+%22x%22+%7B%0A%7D&empty=&flag&owner=water&owner=power";
    char *v = sl_form_get (f, strlen (f), "text");
    cr_expect_str_eq (v, "permit \"x\" {\n}");
    free (v);
    v = sl_form_get (f, strlen (f), "empty");
    cr_expect_str_eq (v, "");
    free (v);
    v = sl_form_get (f, strlen (f), "flag");
    cr_expect_str_eq (v, "");
    free (v);
    v = sl_form_get (f, strlen (f), "owner");     /* the first wins */
    cr_expect_str_eq (v, "water");
    free (v);
    cr_expect_null (sl_form_get (f, strlen (f), "own"));
    cr_expect_null (sl_form_get (f, strlen (f), "missing"));
}

Test (form, odd_percent_escapes)
{
    const char *f = "a=%zz%4&b=x%00y&c=100%";
    char *v = sl_form_get (f, strlen (f), "a");
    cr_expect_str_eq (v, "%zz%4");                /* kept as written */
    free (v);
    cr_expect_null (sl_form_get (f, strlen (f), "b"));   /* a NUL byte is refused */
    v = sl_form_get (f, strlen (f), "c");
    cr_expect_str_eq (v, "100%");
    free (v);
    /* a body that is not NUL-terminated: only `len` bytes count */
    char buf[8] = { 'k', '=', 'v', 'w', 'X', 'X', 'X', 'X' };
    v = sl_form_get (buf, 4, "k");
    cr_expect_str_eq (v, "vw");
    free (v);
}

Test (web, cookie_parsing)
{
    char out[80];
    cr_expect_eq (sl_web_cookie ("a=1; sluice_console=abc; b=2", "sluice_console", out,
                                 sizeof out), 0);
    cr_expect_str_eq (out, "abc");
    cr_expect_eq (sl_web_cookie ("xsluice_console=abc", "sluice_console", out, sizeof out), -1);
    cr_expect_eq (sl_web_cookie ("sluice_console_old=abc", "sluice_console", out, sizeof out), -1);
    cr_expect_eq (sl_web_cookie ("sluice_console=0123456789", "sluice_console", out, 5), -1);
    cr_expect_eq (sl_web_cookie ("", "sluice_console", out, sizeof out), -1);
}

Test (web, secrets_compare)
{
    cr_expect (sl_web_secret_eq ("abcdef", "abcdef"));
    cr_expect (!sl_web_secret_eq ("abcdef", "abcdeg"));
    cr_expect (!sl_web_secret_eq ("abcdef", "abcde"));
    cr_expect (!sl_web_secret_eq ("", ""));      /* no secret is never a match */
}

Test (web, starts_on_a_free_loopback_port)
{
    char err[200];
    sl_web_t *w = sl_web_new ("127.0.0.1", 0, NULL, NULL, err, sizeof err);
    cr_assert_not_null (w, "%s", err);
    cr_expect_gt (sl_web_port (w), 0);
    const char *url = sl_web_login_url (w);
    cr_expect (strncmp (url, "http://127.0.0.1:", 17) == 0);
    cr_expect_eq (strlen (strstr (url, "token=") + 6), 64);
    sl_web_destroy (&w);
    cr_expect_null (sl_web_new ("not-an-address", 0, NULL, NULL, err, sizeof err));
}
