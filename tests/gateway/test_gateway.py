#!/usr/bin/env python3
"""sluice-gateway end to end: the real sluiced on loopback, real gateways for
the water bureau (publisher) and the power bureau (consumer), HTTP from this
script with urllib only.

usage: test_gateway.py --sluiced P --tl-broker P --sluicectl P --gateway P --phase PHASE
                       [--client examples/gateway/client.py]
phases: flow (publish, long-poll, ack, auth, bad input, idempotency, audit,
        the Python client), restart (gateway killed with unacked deliveries,
        broker down: spooled or refused), webhook (retries, signature), query
        and query_webhook (a query answered by the owner's system, consent
        withdrawal notices), doc (GATEWAY.md's curl flow), tls (HTTPS).
"""
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import City, Gateway, T, serve, wait_for  # noqa: E402
from tl import permit, run_suite  # noqa: E402  (tests/lib/tl.py, on the path through gwtest)

WATER_POLICY = permit("water-to-power-joint-metering", "joint-metering",
                      "district, date_observed, water_consumption_m3",
                      subject="pseudonymize", time="coarsen hour")
CITY_POLICY = 'purpose joint-metering "water and power reconcile consumption"\n'
TYPE = "water.v1.MeterReading"
SUB = "\n[subscription joint]\nrecord_type = water.v1.MeterReading\npurpose = joint-metering\n"
NDJSON = {"Content-Type": "application/x-ndjson"}
# the fields water's permit releases to power, as the gateway names them
RELEASED = {"subject", "district", "dateObserved", "waterConsumptionM3"}


def reading(n, subject="CIT-100201"):
    return {"id": "WM-%04d:1795861842" % n, "refDevice": "WM-%04d" % n, "subject": subject,
            "district": "Xihu", "dateObserved": "2026-11-28T10:30:42Z",
            "waterConsumptionM3": 440.25 + n, "meterName": "kitchen"}


def ndjson(*ns):
    """The readings numbered `ns`, one JSON line each."""
    return "".join(json.dumps(reading(n)) + "\n" for n in ns)


def expect(c, name, answer, status, ok=lambda body: True):
    """Checks an HTTP answer (status, body, headers): `status`, then ok(body).
    Returns the body when the status was right, else None."""
    st, body, _ = answer
    try:
        good = st == status and ok(body)
    except (KeyError, IndexError, TypeError, AttributeError):
        good = False    # the body lacks what ok() reads: this check fails, the rest go on
    c.check(name, good, (st, body))
    return body if st == status else None


def publish(gw, body, **kw):
    return gw.post("/v1/records/" + TYPE, body, **kw)


def ack(gw, ids, query="?purpose=joint-metering"):
    return gw.post("/v1/subscriptions/%s/ack%s" % (TYPE, query), {"ids": ids})


def client(args, url, token, *argv):
    """examples/gateway/client.py with `argv`, as the bureau's system runs it."""
    return subprocess.run([sys.executable, args.client, "--url", url] + list(argv),
                          capture_output=True, timeout=T(60),
                          env=dict(os.environ, SLUICE_GATEWAY_TOKEN=token))


def json_lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def setup(args, members=("water", "power"),
          policies=(("city", CITY_POLICY), ("water", WATER_POLICY))):
    """A city with `members` and `policies` ((owner, text), applied in
    order); returns it and the members' key files."""
    city = City(args.tl_broker, args.sluiced, args.sluicectl)
    city.start()
    keys = [city.member(m) for m in members]
    for owner, text in policies:
        city.policy(owner, text)
    return city, keys


@contextlib.contextmanager
def bureaus(args, c, gateways=(("water", ""), ("power", SUB)), purpose="joint-metering",
            servers=(), **city):
    """setup(args, **city) with one member per gateway, then the gateways
    ((name, ini lines[, spool]): see Gateway) started and the subscription for
    `purpose` made; yields the city and the gateways. At the end: gateways and
    broker stopped (logs printed if a check failed), the local `servers`
    shut down."""
    city, keys = setup(args, [g[0] for g in gateways], **city)
    gws = [Gateway(args.gateway, city, g[0], key, *g[1:]) for g, key in zip(gateways, keys)]
    try:
        for g in gws:
            g.start()
        # the subscription is made in the background: wait until the broker has it
        city.wait_subscribed(purpose)
        yield [city] + gws
    finally:
        city.finish(c, *gws)
        for s in servers:
            s.shutdown()


def poll(gw, wait=2, max_=100):
    st, body, _ = gw.get("/v1/subscriptions/%s/deliveries?purpose=joint-metering&max=%d&wait=%d"
                         % (TYPE, max_, wait))
    return st, body


def drain(gw, want, seconds=10):
    """Long-polls until `want` deliveries came (without acking); returns them."""
    got = []
    end = time.time() + T(seconds)
    while len(got) < want and time.time() < end:
        st, body = poll(gw, wait=1)
        if st != 200:
            break
        got += body["deliveries"]
    return got


def phase_flow(args, c):
    with bureaus(args, c, [("water", "max_body = 4096\n"), ("power", SUB)]) \
            as (city, water, power):
        for name, path, ok in [
                ("healthz answers 200 without a token", "/healthz",
                 lambda b: b["status"] == "ok"),
                ("readyz: broker reachable, member water", "/readyz",
                 lambda b: b["broker"] is True and b["member"] == "water"),
                ("openapi.json is an OpenAPI 3.1 document", "/openapi.json",
                 lambda b: b.get("openapi", "").startswith("3.1"))]:
            st, body, _ = water.get(path, token=None)
            c.check(name, st == 200 and ok(body), str(body)[:200])

        # tokens: missing or wrong -> 401, nothing published
        st, body, h = publish(water, reading(1), token=None)
        c.check("no token: 401 problem+json", st == 401 and h.get("Content-Type") ==
                "application/problem+json" and body["reason"] == "token-missing"
                and "Bearer" in h.get("WWW-Authenticate", ""), (st, body, h))
        expect(c, "wrong token: 401", publish(water, reading(1), token="wrong-token-0123456789"),
               401, lambda b: b["reason"] == "token-invalid")
        c.check("nothing published without a valid token", city.accepted() == [])
        c.check("every token use is logged", "app=- method=POST" in water.tail(10000), "")

        # one record: 201 after the broker's ACK
        body = expect(c, "POST one record: 201 stored", publish(water, reading(1)), 201,
                      lambda b: b["status"] == "stored" and b["records"][0]["status"] == "stored"
                      and len(b["records"][0]["messageId"]) == 32)
        mid1 = body["records"][0]["messageId"] if body else None
        c.check("token use logged with the app name", "app=desk method=POST" in water.tail(10000))

        # power long-polls it: only what water's policy releases
        st, body = poll(power, wait=5)
        dels = body["deliveries"] if st == 200 else []
        c.check("long-poll returns the delivery", st == 200 and len(dels) == 1, (st, body))
        if dels:
            d = dels[0]
            rec = d["record"]
            c.check("only the permitted fields", set(rec) == RELEASED, rec)
            c.check("subject pseudonymized, time coarsened to the hour",
                    rec.get("subject") not in (None, "CIT-100201")
                    and rec.get("dateObserved") == "2026-11-28T10:00:00Z", rec)
            c.check("delivery names rule and message id", d["messageId"] == mid1
                    and d["rules"] == ["water/water-to-power-joint-metering@1"]
                    and d["owner"] == "water", d)
            st, body = poll(power, wait=0)
            c.check("a handed-out delivery is not handed out again within its lease",
                    st == 200 and body["deliveries"] == [], body)
            c.check("nothing acked to the broker before the local ack",
                    city.acked() == 0)
            expect(c, "ack: acked and unknown ids",
                   ack(power, [d["deliveryId"], "0123456789abcdef-99"]), 200,
                   lambda b: b["acked"] == [d["deliveryId"]]
                   and b["unknown"] == ["0123456789abcdef-99"])
            c.check("the ack reaches the broker", wait_for(lambda: city.acked() == 1, 5))

        # NDJSON batch + idempotent retry
        hdr = dict(NDJSON, **{"Idempotency-Key": "export-2026-11-28"})
        b1 = expect(c, "NDJSON batch: 201, three stored", publish(water, ndjson(2, 3, 4),
                                                                  headers=hdr), 201,
                    lambda b: b["stored"] == 3 and [r["line"] for r in b["records"]] == [1, 2, 3])
        expect(c, "retry with the same Idempotency-Key: same message ids",
               publish(water, ndjson(2, 3, 4), headers=hdr), 201,
               lambda b: [r["messageId"] for r in b1["records"]]
               == [r["messageId"] for r in b["records"]])
        got = drain(power, 3, 5)
        time.sleep(T(0.5))
        st, body = poll(power, wait=1)
        c.check("the retried batch is delivered once", len(got) == 3 and body["deliveries"] == [],
                (len(got), body))
        expect(c, "ack of the batch (purpose implied by the one subscription)",
               ack(power, [g["deliveryId"] for g in got], query=""), 200,
               lambda b: len(b["acked"]) == 3)

        # bad input: line and column, path, nothing published.
        # (check, gateway, record type, body, headers, status, test of the answer)
        before = len(city.accepted())
        r6 = dict(reading(6), flowRate=1)
        for name, gw, rtype, body, headers, status, ok in [
                ("malformed JSON: 400 naming line and column", water, TYPE,
                 ndjson(5) + '{"id": "x", "district": tru}\n', NDJSON, 400,
                 lambda b: b["reason"] == "bad-json" and b["errors"][0].get("line") == 2
                 and b["errors"][0].get("column") == 25
                 and b["errors"][0].get("detail", "").startswith("line 2, column 25")),
                ("unknown field: 422 naming the path", water, TYPE, r6, None, 422,
                 lambda b: b["errors"][0]["detail"].startswith('$: unknown field "flowRate"')),
                ("oversized body: 413", water, TYPE, "x" * 5000, None, 413,
                 lambda b: b["reason"] == "too-big"),
                ("unknown record type: 404", water, "no.v1.Such", reading(7), None, 404,
                 lambda b: b["reason"] == "unknown-record-type"),
                ("a type the bureau does not own: 403 not-owner from the broker", power, TYPE,
                 reading(8), None, 403,
                 lambda b: b["reason"] == "not-owner" and b["records"][0]["status"] == "refused")]:
            expect(c, name, gw.post("/v1/records/" + rtype, body, headers=headers), status, ok)
        c.check("nothing published by refused requests",
                len(city.accepted()) == before, "")

        # schemas
        expect(c, "GET /v1/schemas lists the record types", water.get("/v1/schemas"), 200,
               lambda b: TYPE in [s["recordType"] for s in b["schemas"]])
        expect(c, "GET /v1/schemas/TYPE: JSON Schema 2020-12", water.get("/v1/schemas/" + TYPE),
               200, lambda b: b["$schema"] == "https://json-schema.org/draft/2020-12/schema"
               and b["properties"]["dateObserved"]["format"] == "date-time")

        # the Python standard-library client, publishing through water and
        # receiving through power
        if args.client:
            src = os.path.join(city.root, "export.ndjson")
            with open(src, "w") as f:
                f.write(ndjson(20, 21))
            r = client(args, water.url, water.token, "publish", TYPE, src)
            c.check("client.py publish: exit 0, two stored", r.returncode == 0 and
                    b"2 stored" in r.stdout, r.stdout + r.stderr)
            r = client(args, power.url, power.token, "receive", TYPE, "joint-metering",
                       "--count", "2")
            lines = json_lines(r.stdout)
            c.check("client.py receive: two records with the permitted fields, acked",
                    r.returncode == 0 and len(lines) == 2
                    and all(set(line["record"]) == RELEASED for line in lines),
                    r.stdout + r.stderr)
            c.check("audit shows the client's records published and acked",
                    wait_for(lambda: city.acked() == 6, 5), city.acked())
        c.check("gateway exits 0 on SIGTERM", water.stop() == 0 and power.stop() == 0)


def phase_restart(args, c):
    lease = max(1, int(T(2)))
    with bureaus(args, c, [("water", ""), ("power", "lease_s = %d\n" % lease + SUB, False)]) \
            as (city, water, power):
        st, body, _ = publish(water, ndjson(1, 2), headers=NDJSON)
        ids = sorted(r["messageId"] for r in body["records"]) if st == 201 else []
        c.check("two records stored", st == 201 and len(ids) == 2, (st, body))
        got = drain(power, 2)
        c.check("power holds both, unacked", sorted(g["messageId"] for g in got) == ids, got)
        time.sleep(lease + 0.5)
        again = drain(power, 2, 5)
        c.check("not acked within lease_s: handed out again, same ids",
                sorted(g["deliveryId"] for g in again) == sorted(g["deliveryId"] for g in got),
                again)
        power.stop(signal.SIGKILL)
        power.start()
        again = drain(power, 2)
        c.check("gateway killed with unacked deliveries: redelivered after restart",
                sorted(g["messageId"] for g in again) == ids, again)
        expect(c, "ids from before the restart are unknown",
               ack(power, [g["deliveryId"] for g in got], query=""), 200,
               lambda b: b["acked"] == [])
        expect(c, "acked after the restart", ack(power, [g["deliveryId"] for g in again], query=""),
               200, lambda b: len(b["acked"]) == 2)
        # acks reach the broker asynchronously: wait for them before stopping it
        c.check("the acks are in the audit log", wait_for(lambda: city.acked() >= 2, 10))

        # broker down
        city.stop()
        c.check("readyz: 503 while the broker is down", wait_for(
            lambda: water.get("/readyz", token=None)[0] == 503, 10))
        body = expect(c, "broker down, spool: 202 spooled", publish(water, reading(3)), 202,
                      lambda b: b["status"] == "spooled"
                      and b["records"][0]["status"] == "spooled")
        spooled_id = body["records"][0]["messageId"] if body else None
        # /readyz reads a status snapshot the gateway's worker refreshes after
        # the job that answered 202, so it may lag that answer by one turn
        c.check("readyz shows the spool depth", wait_for(
            lambda: water.get("/readyz", token=None)[1].get("spoolDepth") == 1, 5),
            water.get("/readyz", token=None)[1])
        expect(c, "broker down, no spool: 503 broker-unreachable",
               power.post("/v1/records/power.v1.MeterReading",
                          {"id": "p1", "subject": "CIT-1", "dateObserved": 1795861842}),
               503, lambda b: b["reason"] == "broker-unreachable")
        city.start()
        got = drain(power, 1, 20)
        c.check("the spooled record is delivered once the broker is back",
                [g["messageId"] for g in got] == [spooled_id], got)
        c.check("the spool empties", wait_for(
            lambda: water.get("/readyz", token=None)[1].get("spoolDepth") == 0, 10))


class Receiver(http.server.BaseHTTPRequestHandler):
    """A local system's webhook endpoint that fails its first tries."""
    fail_first = 2
    seen = []
    secret = b""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig = self.headers.get("Sluice-Signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        mac = hmac.new(self.secret, parts.get("t", "").encode() + b"." + body,
                       hashlib.sha256).hexdigest()
        ok_sig = hmac.compare_digest(mac, parts.get("v1", ""))
        Receiver.seen.append((self.headers.get("Sluice-Event"), json.loads(body), ok_sig))
        code = 500 if len(Receiver.seen) <= Receiver.fail_first else 204
        self.send_response(code)
        self.end_headers()

    def log_message(self, *a):
        pass


def receiver(fail_first):
    """Starts a Receiver that fails its first `fail_first` POSTs; returns the
    server and the subscription's webhook lines for it."""
    Receiver.fail_first, Receiver.seen = fail_first, []
    Receiver.secret = b"hook-secret-0123456789"
    server = serve(Receiver)
    return server, "webhook = http://127.0.0.1:%d/sluice\nwebhook_secret = %s\n" % (
        server.server_address[1], Receiver.secret.decode())


def phase_webhook(args, c):
    server, hook = receiver(2)
    power_ini = SUB + hook + "\n[gateway]\nwebhook_retry_min_ms = 100\n"
    with bureaus(args, c, [("water", ""), ("power", power_ini)], servers=[server]) \
            as (city, water, power):
        st, body, _ = publish(water, reading(1))
        mid = body["records"][0]["messageId"] if st == 201 else None
        c.check("stored", st == 201, (st, body))
        ok = wait_for(lambda: len(Receiver.seen) >= 3, 15)
        c.check("webhook retried after failures, then delivered", ok and
                [s[1]["messageId"] for s in Receiver.seen[:3]] == [mid] * 3, Receiver.seen)
        c.check("every POST carries a valid HMAC signature", Receiver.seen and
                all(s[2] for s in Receiver.seen), Receiver.seen)
        c.check("acked to the broker only after the 2xx", wait_for(
            lambda: city.acked() == 1, 5))
        time.sleep(T(0.5))
        c.check("delivered once acked (no more POSTs)", len(Receiver.seen) == 3, Receiver.seen)
        st, body = poll(power, wait=0)
        c.check("long-poll on a webhook subscription: 409", st == 409, (st, body))


HEALTH_POLICY = permit("health-visit-parking-waiver", "parking-fee-waiver",
                       "status, period_start, period_end, service_provider",
                       owner="health", consumer="parking", records="health.v1.Encounter",
                       subject="keep", consent="required")
ENC = "health.v1.Encounter"


class Owner(http.server.BaseHTTPRequestHandler):
    """The hospital's system behind health's gateway: answers queries."""
    asked = []

    def do_POST(self):
        q = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        Owner.asked.append(q)
        recs = [{"id": "V-1", "subject": q["subject"], "status": "finished", "classCode": "AMB",
                 "periodStart": "2026-11-28T09:00:00Z", "periodEnd": "2026-11-28T11:30:00Z",
                 "serviceProvider": "City Hospital", "diagnosis": ["J45"]}]
        body = json.dumps({"records": recs}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def phase_query(args, c, webhook=False):
    owner = serve(Owner)
    servers, hook = [owner], ""
    if webhook:
        # parking's system takes its deliveries and notices by webhook
        hooks, hook = receiver(0)
        servers.append(hooks)
    q = {"subject": "CIT-100252", "purpose": "parking-fee-waiver"}
    with bureaus(args, c, [("health", "\n[owner]\nurl = http://127.0.0.1:%d/answer\n"
                            % owner.server_address[1]),
                           ("parking", "\n[subscription visits]\nrecord_type = %s\n"
                            "purpose = parking-fee-waiver\n" % ENC + hook)],
                 purpose="parking-fee-waiver", servers=servers,
                 policies=[("city", 'purpose parking-fee-waiver "Parking waives fees for visits '
                                    'confirmed by a hospital"\n'),
                           ("health", HEALTH_POLICY)]) as (city, health, parking):
        admin_health = os.path.join(city.keys, "admin-health.key")
        st, body, h = parking.post("/v1/query/" + ENC, q)
        c.check("query without consent: 403 consent-missing", st == 403
                and body.get("reason") == "consent-missing"
                and h.get("Content-Type") == "application/problem+json", (st, body))
        city.ctl("consent", "grant", "--subject", "CIT-100252", "--controller", "health",
                 "--recipient", "parking", "--purpose", "parking-fee-waiver", "--records", ENC,
                 "--id", "c-visit-1", key=admin_health)
        st, body, _ = parking.post("/v1/query/" + ENC, q)
        recs = body.get("records", []) if st == 200 else []
        c.check("query with consent: the owner's answer", st == 200 and len(recs) == 1, (st, body))
        if recs:
            c.check("only the released fields reach the asker", set(recs[0]["record"]) ==
                    {"subject", "status", "periodStart", "periodEnd", "serviceProvider"}
                    and recs[0]["record"]["periodEnd"] == "2026-11-28T11:30:00Z", recs[0])
        c.check("the owner's system was asked through health's gateway", Owner.asked and
                Owner.asked[-1]["asker"] == "parking" and Owner.asked[-1]["subject"] ==
                "CIT-100252", Owner.asked)
        expect(c, "query without a purpose: 400", parking.post("/v1/query/" + ENC,
                                                                {"subject": "x"}), 400)
        # the consent is withdrawn: parking's local system hears of it
        cid = "c-visit-1"
        city.ctl("consent", "withdraw", cid, key=admin_health)
        got = []
        end = time.time() + T(10)
        while not got and time.time() < end:
            if webhook:
                got = [b for (ev, b, ok) in Receiver.seen if ev == "notice" and ok]
                time.sleep(0.1)
                continue
            st, body, _ = parking.get("/v1/subscriptions/%s/deliveries?wait=2" % ENC)
            got = body.get("notices", []) if st == 200 else []
        c.check("consent withdrawal notice reaches the local system%s"
                % (" (webhook, signed)" if webhook else ""), got and
                got[0]["notice"] == "consent-withdrawn" and got[0]["consentId"] == cid
                and got[0]["subject"] == "CIT-100252", got)
        expect(c, "after the withdrawal: 403 again", parking.post("/v1/query/" + ENC, q), 403)


def phase_doc(args, c):
    """docs/GATEWAY.md's curl flow as it stands, then the issue's finish line:
    curl publishes through water's gateway, the Python client behind power's
    gateway receives and acks, and the audit log shows both."""
    doc = open(args.doc).read()
    block = doc.split("<!-- curl-flow: begin -->")[1].split("<!-- curl-flow: end -->")[0]
    script = block.split("```sh\n")[1].split("```")[0]
    with bureaus(args, c) as (city, water, power):
        env = dict(os.environ, WATER_URL=water.url, WATER_TOKEN=water.token, POWER_URL=power.url,
                   POWER_TOKEN=power.token)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                           env=env, timeout=T(90))
        out = r.stdout.decode()
        lines = out.splitlines()
        c.check("the curl flow of GATEWAY.md runs", r.returncode == 0, out + r.stderr.decode())
        rec = json.loads(lines[1]) if len(lines) > 1 else {}
        c.check("curl: the long-poll shows only the released fields", set(rec) == RELEASED
                and rec["dateObserved"] == "2026-11-28T10:00:00Z", out)
        c.check("curl: acked", len(lines) > 2 and '"unknown":[]' in lines[2]
                and '"acked":["' in lines[2], out)
        c.check("curl: the malformed line names line and column",
                lines[3:5] == ["400", '"line 2, column 8: invalid JSON at \'t\'"'], out)

        # the finish line: curl -> water's gateway -> broker -> power's gateway -> client.py
        rec = reading(30, "CIT-100202")
        r = subprocess.run(["curl", "-sS", "--fail-with-body", "-X", "POST",
                            water.url + "/v1/records/" + TYPE, "-H",
                            "Authorization: Bearer " + water.token, "-H",
                            "Content-Type: application/json", "-d", json.dumps(rec)],
                           capture_output=True, timeout=T(30))
        c.check("curl POST: 201 stored", r.returncode == 0 and b'"status":"stored"' in r.stdout,
                r.stdout + r.stderr)
        mid = json.loads(r.stdout)["records"][0]["messageId"] if r.returncode == 0 else None
        r = client(args, power.url, power.token, "receive", TYPE, "joint-metering", "--count", "1")
        got = json_lines(r.stdout)
        c.check("client.py receives it with only the permitted fields", r.returncode == 0
                and len(got) == 1 and got[0]["messageId"] == mid
                and set(got[0]["record"]) == RELEASED, r.stdout + r.stderr)
        pubs = city.accepted()
        dels = city.audit("--kind", "deliver")
        # ack entries name the consumer and the delivery tags (AUDIT.md 6.2):
        # the curl flow's ack and the client's
        acks = wait_for(lambda: city.acked("power") if city.acked() >= 2 else None, 5)
        c.check("sluicectl audit shows the publish, the delivery and the ack", any(
            p.get("message_id") == mid and p.get("actor") == "water" for p in pubs)
            and any(d.get("message_id") == mid and d.get("counterpart") == "power" for d in dels)
            and acks == 2, (pubs[-1:], dels[-1:], acks))


def phase_tls(args, c):
    """HTTPS with a certificate made as GATEWAY.md 3.2 says."""
    import ssl
    import urllib.request
    city, (wkey, _) = setup(args)
    d = os.path.join(city.root, "tls")
    os.makedirs(d)
    crt, key = os.path.join(d, "gateway.crt"), os.path.join(d, "gateway.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "825", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", crt], capture_output=True)
    c.check("openssl makes the certificate", r.returncode == 0, r.stderr)
    water = Gateway(args.gateway, city, "water", wkey, "tls_cert = %s\ntls_key = %s\n" % (crt, key))
    try:
        water.start(wait_ready=False)
        water.url = water.url.replace("http://", "https://")
        water.ssl = ssl.create_default_context(cafile=crt)

        def ready():
            try:
                return water.get("/readyz", token=None, timeout=5)[0] == 200
            except Exception:
                return False
        c.check("HTTPS: readyz with the bureau's certificate", wait_for(ready, 10), water.tail())
        expect(c, "HTTPS: POST stored", publish(water, reading(1)), 201,
               lambda b: b["stored"] == 1)
        if args.client:
            src = os.path.join(city.root, "tls.ndjson")
            with open(src, "w") as f:
                f.write(ndjson(2))
            r = client(args, water.url, water.token, "--cafile", crt, "publish", TYPE, src)
            c.check("client.py over HTTPS with --cafile", r.returncode == 0
                    and b"1 stored" in r.stdout, r.stdout + r.stderr)
        plain = water.url.replace("https://", "http://")
        try:
            urllib.request.urlopen(plain + "/healthz", timeout=5)
            c.check("plain HTTP is not served on the TLS port", False)
        except Exception:
            c.check("plain HTTP is not served on the TLS port", True)
    finally:
        city.finish(c, water)


if __name__ == "__main__":
    run_suite({"flow": phase_flow, "restart": phase_restart, "webhook": phase_webhook,
               "query": phase_query, "query_webhook": partial(phase_query, webhook=True),
               "doc": phase_doc, "tls": phase_tls},
              options=[("--sluicectl", dict(required=True)), ("--gateway", dict(required=True)),
                       ("--client", {}), ("--doc", dict(help="docs/GATEWAY.md (phase doc)"))])
