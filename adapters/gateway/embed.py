#!/usr/bin/env python3
"""Embeds a JSON file as a C string (checked to be valid JSON first).

usage: embed.py INPUT.json OUT.c OUT.h NAME
"""
import json
import sys

src, out_c, out_h, name = sys.argv[1:5]
text = open(src, encoding='utf-8').read()
json.loads(text)  # a broken document fails the build, not a client
text.encode('ascii')  # kept ASCII: no escaping questions in C
with open(out_h, 'w') as f:
    f.write('/* generated from %s by embed.py */\n#pragma once\nextern const char %s[];\n'
            % (src.split('/')[-1], name))
# bytes, not a string literal: -Wpedantic limits literals to 4095 characters
data = text.encode('ascii') + b'\0'
with open(out_c, 'w') as f:
    f.write('/* generated from %s by embed.py */\nconst char %s[] = {\n' % (src.split('/')[-1], name))
    for i in range(0, len(data), 16):
        f.write('  ' + ', '.join('%d' % b for b in data[i:i + 16]) + ',\n')
    f.write('};\n')
