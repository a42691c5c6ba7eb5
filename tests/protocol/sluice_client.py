"""A sluice protocol client in Python, written from docs/PROTOCOL.md alone.

It speaks the data plane (a CURVE DEALER, one packed sluice.v1.Header frame
plus one frame per record) and the admin plane (one packed AdminRequest frame
each way). The protobuf classes are generated from schemas/ at run time with
`protoc --python_out` into a temporary directory: nothing generated is kept.

Needs the Debian packages python3-zmq, python3-protobuf and protobuf-compiler.
"""

import importlib
import json
import os
import subprocess
import sys
import time

import zmq

PROTO_FILES = ["sluice/v1/options.proto", "sluice/v1/envelope.proto", "sluice/v1/admin.proto",
               "sluice/v1/consent.proto", "water/v1/water.proto", "power/v1/power.proto",
               "health/v1/health.proto", "parking/v1/parking.proto"]

# Filled by load_protos(): the generated modules.
pb = {}

# The default wait for an answer, in seconds (a suite on a slow machine
# scales it).
TIMEOUT_S = 5.0

# ErrorCode names as PROTOCOL.md section 3 writes them, in code order (0..17).
ERROR_NAMES = ("ok bad-frame unknown-command unsupported-version too-big "
               "unknown-record-type not-owner bad-body denied owner-offline timeout "
               "store-full queue-full not-permitted bad-request internal not-found "
               "not-subscribed").split()


def error_name(code):
    code = int(code)
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else "code-%d" % code


def load_protos(schemas_dir, out_dir):
    """Compiles the .proto files of schemas_dir into out_dir and imports them.

    Returns the dict `pb` with keys envelope, admin, consent, water, power,
    health, parking (the generated *_pb2 modules)."""
    os.makedirs(out_dir, exist_ok=True)
    # options.proto (imported by the bureaus' files) imports
    # google/protobuf/descriptor.proto, from libprotobuf-dev
    cmd = ["protoc", "-I", schemas_dir, "-I", "/usr/include", "--python_out", out_dir] + PROTO_FILES
    subprocess.run(cmd, check=True)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    for f in PROTO_FILES[1:]:    # "water/v1/water.proto" -> pb["water"] = water.v1.water_pb2
        pb[f.split("/")[-1][:-len(".proto")]] = importlib.import_module(
            f[:-len(".proto")].replace("/", ".") + "_pb2")
    return pb


def read_key_file(path):
    """Reads a sluice key file (PROTOCOL.md 1.1): `key = value` lines, `#`
    comments. Returns a dict, e.g. {"public-key": "...", "secret-key": "..."}."""
    out = {}
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


class Keys:
    """A member's CURVE key pair (Z85 text) and the broker's public key."""

    def __init__(self, public, secret, server):
        self.public = public
        self.secret = secret
        self.server = server

    @staticmethod
    def generate(server):
        pub, sec = zmq.curve_keypair()
        return Keys(pub.decode(), sec.decode(), server)

    @staticmethod
    def from_file(path, server):
        kv = read_key_file(path)
        return Keys(kv["public-key"], kv["secret-key"], server)


def curve_socket(ctx, keys, endpoint, kind=zmq.DEALER):
    """A CURVE client socket (DEALER unless `kind` says otherwise) connected
    to `endpoint`; heartbeats 1 s / 3 s, no linger."""
    s = ctx.socket(kind)
    s.curve_secretkey = keys.secret.encode()
    s.curve_publickey = keys.public.encode()
    s.curve_serverkey = keys.server.encode()
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.HEARTBEAT_IVL, 1000)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
    s.connect(endpoint)
    return s


class DataClient:
    """One data-plane connection (a DEALER). Requests are matched to their
    answer by seq; broker-initiated messages (DELIVER, NOTICE, QUERY to an
    owner) that arrive meanwhile are kept in `inbox` in arrival order."""

    def __init__(self, ctx, keys, endpoint):
        self.sock = curve_socket(ctx, keys, endpoint)
        self.seq = 0
        self.inbox = []     # [(Header, [bytes])]
        self.stray = []     # answers nobody waited for

    def close(self):
        self.sock.close(0)

    # -- frames ---------------------------------------------------------
    def header(self, command, **fields):
        """A version-1 Header; repeated fields take lists, `parameters` a dict."""
        return pb["envelope"].Header(version=1, command=command, **fields)

    def send_raw(self, frames):
        self.sock.send_multipart(frames)

    def send(self, header, bodies=()):
        if header.seq == 0 and header.command not in (pb["envelope"].REPLY,
                                                      pb["envelope"].ERROR):
            self.seq += 1
            header.seq = self.seq
        self.send_raw([header.SerializeToString()] + list(bodies))
        return header.seq

    def recv(self, timeout_s):
        """One message: (Header, [bodies]) or None on timeout."""
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        frames = self.sock.recv_multipart()
        h = pb["envelope"].Header()
        h.ParseFromString(frames[0])
        return h, frames[1:]

    def _unsolicited(self, h):
        env = pb["envelope"]
        return h.command in (env.DELIVER, env.NOTICE) or \
            (h.command == env.QUERY and h.query_id != 0)

    def _keep(self, m):
        """Files a message nobody is waiting for: inbox or stray."""
        (self.inbox if self._unsolicited(m[0]) else self.stray).append(m)

    def wait_answer(self, seq, timeout_s=None):
        timeout_s = timeout_s or TIMEOUT_S
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer to seq %d in %.1f s" % (seq, timeout_s))
            m = self.recv(left)
            if m is None:
                continue
            if not self._unsolicited(m[0]) and m[0].seq == seq:
                return m
            self._keep(m)

    def request(self, header, bodies=(), timeout_s=None):
        seq = self.send(header, bodies)
        return self.wait_answer(seq, timeout_s)

    def next_unsolicited(self, command, timeout_s=None):
        """The first inbox message with this command (waiting for it)."""
        deadline = time.monotonic() + (timeout_s or TIMEOUT_S)
        while True:
            for i, m in enumerate(self.inbox):
                if m[0].command == command:
                    return self.inbox.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(left)
            if m is not None:
                self._keep(m)

    # -- commands -------------------------------------------------------
    def call(self, command, timeout_s=None, **fields):
        """A request without bodies; returns the answer Header."""
        return self.request(self.header(command, **fields), timeout_s=timeout_s)[0]

    def hello(self, timeout_s=None):
        return self.call(pb["envelope"].HELLO, timeout_s, capabilities=["batch"])

    def ping(self, timeout_s=None):
        return self.call(pb["envelope"].PING, timeout_s)

    def publish(self, record_type, records, timeout_s=None):
        """records: [(RecordMeta, body bytes)]. Returns the answer Header."""
        h = self.header(pb["envelope"].PUBLISH, record_type=record_type,
                        records=[m for m, _ in records])
        return self.request(h, [b for _, b in records], timeout_s)[0]

    def subscribe(self, record_type, purpose, timeout_s=None):
        return self.call(pb["envelope"].SUBSCRIBE, timeout_s, record_type=record_type,
                         purpose=purpose)

    def unsubscribe(self, record_type, purpose, timeout_s=None):
        return self.call(pb["envelope"].UNSUBSCRIBE, timeout_s, record_type=record_type,
                         purpose=purpose)

    def credit(self, n):
        """CREDIT has no answer on success (PROTOCOL.md 5.4)."""
        return self.send(self.header(pb["envelope"].CREDIT, credit=n))

    def ack(self, tags, timeout_s=None):
        return self.call(pb["envelope"].ACK, timeout_s, delivery_tags=list(tags))

    def nack(self, tags, timeout_s=None):
        return self.call(pb["envelope"].NACK, timeout_s, delivery_tags=list(tags))

    def query(self, record_type, subject, purpose, parameters=None,
              timeout_ms=2000, timeout_s=None):
        h = self.header(pb["envelope"].QUERY, record_type=record_type, subject=subject,
                        purpose=purpose, parameters=parameters or {},
                        timeout_ms=timeout_ms)
        if timeout_s is None:
            timeout_s = timeout_ms / 1000.0 + 3.0
        return self.request(h, timeout_s=timeout_s)

    def _to_query(self, command, query_id, records=(), **fields):
        """Owner side: REPLY or ERROR for `query_id`, with a seq of its own."""
        self.seq += 1
        h = self.header(command, seq=self.seq, query_id=query_id,
                        records=[m for m, _ in records], **fields)
        self.send_raw([h.SerializeToString()] + [b for _, b in records])

    def reply(self, query_id, records):
        """Owner side: REPLY {query_id, records} (no answer unless bad)."""
        self._to_query(pb["envelope"].REPLY, query_id, records)

    def refuse_query(self, query_id, code, text):
        env = pb["envelope"]
        self._to_query(env.ERROR, query_id, errors=[env.Error(code=code, text=text)])


class AdminClient:
    """The admin plane: one AdminRequest frame -> one AdminResponse frame."""

    def __init__(self, ctx, keys, endpoint):
        self.sock = curve_socket(ctx, keys, endpoint)
        self.seq = 0

    def close(self):
        self.sock.close(0)

    def _recv(self, timeout_s, what):
        """The next AdminResponse (the last frame), waiting `timeout_s`."""
        if timeout_s <= 0 or not self.sock.poll(int(timeout_s * 1000)):
            raise TimeoutError("%s: no answer" % what)
        return pb["admin"].AdminResponse.FromString(self.sock.recv_multipart()[-1])

    def call_raw(self, frames, timeout_s=10.0):
        self.sock.send_multipart(frames)
        return self._recv(timeout_s, "admin")

    def call(self, command, args=None, data=b"", timeout_s=10.0):
        """Returns (code name, text, result JSON value or None)."""
        self.seq += 1
        req = pb["admin"].AdminRequest(version=1, seq=self.seq, command=command,
                                       args_json=json.dumps(args or {}), data=data)
        deadline = time.monotonic() + timeout_s
        self.sock.send(req.SerializeToString())
        while True:
            r = self._recv(deadline - time.monotonic(), "admin " + command)
            if r.seq == self.seq:
                result = json.loads(r.result_json) if r.result_json else None
                return error_name(r.code), r.text, result
