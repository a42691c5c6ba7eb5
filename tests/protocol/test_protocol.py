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

import argparse
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

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
from tl import SCALE, T, Broker, Checks  # noqa: E402  (tests/lib/tl.py: the harness)

CITY_POLICY = """\
purpose joint-metering "Water and power reconcile household consumption"
purpose leak-alerts    "Power warns consenting households of water leaks"
purpose usage-advice   "Power advises consenting households on their consumption"
"""

WATER_POLICY = """\
permit "water-to-power" {
  owner     water
  consumer  power
  records   water.v1.MeterReading
  purpose   joint-metering
  fields    district, date_observed, water_consumption_m3
  subject   pseudonymize
  time      coarsen hour
}

permit "water-leaks-with-consent" {
  owner     water
  consumer  power
  records   water.v1.MeterReading
  purpose   leak-alerts
  fields    alarm_in_progress
  subject   keep
  consent   required
}

permit "water-advice-with-consent" {
  owner     water
  consumer  power
  records   water.v1.MeterReading
  purpose   usage-advice
  fields    water_consumption_m3
  consent   required
}
"""


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


def meta(mid, subject, event_time_ms):
    return sc.pb["envelope"].RecordMeta(message_id=mid, subject=subject,
                                        event_time=event_time_ms)


def first_error(h):
    return h.errors[0] if len(h.errors) else None


def err_is(h, name):
    env = sc.pb["envelope"]
    e = first_error(h)
    return h.command == env.ERROR and e is not None and sc.error_name(e.code) == name


def err_reason(h, reason, name):
    """ERROR whose first Error has code `name` and Error.reason `reason`."""
    return err_is(h, name) and h.errors[0].reason == reason


def deliveries(client, n, seconds):
    """(RecordMeta, body) of the DELIVERs that come until n records came or
    `seconds` (scaled) passed."""
    got = []
    deadline = time.monotonic() + T(seconds)
    while len(got) < n and time.monotonic() < deadline:
        m = client.next_unsolicited(sc.pb["envelope"].DELIVER, deadline - time.monotonic())
        if m is None:
            break
        got.extend(zip(m[0].records, m[1]))
    return got


def describe(h):
    env = sc.pb["envelope"]
    cmd = env.Command.Name(h.command) if h.command in env.Command.values() else str(h.command)
    errs = ["%s(%s: %s)" % (sc.error_name(e.code), e.reason, e.text) for e in h.errors]
    return "%s seq=%d errors=%s" % (cmd, h.seq, errs)


def run(args, c):
    root = tempfile.mkdtemp(prefix="sluice-protocol-")
    broker = Broker(args.tl_broker, args.sluiced, root, args=["--consent-scan-ms", "200"])
    ctx = sc.zmq.Context()
    clients = []
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
        server = sc.read_key_file(os.path.join(broker.data, "broker.pub"))["public-key"]
        with open(os.path.join(broker.data, "pseudonym.key"), "rb") as f:
            pseudonym_secret = f.read()

        def data_client(keys):
            cl = sc.DataClient(ctx, keys, ep["data"])
            clients.append(cl)
            return cl

        def admin_client(keys):
            cl = sc.AdminClient(ctx, keys, ep["admin"])
            clients.append(cl)
            return cl

        phase = {"main": scenario, "edge": scenario_edge,
                 "restart": scenario_restart}[args.phase]
        phase(c, broker, ep, server, pseudonym_secret, data_client, admin_client)
    except Exception as e:  # noqa: BLE001 - report and fail, never hide
        c.crash("scenario", e)
    finally:
        for cl in clients:
            cl.close()
        rc = broker.stop()
        if rc is not None:
            c.check("sluiced exits 0 on SIGTERM", rc == 0, "exit status %s" % rc)
        ctx.term()
        if c.failed:
            print("---- sluiced log (tail) ----")
            print(broker.log_tail())
        shutil.rmtree(root, ignore_errors=True)


def scenario(c, broker, ep, server, pseudonym_secret, data_client, admin_client):
    env = sc.pb["envelope"]
    cev = sc.pb["consent"]

    # ---- admin plane ---------------------------------------------------
    admin = admin_client(sc.Keys.from_file(os.path.join(broker.data, "admin.key"), server))
    keys = {name: sc.Keys.generate(server)
            for name in ["water", "power", "water-admin", "citizen-app", "stranger"]}
    roles = {"water": "member", "power": "member", "water-admin": "admin:water",
             "citizen-app": "consent-source"}
    for name, role in roles.items():
        code, text, res = admin.call("member.add", {"name": name, "role": role,
                                                    "public_key": keys[name].public})
        c.check("admin member.add %s (%s)" % (name, role),
                code == "ok" and isinstance(res, dict) and res.get("name") == name
                and res.get("role") == role and res.get("public_key") == keys[name].public,
                "%s %s %s" % (code, text, res))
    code, text, res = admin.call("member.add", {"name": "water2", "role": "member",
                                                "public_key": keys["water"].public})
    c.check("admin member.add with an existing key -> bad-request", code == "bad-request",
            "%s %s" % (code, text))
    code, text, res = admin.call("member.list")
    names = sorted(m.get("name") for m in res) if isinstance(res, list) else []
    c.check("admin member.list lists the members",
            code == "ok" and all(n in names for n in roles) and "admin" in names,
            "%s %s" % (code, names))

    code, text, res = admin.call("policy.apply", {"owner": "city", "text": CITY_POLICY})
    c.check("admin policy.apply city purposes (admin:city)",
            code == "ok" and res.get("owner") == "city" and res.get("version") == 1,
            "%s %s %s" % (code, text, res))
    wadmin = admin_client(keys["water-admin"])
    code, text, res = wadmin.call("policy.apply", {"text": WATER_POLICY})
    c.check("admin policy.apply water permits (admin:water, owner defaults to water)",
            code == "ok" and res.get("owner") == "water" and res.get("version") == 1
            and res.get("rules") == 3, "%s %s %s" % (code, text, res))
    code, text, res = wadmin.call("policy.apply", {"owner": "city", "text": CITY_POLICY})
    c.check("admin policy.apply of city's policy by admin:water -> not-permitted",
            code == "not-permitted", "%s %s" % (code, text))
    code, text, res = wadmin.call("member.add", {"name": "x", "role": "member",
                                                 "public_key": keys["stranger"].public})
    c.check("admin member.add by admin:water -> not-permitted", code == "not-permitted",
            "%s %s" % (code, text))
    code, text, res = admin.call("no.such.command")
    c.check("admin unknown command -> unknown-command", code == "unknown-command",
            "%s %s" % (code, text))
    code, text, res = admin.call("member.add", {"name": "Bad Name", "role": "member",
                                                "public_key": keys["stranger"].public})
    c.check("admin member.add with a bad name -> bad-request", code == "bad-request",
            "%s %s" % (code, text))
    r = admin.call_raw([b"\xff\xff\xff\xff"])
    c.check("admin undecodable request -> bad-frame, seq 0",
            sc.error_name(r.code) == "bad-frame" and r.seq == 0,
            "%s seq=%d %s" % (sc.error_name(r.code), r.seq, r.text))
    code, text, res = admin.call("status")
    c.check("admin status", code == "ok" and isinstance(res, dict)
            and all(k in res for k in ("version", "uptime_s", "members_connected", "queues",
                                       "pending", "commits")),
            "%s %s %s" % (code, text, res))
    # ---- schema registry (PROTOCOL.md 6.6, SCHEMAS.md), from this client alone
    import base64
    from google.protobuf import descriptor_pb2
    opts = importlib.import_module("sluice.v1.options_pb2")
    member = admin_client(keys["water"])          # any member may read a type
    code, text, res = member.call("schema.get", {"record_type": "water.v1.MeterReading"})
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
    code, text, res = wadmin.call("schema.register", {"file": "tap.proto"},
                                  data=reg.SerializeToString())
    c.check("schema.register in another bureau's namespace -> not-permitted",
            code == "not-permitted", "%s %s" % (code, text))
    code, text, res = admin.call("schema.register", {"file": "tap.proto"},
                                 data=reg.SerializeToString())
    c.check("schema.register (admin:city) of a set built by this client",
            code == "ok" and res.get("types", [{}])[0].get("record_type") == "transit.v1.Tap"
            and res["types"][0].get("version") == 1, "%s %s %s" % (code, text, res))
    code, text, res = member.call("schema.list")
    c.check("schema.list shows it with its time field",
            code == "ok" and any(t.get("record_type") == "transit.v1.Tap"
                                 and t.get("time_fields") == ["at"] for t in res.get("types", [])),
            "%s %s" % (code, text))
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
    rs = sc.zmq.Context.instance().socket(sc.zmq.REQ)
    admin_keys = sc.Keys.from_file(os.path.join(broker.data, "admin.key"), server)
    rs.curve_secretkey = admin_keys.secret.encode()
    rs.curve_publickey = admin_keys.public.encode()
    rs.curve_serverkey = server.encode()
    rs.setsockopt(sc.zmq.LINGER, 0)
    rs.connect(ep["admin"])
    rs.send(sc.pb["admin"].AdminRequest(version=1, seq=5, command="member.list")
            .SerializeToString())
    frames = rs.recv_multipart() if rs.poll(int(T(5) * 1000)) else []
    r = sc.pb["admin"].AdminResponse.FromString(frames[0]) if len(frames) == 1 else None
    c.check("admin plane through a REQ socket", r is not None and r.seq == 5
            and sc.error_name(r.code) == "ok", "%d frames" % len(frames))
    rs.close(0)

    # ---- HELLO and authentication --------------------------------------
    h = env.Header(version=1, command=env.HELLO, seq=1)
    c.check("HELLO seq 1 packs to 08 01 10 01 18 01 (PROTOCOL.md 2)",
            h.SerializeToString() == bytes([8, 1, 16, 1, 24, 1]),
            h.SerializeToString().hex())
    water = data_client(keys["water"])
    power = data_client(keys["power"])
    app = data_client(keys["citizen-app"])
    for cl, name in [(water, "water"), (power, "power"), (app, "citizen-app")]:
        a = cl.hello(T(5))
        c.check("HELLO as %s" % name,
                a.command == env.HELLO and a.member == name and a.version == 1
                and a.max_message_size == 1048576 and a.broker_version != ""
                and all(x in a.capabilities for x in ("batch", "query", "credit")),
                describe(a) + " member=%r max=%d caps=%s" % (a.member, a.max_message_size,
                                                             list(a.capabilities)))
    stranger = data_client(keys["stranger"])
    stranger.send(stranger.header(env.HELLO))
    c.check("unknown key gets no answer (handshake refused)",
            stranger.recv(T(1)) is None)
    a = water.ping(T(5))
    c.check("PING -> PONG", a.command == env.PONG, describe(a))
    a, _ = water.request(env.Header(version=2, command=env.HELLO), timeout_s=T(5))
    c.check("version 2 -> ERROR unsupported-version", err_reason(a, "unsupported-version", "unsupported-version"),
            describe(a))

    # ---- SUBSCRIBE ------------------------------------------------------
    a = power.subscribe("water.v1.MeterReading", "joint-metering", T(5))
    c.check("SUBSCRIBE -> ACK", a.command == env.ACK and not a.errors, describe(a))
    a = power.subscribe("water.v1.Nope", "joint-metering", T(5))
    c.check("SUBSCRIBE unknown type -> ERROR unknown-record-type",
            err_is(a, "unknown-record-type"), describe(a))
    a = power.subscribe("water.v1.MeterReading", "Not A Purpose", T(5))
    c.check("SUBSCRIBE bad purpose word -> ERROR bad-request", err_is(a, "bad-request"),
            describe(a))

    # ---- PUBLISH batch, per-record results ------------------------------
    hour = 1795878000                     # 2026-11-28T09:00:00Z
    obs = [hour + 1234, hour + 2000, hour + 3599]
    subjects = ["C-1001", "C-1002", "C-1003"]
    mids = [os.urandom(16) for _ in range(3)]
    recs = [meter_reading(subjects[i], i, obs[i]) for i in range(3)]
    batch = [(meta(mids[i], subjects[i], obs[i] * 1000), recs[i].SerializeToString())
             for i in range(3)]
    a = water.publish("water.v1.MeterReading", batch, T(5))
    c.check("PUBLISH batch of 3 -> ACK with the 3 message_ids in order",
            a.command == env.ACK and list(a.message_ids) == mids and not a.errors,
            describe(a))

    bad_mid = os.urandom(16)
    mids2 = [os.urandom(16), bad_mid, os.urandom(16)]
    rec4 = meter_reading("C-1004", 4, hour + 10)
    rec5 = meter_reading("C-1005", 5, hour + 20)
    mixed = [(meta(mids2[0], "C-1004", 0), rec4.SerializeToString()),
             (meta(bad_mid, "C-1009", 0), b"\x0a\xff\x01"),
             (meta(mids2[2], "C-1005", 0), rec5.SerializeToString())]
    a = water.publish("water.v1.MeterReading", mixed, T(5))
    e = first_error(a)
    c.check("PUBLISH mixed batch -> ACK: 2 stored, 1 per-record bad-body naming record 1",
            a.command == env.ACK and list(a.message_ids) == [mids2[0], mids2[2]]
            and len(a.errors) == 1 and sc.error_name(e.code) == "bad-body"
            and e.message_id == bad_mid and e.reason == "bad-body"
            and e.text.startswith("record 1: "), describe(a))

    a = water.publish("water.v1.MeterReading", batch[:2], T(5))
    c.check("idempotent resend of stored message_ids -> ACK listing them",
            a.command == env.ACK and list(a.message_ids) == mids[:2] and not a.errors,
            describe(a))
    code, text, res = admin.call("status")
    depth = (res or {}).get("queues", {}).get("power")
    c.check("status: power's queue holds 5 records (resend not queued twice)",
            code == "ok" and depth == 5, "%s %s" % (code, res))
    c.check("status: water and power listed as connected",
            "water" in (res or {}).get("members_connected", [])
            and "power" in (res or {}).get("members_connected", []), str(res))

    # ---- CREDIT, DELIVER, consumer ACK ----------------------------------
    power.credit(3)
    got = []
    deadline = time.monotonic() + T(5)
    while len(got) < 3 and time.monotonic() < deadline:
        m = power.next_unsolicited(env.DELIVER, deadline - time.monotonic())
        if m is None:
            break
        h, bodies = m
        c.check("DELIVER has one body frame per RecordMeta", len(h.records) == len(bodies),
                "%d metas, %d bodies" % (len(h.records), len(bodies)))
        got.extend(zip(h.records, bodies))
    c.check("CREDIT 3 -> exactly 3 records delivered", len(got) == 3, "got %d" % len(got))
    extra = power.next_unsolicited(env.DELIVER, T(0.5))
    c.check("no delivery beyond credit", extra is None)
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
        p = pseudonym(pseudonym_secret, "power", subjects[i])
        if not (m.record_type == "water.v1.MeterReading" and m.owner == "water"
                and m.purpose == "joint-metering" and m.delivery_tag != 0
                and m.subject == p and list(m.rules) == ["water/water-to-power@1"]
                and m.event_time == obs[i] * 1000 - (obs[i] * 1000) % 3600000):
            ok_meta = False
            detail = "meta %d: %s (expected subject %s)" % (i, m, p)
        r = sc.pb["water"].MeterReading()
        r.ParseFromString(b)
        want = sc.pb["water"].MeterReading(subject=p, district="Gongshu",
                                           date_observed=hour,
                                           water_consumption_m3=100.0 + i)
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
    a = power.nack([tags[2]], T(5))
    c.check("NACK -> ACK listing the tag returned",
            a.command == env.ACK and list(a.delivery_tags) == [tags[2]], describe(a))
    a = power.ack(tags[:2] + [999999], T(5))
    c.check("consumer ACK -> ACK with removed tags and not-found for an unknown tag",
            a.command == env.ACK and list(a.delivery_tags) == tags[:2]
            and len(a.errors) == 1 and sc.error_name(a.errors[0].code) == "not-found",
            describe(a))
    power.credit(10)
    rest = deliveries(power, 3, 5)
    rest_mids = [m.message_id for m, _ in rest]
    c.check("after NACK + CREDIT: the NACKed record again, then the 2 others in order",
            rest_mids == [mids[2], mids2[0], mids2[2]],
            "got %s" % [x.hex()[:8] for x in rest_mids])
    a = power.ack([m.delivery_tag for m, _ in rest], T(5))
    c.check("consumer ACK of the rest", a.command == env.ACK
            and len(a.delivery_tags) == 3 and not a.errors, describe(a))
    extra = power.next_unsolicited(env.DELIVER, T(0.5))
    c.check("nothing delivered twice (idempotent resend)", extra is None,
            describe(extra[0]) if extra else "")
    code, text, res = admin.call("status")
    c.check("status: power's queue is empty after the ACKs",
            (res or {}).get("queues", {}).get("power") == 0, str(res))

    # ---- reconnect: unacknowledged deliveries come again -----------------
    rm = [os.urandom(16), os.urandom(16)]
    a = water.publish("water.v1.MeterReading",
                      [(meta(rm[i], "C-300%d" % i, 0),
                        meter_reading("C-300%d" % i, i, hour).SerializeToString())
                       for i in range(2)], T(5))
    c.check("PUBLISH 2 more -> ACK", a.command == env.ACK and len(a.message_ids) == 2,
            describe(a))
    power.credit(10)
    first = [r for r, _ in deliveries(power, 2, 5)]
    c.check("2 delivered on the first connection, not acked",
            [m.message_id for m in first] == rm, str(len(first)))
    # PROTOCOL.md 5.9: two connections under one key form a queue group
    power2 = data_client(keys["power"])
    a = power2.hello(T(5))
    c.check("second connection of power: HELLO makes it the current session",
            a.command == env.HELLO and a.member == "power", describe(a))
    power2.credit(10)
    c.check("records in flight on the first connection are not delivered on the second",
            power2.next_unsolicited(env.DELIVER, T(0.3)) is None)
    if len(first) == 2:
        a = power2.ack([first[0].delivery_tag], T(5))
        c.check("a tag delivered on the first connection may be acked from the second",
                a.command == env.ACK and list(a.delivery_tags) == [first[0].delivery_tag]
                and not a.errors, describe(a))
    power.close()
    again = [r for r, _ in deliveries(power2, 1, 5)]
    c.check("when the first connection closes, its unacknowledged record comes again on the "
            "second with the same tag",
            [(m.message_id, m.delivery_tag) for m in again]
            == [(m.message_id, m.delivery_tag) for m in first[1:]],
            "%s vs %s" % ([m.delivery_tag for m in again], [m.delivery_tag for m in first]))
    if len(again) == 1:
        a = power2.ack([again[0].delivery_tag], T(5))
        c.check("and is acked there",
                a.command == env.ACK and list(a.delivery_tags) == [again[0].delivery_tag]
                and not a.errors, describe(a))
    power = power2

    # ---- UNSUBSCRIBE ------------------------------------------------------
    a = power.subscribe("water.v1.MeterReading", "leak-alerts", T(5))
    a = power.unsubscribe("water.v1.MeterReading", "leak-alerts", T(5))
    c.check("UNSUBSCRIBE -> ACK", a.command == env.ACK and not a.errors, describe(a))
    a = power.unsubscribe("water.v1.MeterReading", "leak-alerts", T(5))
    c.check("UNSUBSCRIBE of no subscription -> ERROR not-found", err_is(a, "not-found"),
            describe(a))

    # POLICY.md 6.1: a clear id may be queried only under a permit that keeps
    # it; water-to-power pseudonymizes, so power asks without a subject
    a, _ = power.query("water.v1.MeterReading", "C-1001", "joint-metering",
                       timeout_ms=T(2000), timeout_s=T(5))
    c.check("QUERY by clear id under a pseudonymizing permit -> ERROR denied (subject-not-clear)",
            err_is(a, "denied") and a.errors[0].reason == "subject-not-clear", describe(a))
    c.check("... and it never reaches the owner",
            water.next_unsolicited(env.QUERY, T(0.3)) is None)
    qseq = power.send(power.header(env.QUERY, record_type="water.v1.MeterReading",
                                   subject="", purpose="joint-metering",
                                   parameters={"from": str(hour)}, timeout_ms=T(3000)))
    q = water.next_unsolicited(env.QUERY, T(5))
    c.check("owner receives QUERY with query_id, asker, parameters",
            q is not None and q[0].query_id != 0 and q[0].member == "power"
            and q[0].subject == "" and q[0].purpose == "joint-metering"
            and q[0].record_type == "water.v1.MeterReading"
            and dict(q[0].parameters) == {"from": str(hour)},
            describe(q[0]) if q else "no QUERY")
    if q is not None:
        full = meter_reading("C-1001", 7, hour + 61)
        water.reply(q[0].query_id, [(env.RecordMeta(subject="C-1001"),
                                     full.SerializeToString())])
    a, bodies = power.wait_answer(qseq, T(5))
    ok = a.command == env.REPLY and len(a.records) == 1 and len(bodies) == 1
    detail = describe(a)
    if ok:
        p = pseudonym(pseudonym_secret, "power", "C-1001")
        r = sc.pb["water"].MeterReading()
        r.ParseFromString(bodies[0])
        want = sc.pb["water"].MeterReading(subject=p, district="Gongshu",
                                           date_observed=hour, water_consumption_m3=107.0)
        m = a.records[0]
        ok = (r == want and m.subject == p and m.owner == "water"
              and m.record_type == "water.v1.MeterReading" and m.delivery_tag == 0)
        detail = "meta %s body %s want %s" % (m, r, want)
    c.check("asker gets REPLY with its seq and the transformed record", ok, detail)

    qseq = power.send(power.header(env.QUERY, record_type="water.v1.MeterReading",
                                   subject="", purpose="joint-metering",
                                   timeout_ms=T(3000)))
    q = water.next_unsolicited(env.QUERY, T(5))
    if q is not None:
        water.refuse_query(q[0].query_id, env.NOT_FOUND, "no such meter")
    a, _ = power.wait_answer(qseq, T(5))
    c.check("owner's ERROR {query_id} is passed to the asker", err_is(a, "not-found"),
            describe(a))

    qseq = power.send(power.header(env.QUERY, record_type="water.v1.MeterReading",
                                   subject="", purpose="joint-metering",
                                   timeout_ms=T(3000)))
    q = water.next_unsolicited(env.QUERY, T(5))
    if q is not None:
        water.reply(q[0].query_id, [(env.RecordMeta(subject="C-1002"), b"\x0a\xff\x01")])
        reply_seq = water.seq
    a, _ = power.wait_answer(qseq, T(5))
    c.check("REPLY with an undecodable record -> asker gets ERROR bad-body",
            err_is(a, "bad-body"), describe(a))
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

    qseq = power.send(power.header(env.QUERY, record_type="water.v1.MeterReading",
                                   subject="", purpose="joint-metering",
                                   timeout_ms=T(300)))
    q = water.next_unsolicited(env.QUERY, T(5))
    a, _ = power.wait_answer(qseq, T(5))
    c.check("unanswered QUERY -> ERROR timeout", err_is(a, "timeout"), describe(a))

    a, _ = power.query("water.v1.MeterReading", "C-1001", "leak-alerts",
                       timeout_ms=T(2000), timeout_s=T(5))
    c.check("QUERY without consent -> ERROR denied (consent-missing)",
            err_is(a, "denied") and a.errors[0].reason == "consent-missing", describe(a))
    a, _ = water.query("power.v1.MeterReading", "C-1001", "joint-metering",
                       timeout_ms=T(2000), timeout_s=T(5))
    c.check("QUERY with no permit -> ERROR denied (no-matching-rule)",
            err_is(a, "denied") and a.errors[0].reason == "no-matching-rule", describe(a))

    # ---- errors ---------------------------------------------------------
    r = meter_reading("C-1001", 1, hour).SerializeToString()
    a = power.publish("water.v1.MeterReading", [(meta(os.urandom(16), "C-1001", 0), r)], T(5))
    c.check("PUBLISH of a type the member does not own -> ERROR not-owner",
            err_reason(a, "not-owner", "not-owner"), describe(a))
    a = water.publish("water.v1.MeterReading",
                      [(meta(os.urandom(16), "C-1001", 0), b"\x0a\xff\x01")], T(5))
    c.check("PUBLISH of an undecodable body -> ERROR bad-body", err_reason(a, "bad-body", "bad-body"),
            describe(a))
    a = water.publish("water.v1.Nope", [(meta(os.urandom(16), "C-1001", 0), r)], T(5))
    c.check("PUBLISH of an unknown type -> ERROR unknown-record-type",
            err_is(a, "unknown-record-type"), describe(a))
    a = water.publish("water.v1.MeterReading", [(meta(b"short", "C-1001", 0), r)], T(5))
    c.check("PUBLISH with a 5-byte message_id -> ERROR bad-request", err_is(a, "bad-request"),
            describe(a))
    a = water.publish("water.v1.MeterReading", [], T(5))
    c.check("PUBLISH without records -> ERROR bad-request", err_reason(a, "no-records", "bad-request"),
            describe(a))
    a, _ = water.request(water.header(99), timeout_s=T(5))
    c.check("unknown command 99 -> ERROR unknown-command", err_reason(a, "unknown-command", "unknown-command"),
            describe(a))
    a, _ = water.request(water.header(env.DELIVER), timeout_s=T(5))
    c.check("DELIVER sent by a client -> ERROR unknown-command",
            err_is(a, "unknown-command"), describe(a))
    h = water.header(env.PUBLISH, record_type="water.v1.MeterReading",
                     records=[meta(os.urandom(16), "C-1", 0), meta(os.urandom(16), "C-2", 0)])
    a, _ = water.request(h, [r], T(5))
    c.check("PUBLISH with 2 RecordMeta and 1 body frame -> ERROR bad-frame",
            err_reason(a, "frame-count", "bad-frame"), describe(a))
    a, _ = water.request(water.header(env.PING), [b"extra"], T(5))
    c.check("PING with an extra frame -> ERROR bad-frame", err_reason(a, "frame-count", "bad-frame"), describe(a))
    water.send_raw([b"\xff\xff\xff"])
    a, _ = water.wait_answer(0, T(5))
    c.check("undecodable header -> ERROR bad-frame with seq 0",
            err_reason(a, "bad-header", "bad-frame") and a.seq == 0, describe(a))
    big = sc.pb["water"].MeterReading(subject="C-1001", meter_name="x" * (1048576 + 10))
    a = water.publish("water.v1.MeterReading",
                      [(meta(os.urandom(16), "C-1001", 0), big.SerializeToString())], T(10))
    c.check("PUBLISH over 1 MiB -> ERROR too-big with the request's seq",
            err_reason(a, "too-big", "too-big") and a.seq == water.seq, describe(a))
    water.credit(5)
    a, _ = water.wait_answer(water.seq, T(5))
    c.check("CREDIT from a member without subscriptions -> ERROR not-subscribed",
            err_reason(a, "not-subscribed", "not-subscribed"), describe(a))
    a = water.ping(T(5))
    c.check("connection still served after the errors", a.command == env.PONG, describe(a))

    # ---- consent events on the data plane, NOTICE ------------------------
    a = power.subscribe("water.v1.MeterReading", "leak-alerts", T(5))
    c.check("SUBSCRIBE leak-alerts (consent-based permit)", a.command == env.ACK, describe(a))
    given = cev.ConsentEvent(consent_id="c-proto-1", kind=cev.ConsentEvent.GIVEN,
                             subject="C-2001", controller="water", recipient="power",
                             purposes=["leak-alerts"],
                             record_types=["water.v1.MeterReading"],
                             collection_method="app", evidence="receipt-1")
    cmid = os.urandom(16)
    a = app.publish("sluice.v1.ConsentEvent",
                    [(meta(cmid, "C-2001", 0), given.SerializeToString())], T(5))
    c.check("ConsentEvent GIVEN from a consent-source -> ACK",
            a.command == env.ACK and list(a.message_ids) == [cmid] and not a.errors,
            describe(a))
    a = water.publish("sluice.v1.ConsentEvent",
                      [(meta(os.urandom(16), "C-2001", 0),
                        cev.ConsentEvent(consent_id="c-proto-2", kind=cev.ConsentEvent.GIVEN,
                                         subject="C-2001", controller="water",
                                         recipient="power", purposes=["leak-alerts"],
                                         record_types=["water.v1.MeterReading"])
                        .SerializeToString())], T(5))
    c.check("ConsentEvent from a plain member -> ERROR not-permitted",
            err_is(a, "not-permitted"), describe(a))
    code, text, res = admin.call("consent.show", {"id": "c-proto-1"})
    c.check("consent.show: the event is in the registry, actor = citizen-app",
            code == "ok" and res.get("subject") == "C-2001"
            and res.get("given_by") == "citizen-app", "%s %s %s" % (code, text, res))

    lm = [os.urandom(16), os.urandom(16)]
    leak = [(meta(lm[0], "C-2001", 0), meter_reading("C-2001", 1, hour).SerializeToString()),
            (meta(lm[1], "C-2002", 0), meter_reading("C-2002", 3, hour).SerializeToString())]
    a = water.publish("water.v1.MeterReading", leak, T(5))
    c.check("PUBLISH for a consenting and a non-consenting citizen -> ACK",
            a.command == env.ACK and len(a.message_ids) == 2, describe(a))
    power.credit(10)
    seen = []
    deadline = time.monotonic() + T(3)
    while time.monotonic() < deadline:
        m = power.next_unsolicited(env.DELIVER, min(T(1), deadline - time.monotonic()))
        if m is None:
            break
        seen.extend(zip(m[0].records, m[1]))
    leak_seen = [(m, b) for m, b in seen if m.purpose == "leak-alerts"]
    ok = (len(leak_seen) == 1 and leak_seen[0][0].message_id == lm[0]
          and leak_seen[0][0].subject == "C-2001")
    if ok:
        r = sc.pb["water"].MeterReading()
        r.ParseFromString(leak_seen[0][1])
        ok = r == sc.pb["water"].MeterReading(subject="C-2001", alarm_in_progress=True)
    c.check("leak-alerts: only the consenting citizen's record, subject kept, one field",
            ok, str([(m.purpose, m.subject) for m, _ in seen]))
    if seen:
        power.ack([m.delivery_tag for m, _ in seen], T(5))

    withdrawn = cev.ConsentEvent(consent_id="c-proto-1", kind=cev.ConsentEvent.WITHDRAWN)
    wmid = os.urandom(16)
    a = app.publish("sluice.v1.ConsentEvent",
                    [(meta(wmid, "", 0), withdrawn.SerializeToString())], T(5))
    c.check("ConsentEvent WITHDRAWN from the consent-source -> ACK",
            a.command == env.ACK and list(a.message_ids) == [wmid], describe(a))
    n = power.next_unsolicited(env.NOTICE, T(5))
    na = dict(n[0].notice_args) if n else {}
    c.check("recipient gets NOTICE consent-withdrawn with subject, owner, purpose, id",
            n is not None and n[0].notice == "consent-withdrawn"
            and na.get("subject") == "C-2001" and na.get("owner") == "water"
            and na.get("purpose") == "leak-alerts" and na.get("consent_id") == "c-proto-1"
            and na.get("ended_at", "").isdigit(),
            (n[0].notice + " " + str(na)) if n else "no NOTICE")
    again = cev.ConsentEvent(consent_id="c-proto-1", kind=cev.ConsentEvent.WITHDRAWN)
    a = app.publish("sluice.v1.ConsentEvent",
                    [(meta(os.urandom(16), "", 0), again.SerializeToString())], T(5))
    c.check("second withdrawal -> ERROR bad-request with the registry's sentence",
            err_is(a, "bad-request") and "already withdrawn" in a.errors[0].text,
            describe(a))

    # a consent that expires: NOTICE consent-expired, subject as power sees it
    valid_to = int(time.time()) + 2 * SCALE
    exp = cev.ConsentEvent(consent_id="c-proto-3", kind=cev.ConsentEvent.GIVEN,
                           subject="C-3001", controller="water", recipient="power",
                           purposes=["usage-advice"], record_types=["water.v1.*"],
                           valid_to=valid_to)
    a = app.publish("sluice.v1.ConsentEvent",
                    [(meta(os.urandom(16), "C-3001", 0), exp.SerializeToString())], T(5))
    c.check("ConsentEvent GIVEN with valid_to in 2 s -> ACK", a.command == env.ACK,
            describe(a))
    n = power.next_unsolicited(env.NOTICE, T(6))
    na = dict(n[0].notice_args) if n else {}
    want_p = pseudonym(pseudonym_secret, "power", "C-3001")
    c.check("NOTICE consent-expired, subject = power's pseudonym (the permit pseudonymizes)",
            n is not None and n[0].notice == "consent-expired"
            and na.get("subject") == want_p and na.get("purpose") == "usage-advice"
            and na.get("consent_id") == "c-proto-3" and na.get("ended_at") == str(valid_to),
            (n[0].notice + " " + str(na) + " want subject " + want_p) if n else "no NOTICE")

    # ---- revocation ----------------------------------------------------------
    code, text, res = admin.call("member.revoke", {"name": "citizen-app"})
    c.check("admin member.revoke", code == "ok" and res.get("revoked") is True
            and res.get("sessions_closed", 0) >= 1, "%s %s %s" % (code, text, res))
    n = app.next_unsolicited(env.NOTICE, T(5))
    c.check("revoked member gets NOTICE revoked", n is not None and n[0].notice == "revoked",
            describe(n[0]) if n else "none")
    time.sleep(T(0.3))
    app2 = data_client(keys["citizen-app"])
    app2.send(app2.header(env.HELLO))
    c.check("revoked key: a new connection gets no answer", app2.recv(T(1)) is None)

    # ---- owner offline, then shutdown NOTICE ----------------------------
    water.close()
    time.sleep(T(0.3))
    a, _ = power.query("water.v1.MeterReading", "", "joint-metering",
                       timeout_ms=T(2000), timeout_s=T(5))
    c.check("QUERY while the owner is disconnected -> ERROR owner-offline",
            err_is(a, "owner-offline"), describe(a))
    broker.signal_stop()
    n = power.next_unsolicited(env.NOTICE, T(10))
    c.check("NOTICE shutdown when the broker stops",
            n is not None and n[0].notice == "shutdown", describe(n[0]) if n else "none")


def scenario_edge(c, broker, ep, server, pseudonym_secret, data_client, admin_client):
    """Records without a subject (RecordMeta.subject and the body's subject
    field both empty: PROTOCOL.md 4 allows it, POLICY.md 6 says an empty
    subject stays empty) through a pseudonymizing permit."""
    env = sc.pb["envelope"]
    water, power = (data_client(sc.Keys.from_file(ep["keys"][n], server))
                    for n in ("water", "power"))
    a = power.subscribe("water.v1.MeterReading", "joint-metering", T(5))
    c.check("edge: SUBSCRIBE", a.command == env.ACK, describe(a))
    hour = 1795878000
    mid = os.urandom(16)
    a = water.publish("water.v1.MeterReading",
                      [(meta(mid, "", 0), meter_reading("", 2, hour + 5).SerializeToString())],
                      T(5))
    c.check("edge: PUBLISH of a record without subject -> ACK",
            a.command == env.ACK and list(a.message_ids) == [mid], describe(a))
    power.credit(5)
    m = power.next_unsolicited(env.DELIVER, T(5))
    ok = m is not None and len(m[0].records) == 1 and m[0].records[0].message_id == mid
    detail = describe(m[0]) if m else "no DELIVER"
    if ok:
        r = sc.pb["water"].MeterReading.FromString(m[1][0])
        ok = m[0].records[0].subject == "" and r == sc.pb["water"].MeterReading(
            district="Gongshu", date_observed=hour, water_consumption_m3=102.0)
        detail = "meta subject %r body %s" % (m[0].records[0].subject, r)
    c.check("edge: delivered with the subject still empty (POLICY.md 6)", ok, detail)
    alive = True
    try:
        a = water.ping(T(3))
        alive = a.command == env.PONG
    except TimeoutError:
        alive = False
    c.check("edge: broker still serving after delivering a subject-less record", alive,
            "broker running: %s" % broker.running())


def scenario_restart(c, broker, ep, server, pseudonym_secret, data_client, admin_client):
    """Durability: DELIVER batching, queue and subscription and idempotency
    memory across a broker restart (PROTOCOL.md 5.2, 5.3, 5.4, 5.7)."""
    env = sc.pb["envelope"]
    keys = {n: sc.Keys.from_file(ep["keys"][n], server) for n in ("water", "power")}
    water = data_client(keys["water"])
    power = data_client(keys["power"])
    a = power.subscribe("water.v1.MeterReading", "joint-metering", T(5))
    c.check("restart: SUBSCRIBE", a.command == env.ACK, describe(a))
    hour = 1795878000
    mids = [os.urandom(16) for _ in range(100)]
    recs = [(meta(mids[i], "C-%d" % i, 0),
             meter_reading("C-%d" % i, i, hour).SerializeToString()) for i in range(100)]
    a = water.publish("water.v1.MeterReading", recs, T(10))
    c.check("restart: PUBLISH 100 in one message -> ACK with 100 ids",
            a.command == env.ACK and list(a.message_ids) == mids, describe(a))
    power.credit(100)
    got = []
    sizes = []
    deadline = time.monotonic() + T(10)
    while len(got) < 100 and time.monotonic() < deadline:
        m = power.next_unsolicited(env.DELIVER, deadline - time.monotonic())
        if m is None:
            break
        sizes.append(len(m[0].records))
        got.extend(m[0].records)
    c.check("restart: 100 records delivered in order, at most 64 per DELIVER",
            [m.message_id for m in got] == mids and max(sizes or [0]) <= 64
            and len(sizes) >= 2, "sizes %s, %d records" % (sizes, len(got)))
    a = power.ack([m.delivery_tag for m in got[:60]], T(5))
    c.check("restart: ACK 60 of them", a.command == env.ACK
            and len(a.delivery_tags) == 60, describe(a))
    ctx = zmq_ctx(water)
    for cl in (water, power):
        cl.close()
    rc = broker.stop()
    c.check("restart: sluiced exits 0 on SIGTERM", rc == 0, "exit status %s" % rc)
    ep2 = broker.start()
    c.check("restart: broker starts again on the same data directory", True)
    water = sc.DataClient(ctx, keys["water"], ep2["data"])
    power = sc.DataClient(ctx, keys["power"], ep2["data"])
    try:
        a = power.hello(T(5))
        c.check("restart: HELLO after restart", a.command == env.HELLO, describe(a))
        power.credit(100)
        again = [r for r, _ in deliveries(power, 40, 10)]
        c.check("restart: the 40 unacknowledged records come again with the same tags",
                [(m.message_id, m.delivery_tag) for m in again]
                == [(m.message_id, m.delivery_tag) for m in got[60:]], "%d" % len(again))
        a = water.publish("water.v1.MeterReading", recs[:10], T(5))
        c.check("restart: resend of 10 stored ids after the restart -> ACK",
                a.command == env.ACK and list(a.message_ids) == mids[:10], describe(a))
        extra = power.next_unsolicited(env.DELIVER, T(0.5))
        c.check("restart: ... and nothing is queued again (ids remembered across restart)",
                extra is None, describe(extra[0]) if extra else "")
        a = power.ack([m.delivery_tag for m in again], T(5))
        c.check("restart: ACK the rest", a.command == env.ACK
                and len(a.delivery_tags) == len(again) and not a.errors, describe(a))
    finally:
        water.close()
        power.close()


def zmq_ctx(client):
    return client.sock.context


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--tl-broker", required=True,
                    help="the test harness's launcher (tests/lib/tl_broker.c)")
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--phase", choices=["main", "edge", "restart"], default="main",
                    help="main: the whole protocol; edge: records without a subject; "
                         "restart: durability across a broker restart")
    args = ap.parse_args()
    c = Checks()
    run(args, c)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
