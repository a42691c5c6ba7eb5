#!/usr/bin/env bash
# Validates the gateway's OpenAPI 3.1 document (adapters/gateway/openapi.json,
# served as /openapi.json) against the OpenAPI 3.1 schema with
# @seriousme/openapi-schema-validator (pinned in package-lock.json, installed
# by scripts/install-npm.sh), and checks that every route the gateway serves
# is in it. Exit 77 (skipped) only when node is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../..
doc=$src/adapters/gateway/openapi.json
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (Debian package nodejs): the OpenAPI document is not validated"
  exit 77
fi
validator=$here/node_modules/.bin/validate-api
if [ ! -x "$validator" ]; then
  echo "FAIL: $validator is missing: run scripts/install-deps.sh (it runs scripts/install-npm.sh)"
  exit 1
fi
out=$("$validator" "$doc") || { echo "$out"; echo "FAIL: $doc is not a valid OpenAPI 3.1 document"; exit 1; }
echo "$out"
# the routes of adapters/gateway/sl_gw_http.c
for path in /v1/records/{recordType} /v1/subscriptions /v1/subscriptions/{recordType}/deliveries \
            /v1/subscriptions/{recordType}/ack /v1/query/{recordType} /v1/schemas \
            /v1/schemas/{recordType} /healthz /readyz /openapi.json; do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2] in d["paths"] else 1)' \
    "$doc" "$path" || { echo "FAIL: $path is not in $doc"; exit 1; }
done
echo "ok: $doc is valid OpenAPI 3.1 and lists every route"
