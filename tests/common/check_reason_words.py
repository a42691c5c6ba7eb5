#!/usr/bin/env python3
"""check_reason_words: every reason word the broker writes next to an error
code in its sources is a row of common/sl_reason.c, sent with that code
(PROTOCOL.md 3.2: the broker sends no word that is not in the table).

usage: check_reason_words.py ROOT
Exit 0, or 1 with one line per word that is missing or sent with another
code ("FILE:LINE: WORD with CODE: ...")."""
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else '.'
table = {}
for m in re.finditer(r'R \("([a-z-]+)", ([A-Z_]+),', open(os.path.join(root, 'common/sl_reason.c')).read()):
    table[m.group(1)] = m.group(2)
if len(table) < 18:
    print('common/sl_reason.c: the table did not parse (%d rows)' % len(table))
    sys.exit(1)

code = r'SLUICE__V1__ERROR_CODE__([A-Z_]+)'
plain = re.compile(code + r'\s*,\s*"([a-z][a-z-]*)"')
choice = re.compile(r'(\w+) \? ' + code + r' : ' + code + r',\s*\1 \? "([a-z-]+)" : "([a-z-]+)"')
bad, seen = [], 0
for path in sorted(glob.glob(os.path.join(root, 'broker', '*.c'))):
    text = open(path, encoding='utf-8').read()
    rel = os.path.relpath(path, root)
    found = [(m.start(), m.group(1), m.group(2)) for m in plain.finditer(text)]
    for m in choice.finditer(text):
        found += [(m.start(), m.group(2), m.group(4)), (m.start(), m.group(3), m.group(5))]
    for at, c, word in found:
        seen += 1
        line = text.count('\n', 0, at) + 1
        if word not in table:
            bad.append('%s:%d: reason "%s" is not in common/sl_reason.c (PROTOCOL.md 3.2)' % (rel, line, word))
        elif table[word] != c:
            bad.append('%s:%d: reason "%s" is sent with %s, the table says %s' % (rel, line, word, c, table[word]))
for b in bad:
    print(b)
if seen < 20:
    print('only %d reason words found in broker/*.c: the patterns no longer match the code' % seen)
    sys.exit(1)
print('%d reason words checked' % seen, file=sys.stderr)
sys.exit(1 if bad else 0)
