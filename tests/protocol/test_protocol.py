#!/usr/bin/python3
"""Conformance test: a Python client written from docs/PROTOCOL.md drives the
real sluiced over the wire protocol only (admin plane and data plane).

usage: test_protocol.py --sluiced PATH --tl-broker PATH --schemas DIR

Starts sluiced through the test harness's launcher (tests/lib/tl-broker:
`sluiced init` + `sluiced run` on a temporary data directory with ephemeral
loopback endpoints), runs the checks, stops the broker. Prints one
PASS/FAIL line per check and "N passed, N failed"; exits 1 on any failure.
Every wait is multiplied by SLUICE_TEST_TIME_SCALE (integer, default 1).
"""

import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from functools import partial

sys.dont_write_bytecode = True   # nothing generated lands in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

try:
    import zmq  # noqa: F401
    import google.protobuf  # noqa: F401
except ImportError as e:
    print("FAIL setup: %s (install the Debian packages python3-zmq "
          "python3-protobuf protobuf-compiler; run with /usr/bin/python3)" % e)
    print("0 passed, 1 failed")
    sys.exit(1)

import sluice_client as sc  # noqa: E402
from tl import SCALE, T, Broker, permit, run_suite  # noqa: E402  (tests/lib/tl.py: the harness)

CITY_POLICY = """\
purpose joint-metering "Water and power reconcile household consumption"
purpose leak-alerts    "Power warns consenting households of water leaks"
purpose usage-advice   "Power advises consenting households on their consumption"
"""

WATER_POLICY = "\n".join([
    permit("water-to-power", "joint-metering", "district, date_observed, water_consumption_m3",
           subject="pseudonymize", time="coarsen hour"),
    permit("water-leaks-with-consent", "leak-alerts", "alarm_in_progress",
           subject="keep", consent="required"),
    permit("water-advice-with-consent", "usage-advice", "water_consumption_m3",
           consent="required")])

MR = "water.v1.MeterReading"
HOUR = 1795878000                     # 2026-11-28T09:00:00Z


def pseudonym(secret, consumer, subject):
    """POLICY.md section 6."""
    key = hashlib.blake2b(b"sluice.policy.pseudonym.v1\x00" + consumer.encode(),
                          key=secret, digest_size=32).digest()
    return hashlib.blake2b(subject.encode(), key=key, digest_size=16).hexdigest()


def meter_reading(subject, n, date_observed):
    w = sc.pb["water"]
    return w.MeterReading(id="WM-%d:%d" % (n, date_observed), ref_device="WM-%d" % n,
                          subject=subject, district="Gongshu",
                          date_observed=date_observed,
                          water_consumption_m3=100.0 + n, max_flow_m3h=1.5,
                          min_flow_m3h=0.25, alarm_in_progress=(n % 2 == 1),
                          meter_name="meter %d" % n)


def joint_view(subject, n):
    """What the water-to-power permit releases of meter_reading(_, n, t) with
    t in HOUR's hour: three fields, the hour, `subject` as power sees it."""
    return sc.pb["water"].MeterReading(subject=subject, district="Gongshu", date_observed=HOUR,
                                       water_consumption_m3=100.0 + n)


def meta(mid, subject, event_time_ms):
    return sc.pb["envelope"].RecordMeta(message_id=mid, subject=subject,
                                        event_time=event_time_ms)


def readings(subjects, n0=0, date_observed=HOUR):
    """[(RecordMeta, body)] of one reading per subject (new message ids)."""
    return [(meta(os.urandom(16), s, 0),
             meter_reading(s, n0 + i, date_observed).SerializeToString())
            for i, s in enumerate(subjects)]


def ids(records):
    return [m.message_id for m, _ in records]


def err_is(h, name, reason=None):
    """ERROR whose first Error has code `name` (and Error.reason `reason`)."""
    env = sc.pb["envelope"]
    e = h.errors[0] if len(h.errors) else None
    return h.command == env.ERROR and e is not None and sc.error_name(e.code) == name \
        and (reason is None or e.reason == reason)


def is_ack(a, ids=None, tags=None, clean=False):
    """ACK listing `ids` (message ids) / `tags` (delivery tags) when given;
    `clean`: with no per-record errors."""
    return (a.command == sc.pb["envelope"].ACK
            and (ids is None or list(a.message_ids) == ids)
            and (tags is None or list(a.delivery_tags) == tags)
            and not (clean and a.errors))


def deliveries(client, n, seconds, gap=None, each=None):
    """(RecordMeta, body) of the DELIVERs that come until n records came,
    `seconds` (scaled) passed, or none came for `gap` (scaled) seconds;
    each(Header, bodies) sees every DELIVER."""
    got = []
    deadline = time.monotonic() + T(seconds)
    while len(got) < n and time.monotonic() < deadline:
        left = deadline - time.monotonic()
        m = client.next_unsolicited(sc.pb["envelope"].DELIVER, min(T(gap), left) if gap else left)
        if m is None:
            break
        if each:
            each(*m)
        got.extend(zip(m[0].records, m[1]))
    return got


def describe(h):
    env = sc.pb["envelope"]
    cmd = env.Command.Name(h.command) if h.command in env.Command.values() else str(h.command)
    errs = ["%s(%s: %s)" % (sc.error_name(e.code), e.reason, e.text) for e in h.errors]
    return "%s seq=%d errors=%s" % (cmd, h.seq, errs)


class Scene:
    """What a phase works with: the checks `c`, the broker and its endpoints
    `ep`, the broker's public key `server`, its pseudonym secret, and the
    clients it opens (closed by run())."""

    def __init__(self, c, broker, ep, ctx):
        self.c, self.broker, self.ep, self.ctx = c, broker, ep, ctx
        self.server = sc.read_key_file(os.path.join(broker.data, "broker.pub"))["public-key"]
        with open(os.path.join(broker.data, "pseudonym.key"), "rb") as f:
            self.secret = f.read()
        self.clients = []

    def keys(self, path):
        return sc.Keys.from_file(path, self.server)

    def open(self, cls, keys):
        """A DataClient or AdminClient on the matching endpoint."""
        cl = cls(self.ctx, keys, self.ep["admin" if cls is sc.AdminClient else "data"])
        self.clients.append(cl)
        return cl

    def answer(self, name, a, ok):
        """Checks ok(a) on the answer Header `a` (described on failure)."""
        self.c.check(name, ok(a), describe(a))
        return a

    def acked(self, name, a, ids=None, tags=None, clean=False):
        """Checks that `a` is an ACK as is_ack says."""
        return self.answer(name, a, lambda a: is_ack(a, ids, tags, clean))

    def refused(self, name, a, code, reason=None, also=None):
        """Checks that `a` is an ERROR with `code` (and `reason`, and also(a))."""
        return self.answer(name, a, lambda a: err_is(a, code, reason)
                           and (also is None or also(a)))

    def unanswered(self, name, keys):
        """A new data connection under `keys` sends HELLO: checks no answer."""
        cl = self.open(sc.DataClient, keys)
        cl.send(cl.header(sc.pb["envelope"].HELLO))
        self.c.check(name, cl.recv(T(1)) is None)

    def admin(self, name, answer, code="ok", ok=lambda res: True):
        """Checks an AdminClient.call answer: `code`, and ok(result)."""
        got, text, res = answer
        self.c.check(name, got == code and ok(res), "%s %s %s" % answer)
        return res

    def notice(self, name, client, notice, args, seconds=5, extra=""):
        """Waits for a NOTICE on `client`; checks its name and that each
        argument passes args[key] (a value to equal, or a predicate)."""
        n = client.next_unsolicited(sc.pb["envelope"].NOTICE, T(seconds))
        na = dict(n[0].notice_args) if n else {}
        ok = n is not None and n[0].notice == notice and all(
            v(na.get(k, "")) if callable(v) else na.get(k) == v for k, v in args.items())
        self.c.check(name, ok, (n[0].notice + " " + str(na) + extra) if n else "no NOTICE")


def run(args, c, phase):
    root = tempfile.mkdtemp(prefix="sluice-protocol-")
    broker = Broker(args.tl_broker, args.sluiced, root, args=["--consent-scan-ms", "200"])
    ctx = sc.zmq.Context()
    s = None
    try:
        sc.load_protos(args.schemas, os.path.join(root, "py"))
        members, policies = [], []
        if args.phase != "main":   # main makes its members and policies itself
            for owner, text in [("city", CITY_POLICY), ("water", WATER_POLICY)]:
                with open(os.path.join(root, owner + ".policy"), "w") as f:
                    f.write(text)
                policies.append("%s=%s" % (owner, os.path.join(root, owner + ".policy")))
            members = ["water:member", "power:member"]
        ep = broker.start(members, policies)
        c.check("broker starts and writes DIR/endpoints with its pid", True)
        sc.TIMEOUT_S = T(5)
        s = Scene(c, broker, ep, ctx)
        phase(s)
    except Exception as e:  # noqa: BLE001 - report and fail, never hide
        c.crash("scenario", e)
    finally:
        for cl in (s.clients if s else []):
            cl.close()
        rc = broker.stop()
        if rc is not None:
            c.check("sluiced exits 0 on SIGTERM", rc == 0, "exit status %s" % rc)
        ctx.term()
        if c.failed:
            print("---- sluiced log (tail) ----")
            print(broker.log_tail())
        shutil.rmtree(root, ignore_errors=True)


def scenario(s):
    env = sc.pb["envelope"]
    cev = sc.pb["consent"]
    c = s.c

    # ---- admin plane ---------------------------------------------------
    admin_keys = s.keys(os.path.join(s.broker.data, "admin.key"))
    admin = s.open(sc.AdminClient, admin_keys)
    keys = {name: sc.Keys.generate(s.server)
            for name in ["water", "power", "water-admin", "citizen-app", "stranger"]}
    roles = {"water": "member", "power": "member", "water-admin": "admin:water",
             "citizen-app": "consent-source"}

    def add(name, role="member", key=None):
        """member.add's arguments: `name` with `role` and the key of `key` (default: name's)."""
        return {"name": name, "role": role, "public_key": keys[key or name].public}

    for name, role in roles.items():
        s.admin("admin member.add %s (%s)" % (name, role),
                admin.call("member.add", add(name, role)),
                ok=lambda res: isinstance(res, dict) and res.get("name") == name
                and res.get("role") == role and res.get("public_key") == keys[name].public)
    s.admin("admin member.list lists the members", admin.call("member.list"),
            ok=lambda res: isinstance(res, list) and all(
                n in [m.get("name") for m in res] for n in list(roles) + ["admin"]))
    s.admin("admin policy.apply city purposes (admin:city)",
            admin.call("policy.apply", {"owner": "city", "text": CITY_POLICY}),
            ok=lambda res: res.get("owner") == "city" and res.get("version") == 1)
    wadmin = s.open(sc.AdminClient, keys["water-admin"])
    s.admin("admin policy.apply water permits (admin:water, owner defaults to water)",
            wadmin.call("policy.apply", {"text": WATER_POLICY}),
            ok=lambda res: res.get("owner") == "water" and res.get("version") == 1
            and res.get("rules") == 3)
    # refusals: (check, client, command, args, code)
    for name, cl, command, args, code in [
            ("admin member.add with an existing key -> bad-request", admin, "member.add",
             add("water2", key="water"), "bad-request"),
            ("admin policy.apply of city's policy by admin:water -> not-permitted", wadmin,
             "policy.apply", {"owner": "city", "text": CITY_POLICY}, "not-permitted"),
            ("admin member.add by admin:water -> not-permitted", wadmin, "member.add",
             add("x", key="stranger"), "not-permitted"),
            ("admin unknown command -> unknown-command", admin, "no.such.command", None,
             "unknown-command"),
            ("admin member.add with a bad name -> bad-request", admin, "member.add",
             add("Bad Name", key="stranger"), "bad-request")]:
        s.admin(name, cl.call(command, args), code)
    r = admin.call_raw([b"\xff\xff\xff\xff"])
    c.check("admin undecodable request -> bad-frame, seq 0",
            sc.error_name(r.code) == "bad-frame" and r.seq == 0,
            "%s seq=%d %s" % (sc.error_name(r.code), r.seq, r.text))
    s.admin("admin status", admin.call("status"), ok=lambda res: isinstance(res, dict) and all(
        k in res for k in ("version", "uptime_s", "members_connected", "queues", "pending",
                           "commits")))
    # ---- schema registry (PROTOCOL.md 6.6, SCHEMAS.md), from this client alone
    import base64
    from google.protobuf import descriptor_pb2
    opts = importlib.import_module("sluice.v1.options_pb2")
    member = s.open(sc.AdminClient, keys["water"])    # any member may read a type
    code, text, res = member.call("schema.get", {"record_type": MR})
    fds = descriptor_pb2.FileDescriptorSet()
    ok = code == "ok" and isinstance(res, dict) and res.get("owner") == "water"
    if ok:
        fds.ParseFromString(base64.b64decode(res["descriptor_set"]))
        msgs = [(f.package, m) for f in fds.file for m in f.message_type]
        mr = [m for pkg, m in msgs if pkg == "water.v1" and m.name == "MeterReading"]
        ok = len(mr) == 1 and mr[0].options.Extensions[opts.record].subject == "subject" \
            and res.get("subject") == "subject" and "date_observed" in res.get("time_fields", [])
    c.check("schema.get by a member: the registered FileDescriptorSet, options readable",
            ok, "%s %s" % (code, text))
    # a bureau's own type, described with this language's descriptor classes
    fdp = descriptor_pb2.FileDescriptorProto(name="transit/v1/tap.proto", package="transit.v1",
                                             syntax="proto3",
                                             dependency=["sluice/v1/options.proto"])
    tap = fdp.message_type.add(name="Tap")
    tap.options.Extensions[opts.record].subject = "card"
    F = descriptor_pb2.FieldDescriptorProto
    tap.field.add(name="card", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    at = tap.field.add(name="at", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    at.options.Extensions[opts.field].time = True
    reg = descriptor_pb2.FileDescriptorSet()
    for f in fds.file:                             # the imports: options.proto, descriptor.proto
        if f.name in ("sluice/v1/options.proto", "google/protobuf/descriptor.proto"):
            reg.file.add().CopyFrom(f)
    reg.file.add().CopyFrom(fdp)
    s.admin("schema.register in another bureau's namespace -> not-permitted",
            wadmin.call("schema.register", {"file": "tap.proto"}, data=reg.SerializeToString()),
            "not-permitted")
    s.admin("schema.register (admin:city) of a set built by this client",
            admin.call("schema.register", {"file": "tap.proto"}, data=reg.SerializeToString()),
            ok=lambda res: res.get("types", [{}])[0].get("record_type") == "transit.v1.Tap"
            and res["types"][0].get("version") == 1)
    s.admin("schema.list shows it with its time field", member.call("schema.list"),
            ok=lambda res: any(t.get("record_type") == "transit.v1.Tap"
                               and t.get("time_fields") == ["at"] for t in res.get("types", [])))
    del tap.field[1]                                # drop 'at'
    reg.file[-1].CopyFrom(fdp)
    code, text, res = admin.call("schema.register", {}, data=reg.SerializeToString())
    c.check("schema.register dropping a field -> bad-request naming field and rule",
            code == "bad-request" and "field 'at' (2): removed (rule removed" in text,
            "%s %s" % (code, text))
    req = sc.pb["admin"].AdminRequest(version=1, seq=77, command="status")
    admin.sock.send(req.SerializeToString())
    frames = admin.sock.recv_multipart() if admin.sock.poll(int(T(5) * 1000)) else []
    c.check("admin answer to a DEALER is exactly one frame with the request's seq",
            len(frames) == 1 and sc.pb["admin"].AdminResponse.FromString(frames[0]).seq == 77,
            "%d frames" % len(frames))
    rs = sc.curve_socket(s.ctx, admin_keys, s.ep["admin"], sc.zmq.REQ)
    s.clients.append(rs)
    rs.send(sc.pb["admin"].AdminRequest(version=1, seq=5, command="member.list")
            .SerializeToString())
    frames = rs.recv_multipart() if rs.poll(int(T(5) * 1000)) else []
    r = sc.pb["admin"].AdminResponse.FromString(frames[0]) if len(frames) == 1 else None
    c.check("admin plane through a REQ socket", r is not None and r.seq == 5
            and sc.error_name(r.code) == "ok", "%d frames" % len(frames))

    # ---- HELLO and authentication --------------------------------------
    h = env.Header(version=1, command=env.HELLO, seq=1)
    c.check("HELLO seq 1 packs to 08 01 10 01 18 01 (PROTOCOL.md 2)",
            h.SerializeToString() == bytes([8, 1, 16, 1, 24, 1]),
            h.SerializeToString().hex())
    water, power, app = (s.open(sc.DataClient, keys[n]) for n in ("water", "power", "citizen-app"))
    for cl, name in [(water, "water"), (power, "power"), (app, "citizen-app")]:
        a = cl.hello()
        c.check("HELLO as %s" % name,
                a.command == env.HELLO and a.member == name and a.version == 1
                and a.max_message_size == 1048576 and a.broker_version != ""
                and all(x in a.capabilities for x in ("batch", "query", "credit")),
                describe(a) + " member=%r max=%d caps=%s" % (a.member, a.max_message_size,
                                                             list(a.capabilities)))
    s.unanswered("unknown key gets no answer (handshake refused)", keys["stranger"])
    s.answer("PING -> PONG", water.ping(), lambda a: a.command == env.PONG)
    s.refused("version 2 -> ERROR unsupported-version",
              water.request(env.Header(version=2, command=env.HELLO))[0],
              "unsupported-version", "unsupported-version")

    # ---- SUBSCRIBE ------------------------------------------------------
    s.acked("SUBSCRIBE -> ACK", power.subscribe(MR, "joint-metering"), clean=True)
    s.refused("SUBSCRIBE unknown type -> ERROR unknown-record-type",
              power.subscribe("water.v1.Nope", "joint-metering"), "unknown-record-type")
    s.refused("SUBSCRIBE bad purpose word -> ERROR bad-request",
              power.subscribe(MR, "Not A Purpose"), "bad-request")

    # ---- PUBLISH batch, per-record results ------------------------------
    obs = [HOUR + 1234, HOUR + 2000, HOUR + 3599]
    subjects = ["C-1001", "C-1002", "C-1003"]
    batch = [(meta(os.urandom(16), subjects[i], obs[i] * 1000),
              meter_reading(subjects[i], i, obs[i]).SerializeToString()) for i in range(3)]
    mids = ids(batch)
    s.acked("PUBLISH batch of 3 -> ACK with the 3 message_ids in order",
            water.publish(MR, batch), mids, clean=True)
    mixed = (readings(["C-1004"], 4, HOUR + 10)
             + [(meta(os.urandom(16), "C-1009", 0), b"\x0a\xff\x01")]
             + readings(["C-1005"], 5, HOUR + 20))
    mids2 = ids(mixed)
    s.answer("PUBLISH mixed batch -> ACK: 2 stored, 1 per-record bad-body naming record 1",
             water.publish(MR, mixed),
             lambda a: is_ack(a, [mids2[0], mids2[2]]) and len(a.errors) == 1
             and sc.error_name(a.errors[0].code) == "bad-body"
             and a.errors[0].message_id == mids2[1] and a.errors[0].reason == "bad-body"
             and a.errors[0].text.startswith("record 1: "))
    s.acked("idempotent resend of stored message_ids -> ACK listing them",
            water.publish(MR, batch[:2]), mids[:2], clean=True)
    res = s.admin("status: power's queue holds 5 records (resend not queued twice)",
                  admin.call("status"),
                  ok=lambda res: (res or {}).get("queues", {}).get("power") == 5)
    c.check("status: water and power listed as connected",
            all(m in (res or {}).get("members_connected", []) for m in ("water", "power")),
            str(res))

    # ---- CREDIT, DELIVER, consumer ACK ----------------------------------
    power.credit(3)
    got = deliveries(power, 3, 5, each=lambda h, bodies: c.check(
        "DELIVER has one body frame per RecordMeta", len(h.records) == len(bodies),
        "%d metas, %d bodies" % (len(h.records), len(bodies))))
    c.check("CREDIT 3 -> exactly 3 records delivered", len(got) == 3, "got %d" % len(got))
    c.check("no delivery beyond credit", power.next_unsolicited(env.DELIVER, T(0.5)) is None)
    by_mid = {m.message_id: (m, b) for m, b in got}
    ok_meta = True
    ok_body = True
    detail = ""
    for i in range(3):
        if mids[i] not in by_mid:
            ok_meta = False
            detail = "message %d not delivered" % i
            continue
        m, b = by_mid[mids[i]]
        p = pseudonym(s.secret, "power", subjects[i])
        if not (m.record_type == MR and m.owner == "water"
                and m.purpose == "joint-metering" and m.delivery_tag != 0
                and m.subject == p and list(m.rules) == ["water/water-to-power@1"]
                and m.event_time == obs[i] * 1000 - (obs[i] * 1000) % 3600000):
            ok_meta = False
            detail = "meta %d: %s (expected subject %s)" % (i, m, p)
        r = sc.pb["water"].MeterReading.FromString(b)
        want = joint_view(p, i)
        if r != want:
            ok_body = False
            detail += " body %d: %s want %s" % (i, r, want)
    c.check("DELIVER meta: record_type, owner, purpose, tag, rules, hour-coarsened event_time, pseudonymous subject",
            ok_meta, detail)
    c.check("DELIVER body: only released fields, subject pseudonym per POLICY.md 6, "
            "date_observed coarsened to the hour", ok_body, detail)
    tags = sorted(m.delivery_tag for m, _ in got)
    c.check("delivery tags increase in queue order",
            [m.delivery_tag for m, _ in got] == tags, str([m.delivery_tag for m, _ in got]))

    # NACK one, get it again, then ack everything.
    s.acked("NACK -> ACK listing the tag returned", power.nack([tags[2]]), tags=[tags[2]])
    s.answer("consumer ACK -> ACK with removed tags and not-found for an unknown tag",
             power.ack(tags[:2] + [999999]),
             lambda a: is_ack(a, tags=tags[:2]) and len(a.errors) == 1
             and sc.error_name(a.errors[0].code) == "not-found")
    power.credit(10)
    rest = deliveries(power, 3, 5)
    rest_mids = ids(rest)
    c.check("after NACK + CREDIT: the NACKed record again, then the 2 others in order",
            rest_mids == [mids[2], mids2[0], mids2[2]],
            "got %s" % [x.hex()[:8] for x in rest_mids])
    s.answer("consumer ACK of the rest", power.ack([m.delivery_tag for m, _ in rest]),
             lambda a: is_ack(a, clean=True) and len(a.delivery_tags) == 3)
    extra = power.next_unsolicited(env.DELIVER, T(0.5))
    c.check("nothing delivered twice (idempotent resend)", extra is None,
            describe(extra[0]) if extra else "")
    s.admin("status: power's queue is empty after the ACKs", admin.call("status"),
            ok=lambda res: (res or {}).get("queues", {}).get("power") == 0)

    # ---- reconnect: unacknowledged deliveries come again -----------------
    more = readings(["C-3000", "C-3001"])
    s.answer("PUBLISH 2 more -> ACK", water.publish(MR, more),
             lambda a: is_ack(a) and len(a.message_ids) == 2)
    power.credit(10)
    first = [r for r, _ in deliveries(power, 2, 5)]
    c.check("2 delivered on the first connection, not acked",
            [m.message_id for m in first] == ids(more), str(len(first)))
    # PROTOCOL.md 5.9: two connections under one key form a queue group
    power2 = s.open(sc.DataClient, keys["power"])
    s.answer("second connection of power: HELLO makes it the current session",
             power2.hello(), lambda a: a.command == env.HELLO and a.member == "power")
    power2.credit(10)
    c.check("records in flight on the first connection are not delivered on the second",
            power2.next_unsolicited(env.DELIVER, T(0.3)) is None)
    if len(first) == 2:
        s.acked("a tag delivered on the first connection may be acked from the second",
                power2.ack([first[0].delivery_tag]), tags=[first[0].delivery_tag], clean=True)
    power.close()
    again = [r for r, _ in deliveries(power2, 1, 5)]
    c.check("when the first connection closes, its unacknowledged record comes again on the "
            "second with the same tag",
            [(m.message_id, m.delivery_tag) for m in again]
            == [(m.message_id, m.delivery_tag) for m in first[1:]],
            "%s vs %s" % ([m.delivery_tag for m in again], [m.delivery_tag for m in first]))
    if len(again) == 1:
        s.acked("and is acked there", power2.ack([again[0].delivery_tag]),
                tags=[again[0].delivery_tag], clean=True)
    power = power2

    # ---- UNSUBSCRIBE ------------------------------------------------------
    power.subscribe(MR, "leak-alerts")
    s.acked("UNSUBSCRIBE -> ACK", power.unsubscribe(MR, "leak-alerts"), clean=True)
    s.refused("UNSUBSCRIBE of no subscription -> ERROR not-found",
              power.unsubscribe(MR, "leak-alerts"), "not-found")

    # ---- QUERY ------------------------------------------------------------
    # refused by the broker: (check, asker, record type, subject, purpose, reason).
    # POLICY.md 6.1: a clear id may be queried only under a permit that keeps
    # it; water-to-power pseudonymizes, so power asks without a subject
    for name, cl, rtype, purpose, reason in [
            ("QUERY by clear id under a pseudonymizing permit -> ERROR denied (subject-not-clear)",
             power, MR, "joint-metering", "subject-not-clear"),
            ("QUERY without consent -> ERROR denied (consent-missing)",
             power, MR, "leak-alerts", "consent-missing"),
            ("QUERY with no permit -> ERROR denied (no-matching-rule)",
             water, "power.v1.MeterReading", "joint-metering", "no-matching-rule")]:
        s.refused(name, cl.query(rtype, "C-1001", purpose, timeout_ms=T(2000),
                                 timeout_s=T(5))[0], "denied", reason)
    c.check("... and it never reaches the owner",
            water.next_unsolicited(env.QUERY, T(0.3)) is None)

    def ask(timeout_ms, **fields):
        """power asks water's readings without a subject: the QUERY's seq
        and the QUERY water receives for it (None if none came)."""
        seq = power.send(power.header(env.QUERY, record_type=MR, subject="",
                                      purpose="joint-metering", timeout_ms=timeout_ms, **fields))
        return seq, water.next_unsolicited(env.QUERY)

    qseq, q = ask(T(3000), parameters={"from": str(HOUR)})
    c.check("owner receives QUERY with query_id, asker, parameters",
            q is not None and q[0].query_id != 0 and q[0].member == "power"
            and q[0].subject == "" and q[0].purpose == "joint-metering"
            and q[0].record_type == MR and dict(q[0].parameters) == {"from": str(HOUR)},
            describe(q[0]) if q else "no QUERY")
    if q is not None:
        full = meter_reading("C-1001", 7, HOUR + 61)
        water.reply(q[0].query_id, [(env.RecordMeta(subject="C-1001"),
                                     full.SerializeToString())])
    a, bodies = power.wait_answer(qseq)
    ok = a.command == env.REPLY and len(a.records) == 1 and len(bodies) == 1
    detail = describe(a)
    if ok:
        p = pseudonym(s.secret, "power", "C-1001")
        r = sc.pb["water"].MeterReading.FromString(bodies[0])
        want = joint_view(p, 7)
        m = a.records[0]
        ok = (r == want and m.subject == p and m.owner == "water"
              and m.record_type == MR and m.delivery_tag == 0)
        detail = "meta %s body %s want %s" % (m, r, want)
    c.check("asker gets REPLY with its seq and the transformed record", ok, detail)

    qseq, q = ask(T(3000))
    if q is not None:
        water.refuse_query(q[0].query_id, env.NOT_FOUND, "no such meter")
    s.refused("owner's ERROR {query_id} is passed to the asker",
              power.wait_answer(qseq)[0], "not-found")

    qseq, q = ask(T(3000))
    if q is not None:
        water.reply(q[0].query_id, [(env.RecordMeta(subject="C-1002"), b"\x0a\xff\x01")])
        reply_seq = water.seq
    s.refused("REPLY with an undecodable record -> asker gets ERROR bad-body",
              power.wait_answer(qseq)[0], "bad-body")
    if q is not None:
        o = None
        deadline = time.monotonic() + T(5)
        while o is None and time.monotonic() < deadline:
            m = water.recv(deadline - time.monotonic())
            if m is not None and m[0].command == env.ERROR:
                o = m[0]
        c.check("... and the owner gets ERROR bad-body with the query_id and its REPLY's seq",
                o is not None and err_is(o, "bad-body") and o.query_id == q[0].query_id
                and o.seq == reply_seq,
                describe(o) if o else "nothing")

    qseq, q = ask(T(300))
    s.refused("unanswered QUERY -> ERROR timeout", power.wait_answer(qseq)[0], "timeout")

    # ---- errors: (check, request, code, reason or None, further test or None)
    r = meter_reading("C-1001", 1, HOUR).SerializeToString()
    big = sc.pb["water"].MeterReading(subject="C-1001",
                                      meter_name="x" * (1048576 + 10)).SerializeToString()

    def one(body=r, mid=None):
        return [(meta(mid or os.urandom(16), "C-1001", 0), body)]

    def undecodable_header():
        water.send_raw([b"\xff\xff\xff"])
        return water.wait_answer(0)[0]

    two_metas = water.header(env.PUBLISH, record_type=MR,
                             records=[meta(os.urandom(16), "C-1", 0),
                                      meta(os.urandom(16), "C-2", 0)])
    for name, request, code, reason, also in [
            ("PUBLISH of a type the member does not own -> ERROR not-owner",
             lambda: power.publish(MR, one()), "not-owner", "not-owner", None),
            ("PUBLISH of an undecodable body -> ERROR bad-body",
             lambda: water.publish(MR, one(b"\x0a\xff\x01")), "bad-body", "bad-body", None),
            ("PUBLISH of an unknown type -> ERROR unknown-record-type",
             lambda: water.publish("water.v1.Nope", one()), "unknown-record-type", None, None),
            ("PUBLISH with a 5-byte message_id -> ERROR bad-request",
             lambda: water.publish(MR, one(mid=b"short")), "bad-request", None, None),
            ("PUBLISH without records -> ERROR bad-request",
             lambda: water.publish(MR, []), "bad-request", "no-records", None),
            ("unknown command 99 -> ERROR unknown-command",
             lambda: water.call(99), "unknown-command", "unknown-command", None),
            ("DELIVER sent by a client -> ERROR unknown-command",
             lambda: water.call(env.DELIVER), "unknown-command", None, None),
            ("PUBLISH with 2 RecordMeta and 1 body frame -> ERROR bad-frame",
             lambda: water.request(two_metas, [r])[0], "bad-frame", "frame-count", None),
            ("PING with an extra frame -> ERROR bad-frame",
             lambda: water.request(water.header(env.PING), [b"extra"])[0], "bad-frame",
             "frame-count", None),
            ("undecodable header -> ERROR bad-frame with seq 0",
             undecodable_header, "bad-frame", "bad-header", lambda a: a.seq == 0),
            ("PUBLISH over 1 MiB -> ERROR too-big with the request's seq",
             lambda: water.publish(MR, one(big), T(10)), "too-big", "too-big",
             lambda a: a.seq == water.seq),
            ("CREDIT from a member without subscriptions -> ERROR not-subscribed",
             lambda: water.wait_answer(water.credit(5))[0], "not-subscribed",
             "not-subscribed", None)]:
        s.refused(name, request(), code, reason, also)
    s.answer("connection still served after the errors", water.ping(),
             lambda a: a.command == env.PONG)

    # ---- consent events on the data plane, NOTICE ------------------------
    s.acked("SUBSCRIBE leak-alerts (consent-based permit)", power.subscribe(MR, "leak-alerts"))

    def consent(client, meta_subject, mid=None, **event):
        """Publishes one ConsentEvent from `client`; the answer Header."""
        return client.publish("sluice.v1.ConsentEvent",
                              [(meta(mid or os.urandom(16), meta_subject, 0),
                                cev.ConsentEvent(**event).SerializeToString())])

    GIVEN, WITHDRAWN = cev.ConsentEvent.GIVEN, cev.ConsentEvent.WITHDRAWN
    leak_consent = dict(subject="C-2001", controller="water", recipient="power",
                        purposes=["leak-alerts"], record_types=[MR])
    cmid = os.urandom(16)
    s.acked("ConsentEvent GIVEN from a consent-source -> ACK",
            consent(app, "C-2001", cmid, consent_id="c-proto-1", kind=GIVEN,
                    collection_method="app", evidence="receipt-1", **leak_consent),
            [cmid], clean=True)
    s.refused("ConsentEvent from a plain member -> ERROR not-permitted",
              consent(water, "C-2001", consent_id="c-proto-2", kind=GIVEN, **leak_consent),
              "not-permitted")
    s.admin("consent.show: the event is in the registry, actor = citizen-app",
            admin.call("consent.show", {"id": "c-proto-1"}),
            ok=lambda res: res.get("subject") == "C-2001" and res.get("given_by") == "citizen-app")

    leak = readings(["C-2001"], 1) + readings(["C-2002"], 3)
    s.answer("PUBLISH for a consenting and a non-consenting citizen -> ACK",
             water.publish(MR, leak), lambda a: is_ack(a) and len(a.message_ids) == 2)
    power.credit(10)
    seen = deliveries(power, float("inf"), 3, gap=1)
    leak_seen = [(m, b) for m, b in seen if m.purpose == "leak-alerts"]
    ok = (len(leak_seen) == 1 and leak_seen[0][0].message_id == ids(leak)[0]
          and leak_seen[0][0].subject == "C-2001")
    if ok:
        r = sc.pb["water"].MeterReading.FromString(leak_seen[0][1])
        ok = r == sc.pb["water"].MeterReading(subject="C-2001", alarm_in_progress=True)
    c.check("leak-alerts: only the consenting citizen's record, subject kept, one field",
            ok, str([(m.purpose, m.subject) for m, _ in seen]))
    if seen:
        power.ack([m.delivery_tag for m, _ in seen])

    wmid = os.urandom(16)
    s.acked("ConsentEvent WITHDRAWN from the consent-source -> ACK",
            consent(app, "", wmid, consent_id="c-proto-1", kind=WITHDRAWN), [wmid])
    s.notice("recipient gets NOTICE consent-withdrawn with subject, owner, purpose, id", power,
             "consent-withdrawn", {"subject": "C-2001", "owner": "water", "purpose": "leak-alerts",
                                   "consent_id": "c-proto-1", "ended_at": str.isdigit})
    s.refused("second withdrawal -> ERROR bad-request with the registry's sentence",
              consent(app, "", consent_id="c-proto-1", kind=WITHDRAWN), "bad-request",
              also=lambda a: "already withdrawn" in a.errors[0].text)

    # a consent that expires: NOTICE consent-expired, subject as power sees it
    valid_to = int(time.time()) + 2 * SCALE
    s.acked("ConsentEvent GIVEN with valid_to in 2 s -> ACK",
            consent(app, "C-3001", consent_id="c-proto-3", kind=GIVEN, subject="C-3001",
                    controller="water", recipient="power", purposes=["usage-advice"],
                    record_types=["water.v1.*"], valid_to=valid_to))
    want_p = pseudonym(s.secret, "power", "C-3001")
    s.notice("NOTICE consent-expired, subject = power's pseudonym (the permit pseudonymizes)",
             power, "consent-expired", {"subject": want_p, "purpose": "usage-advice",
                                        "consent_id": "c-proto-3", "ended_at": str(valid_to)},
             seconds=6, extra=" want subject " + want_p)

    # ---- revocation ----------------------------------------------------------
    s.admin("admin member.revoke", admin.call("member.revoke", {"name": "citizen-app"}),
            ok=lambda res: res.get("revoked") is True and res.get("sessions_closed", 0) >= 1)
    s.notice("revoked member gets NOTICE revoked", app, "revoked", {})
    time.sleep(T(0.3))
    s.unanswered("revoked key: a new connection gets no answer", keys["citizen-app"])

    # ---- owner offline, then shutdown NOTICE ----------------------------
    water.close()
    time.sleep(T(0.3))
    s.refused("QUERY while the owner is disconnected -> ERROR owner-offline",
              power.query(MR, "", "joint-metering", timeout_ms=T(2000), timeout_s=T(5))[0],
              "owner-offline")
    s.broker.signal_stop()
    s.notice("NOTICE shutdown when the broker stops", power, "shutdown", {}, seconds=10)


def scenario_edge(s):
    """Records without a subject (RecordMeta.subject and the body's subject
    field both empty: PROTOCOL.md 4 allows it, POLICY.md 6 says an empty
    subject stays empty) through a pseudonymizing permit."""
    env = sc.pb["envelope"]
    water, power = (s.open(sc.DataClient, s.keys(s.ep["keys"][n])) for n in ("water", "power"))
    s.acked("edge: SUBSCRIBE", power.subscribe(MR, "joint-metering"))
    rec = readings([""], 2, HOUR + 5)
    mid = ids(rec)[0]
    s.acked("edge: PUBLISH of a record without subject -> ACK", water.publish(MR, rec), [mid])
    power.credit(5)
    m = power.next_unsolicited(env.DELIVER)
    ok = m is not None and len(m[0].records) == 1 and m[0].records[0].message_id == mid
    detail = describe(m[0]) if m else "no DELIVER"
    if ok:
        r = sc.pb["water"].MeterReading.FromString(m[1][0])
        ok = m[0].records[0].subject == "" and r == joint_view("", 2)
        detail = "meta subject %r body %s" % (m[0].records[0].subject, r)
    s.c.check("edge: delivered with the subject still empty (POLICY.md 6)", ok, detail)
    try:
        alive = water.ping(T(3)).command == env.PONG
    except TimeoutError:
        alive = False
    s.c.check("edge: broker still serving after delivering a subject-less record", alive,
              "broker running: %s" % s.broker.running())


def scenario_restart(s):
    """Durability: DELIVER batching, queue and subscription and idempotency
    memory across a broker restart (PROTOCOL.md 5.2, 5.3, 5.4, 5.7)."""
    env = sc.pb["envelope"]
    c = s.c
    keys = {n: s.keys(s.ep["keys"][n]) for n in ("water", "power")}
    water, power = (s.open(sc.DataClient, keys[n]) for n in ("water", "power"))
    s.acked("restart: SUBSCRIBE", power.subscribe(MR, "joint-metering"))
    recs = readings(["C-%d" % i for i in range(100)])
    mids = ids(recs)
    s.acked("restart: PUBLISH 100 in one message -> ACK with 100 ids",
            water.publish(MR, recs, T(10)), mids)
    power.credit(100)
    sizes = []
    got = [m for m, _ in deliveries(power, 100, 10,
                                    each=lambda h, bodies: sizes.append(len(h.records)))]
    c.check("restart: 100 records delivered in order, at most 64 per DELIVER",
            [m.message_id for m in got] == mids and max(sizes or [0]) <= 64
            and len(sizes) >= 2, "sizes %s, %d records" % (sizes, len(got)))
    s.answer("restart: ACK 60 of them", power.ack([m.delivery_tag for m in got[:60]]),
             lambda a: is_ack(a) and len(a.delivery_tags) == 60)
    for cl in (water, power):
        cl.close()
    rc = s.broker.stop()
    c.check("restart: sluiced exits 0 on SIGTERM", rc == 0, "exit status %s" % rc)
    s.ep = s.broker.start()
    c.check("restart: broker starts again on the same data directory", True)
    water, power = (s.open(sc.DataClient, keys[n]) for n in ("water", "power"))
    s.answer("restart: HELLO after restart", power.hello(), lambda a: a.command == env.HELLO)
    power.credit(100)
    again = [r for r, _ in deliveries(power, 40, 10)]
    c.check("restart: the 40 unacknowledged records come again with the same tags",
            [(m.message_id, m.delivery_tag) for m in again]
            == [(m.message_id, m.delivery_tag) for m in got[60:]], "%d" % len(again))
    s.acked("restart: resend of 10 stored ids after the restart -> ACK",
            water.publish(MR, recs[:10]), mids[:10])
    extra = power.next_unsolicited(env.DELIVER, T(0.5))
    c.check("restart: ... and nothing is queued again (ids remembered across restart)",
            extra is None, describe(extra[0]) if extra else "")
    s.answer("restart: ACK the rest", power.ack([m.delivery_tag for m in again]),
             lambda a: is_ack(a, clean=True) and len(a.delivery_tags) == len(again))


if __name__ == "__main__":
    run_suite({"main": partial(run, phase=scenario), "edge": partial(run, phase=scenario_edge),
               "restart": partial(run, phase=scenario_restart)},
              "main: the whole protocol; edge: records without a subject; "
              "restart: durability across a broker restart", default="main",
              options=[("--schemas", dict(required=True))])
