/*  sl_suggest — see sl_suggest.h. */
#include "sl_suggest.h"

#include <stdlib.h>
#include <string.h>

/*  Levenshtein distance, two rows; names are short (ids, kinds). */
static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 256 || lb > 256)
        return (size_t) -1;
    size_t prev[257], cur[257];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy (prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

const char *
sl_suggest (const char *name, const char *const *cands, size_t n)
{
    size_t len = strlen (name), limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = (size_t) -1;
    for (size_t i = 0; i < n; i++) {
        size_t d = s_distance (name, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best && best_d > 0 && best_d <= limit ? best : NULL;
}

int
sl_suggest_known (const char *name, const char *const *cands, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (name, cands[i]) == 0)
            return 1;
    return 0;
}
