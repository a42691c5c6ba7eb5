#!/usr/bin/env python3
"""A local system talking to its bureau's sluice-gateway, with nothing but
the Python standard library (docs/GATEWAY.md §7).

  client.py --url URL publish TYPE FILE.ndjson
      publishes one record per line (proto3 JSON), in batches of 1,000, each
      batch with an Idempotency-Key derived from the file and batch, so
      running it again after a failure stores nothing twice.
  client.py --url URL receive TYPE PURPOSE [--count N]
      long-polls the gateway, prints each delivery as one JSON line, and
      acks what it printed (the gateway acks to the broker only then).

The token comes from $SLUICE_GATEWAY_TOKEN. Exit status: 0 done; 1 the
gateway refused something (its problem+json is printed on stderr); 2 usage.
"""
import argparse
import hashlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


class Gateway:
    def __init__(self, url, token, cafile=None):
        self.url, self.token = url.rstrip("/"), token
        # HTTPS with the bureau's own certificate (docs/GATEWAY.md 3.2)
        self.ctx = ssl.create_default_context(cafile=cafile) if cafile else None

    def call(self, method, path, body=None, content_type="application/json", headers=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = content_type
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=120, context=self.ctx) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            # RFC 9457 problem+json: type, title, status, detail, reason, errors/records
            return e.code, json.loads(e.read() or b"null")


def publish(gw, record_type, path):
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    digest = hashlib.sha256(b"".join(lines)).hexdigest()[:16]
    stored = spooled = 0
    for start in range(0, len(lines), 1000):
        batch = b"".join(lines[start:start + 1000])
        key = "%s-%s-%d" % (os.path.basename(path), digest, start // 1000)
        status, answer = gw.call("POST", "/v1/records/" + record_type, batch,
                                 "application/x-ndjson", {"Idempotency-Key": key})
        if status not in (201, 202):
            print(json.dumps(answer), file=sys.stderr)
            return 1
        stored += answer["stored"]
        spooled += answer["spooled"]
    print("%d stored, %d spooled" % (stored, spooled))
    return 0


def receive(gw, record_type, purpose, count):
    done = 0
    path = "/v1/subscriptions/%s/deliveries?purpose=%s&max=100&wait=20" % (record_type, purpose)
    while count == 0 or done < count:
        status, answer = gw.call("GET", path)
        if status != 200:
            print(json.dumps(answer), file=sys.stderr)
            return 1
        for notice in answer["notices"]:
            print(json.dumps({"notice": notice}), flush=True)
        ids = []
        for d in answer["deliveries"][: (count - done) if count else None]:
            print(json.dumps(d), flush=True)   # the local system has it now
            ids.append(d["deliveryId"])
        if ids:
            status, answer = gw.call("POST", "/v1/subscriptions/%s/ack?purpose=%s"
                                     % (record_type, purpose), {"ids": ids})
            if status != 200:
                print(json.dumps(answer), file=sys.stderr)
                return 1
            done += len(answer["acked"])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8480")
    ap.add_argument("--cafile", help="the gateway's certificate (PEM), for https:// URLs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("record_type")
    p.add_argument("file")
    r = sub.add_parser("receive")
    r.add_argument("record_type")
    r.add_argument("purpose")
    r.add_argument("--count", type=int, default=0, help="stop after N records (0: never)")
    args = ap.parse_args()
    token = os.environ.get("SLUICE_GATEWAY_TOKEN")
    if not token:
        print("set SLUICE_GATEWAY_TOKEN to the token of an [app] of the gateway", file=sys.stderr)
        return 2
    gw = Gateway(args.url, token, args.cafile)
    if args.cmd == "publish":
        return publish(gw, args.record_type, args.file)
    return receive(gw, args.record_type, args.purpose, args.count)


if __name__ == "__main__":
    sys.exit(main())
