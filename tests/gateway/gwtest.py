"""Shared pieces of the gateway tests: a real sluiced on loopback, members
and policies set up with sluicectl, sluice-gateway processes, local HTTP
servers, and an HTTP client (urllib only). Every process gets a fresh
temporary directory."""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tl import T, Broker  # noqa: E402  (tests/lib/tl.py: the harness)


def wait_for(pred, seconds, step=0.05):
    end = time.time() + T(seconds)
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def serve(handler):
    """A local HTTP server on an ephemeral loopback port, serving `handler`
    (a BaseHTTPRequestHandler class) from a thread; .shutdown() stops it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class City:
    """A broker with its data directory, and the sluicectl that runs it."""

    def __init__(self, tl_broker, sluiced, sluicectl):
        self.sluicectl = sluicectl
        self.root = tempfile.mkdtemp(prefix="sl-gw-")
        self.data = os.path.join(self.root, "data")
        self.keys = os.path.join(self.root, "keys")
        # the harness's launcher; fixed ports, so a restarted broker is
        # found again by the gateways
        self.broker = Broker(tl_broker, sluiced, self.root,
                             bind="tcp://127.0.0.1:%d" % free_port(),
                             admin_bind="tcp://127.0.0.1:%d" % free_port())
        self.start = self.broker.start
        self.stop = self.broker.stop

    def ctl(self, *args, key=None):
        """sluicectl ARGS on the city's data directory (as `key`, default the
        city administrator); its output. Raises when it fails."""
        cmd = [self.sluicectl, "--data", self.data] + (["--key", key] if key else [])
        r = subprocess.run(cmd + list(args), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("sluicectl %s: %s%s" % (" ".join(args), r.stdout.decode(),
                                                       r.stderr.decode()))
        return r.stdout.decode()

    def member(self, name, role="member"):
        self.ctl("keygen", name, "--dir", self.keys)
        self.ctl("member", "add", name, "--role", role,
                 "--pub", os.path.join(self.keys, name + ".pub"))
        return os.path.join(self.keys, name + ".key")

    def policy(self, owner, text):
        path = os.path.join(self.root, owner + ".policy")
        with open(path, "w") as f:
            f.write(text)
        if owner == "city":
            self.ctl("policy", "apply", path, "--owner", "city")
        else:
            key = os.path.join(self.keys, "admin-" + owner + ".key")
            if not os.path.exists(key):
                self.member("admin-" + owner, "admin:" + owner)
            self.ctl("policy", "apply", path, "--owner", owner, key=key)

    def wait_subscribed(self, purpose, seconds=10):
        """Waits until `sluicectl status` shows a subscription for `purpose`
        (gateways subscribe in the background)."""
        return wait_for(lambda: purpose in self.ctl("status"), seconds)

    def audit(self, *filters):
        out = self.ctl("--json", "audit", "query", *filters, "--limit", "1000")
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def accepted(self):
        """Entries accepting a record (AUDIT.md 6.2): its `publish` entry, or
        the first `queue` / `deny` entry its copies got at publish; one per
        message id."""
        seen, out = set(), []
        for e in self.audit("--kind", "publish") + [
                e for k in ("queue", "deny") for e in self.audit("--kind", k)
                if e.get("detail") == "stage=publish"]:
            if e.get("message_id") not in seen:
                seen.add(e.get("message_id"))
                out.append(e)
        return out

    def acked(self, consumer=None):
        """Delivery tags the `ack` entries list (AUDIT.md 6.2: "tags=" then
        N or FIRST-LAST joined by ','), of one consumer or all."""
        n = 0
        for e in self.audit("--kind", "ack"):
            if consumer and e.get("actor") != consumer:
                continue
            for item in e["detail"][len("tags="):].split(","):
                a, _, b = item.partition("-")
                n += int(b) - int(a) + 1 if b else 1
        return n

    def finish(self, c, *gateways):
        """Stops the gateways; when a check failed, prints their logs and the
        broker's; stops the broker and removes everything (kept when
        SLUICE_TEST_KEEP is set)."""
        for g in gateways:
            g.stop()
        if c.failed:
            for g in gateways:
                print("---- %s gateway log\n%s" % (g.name, g.tail()))
            print("---- sluiced log\n" + self.broker.log_tail())
        self.stop()
        if not os.environ.get("SLUICE_TEST_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)


class Gateway:
    def __init__(self, exe, city, name, key, ini_extra="", spool=True):
        self.exe, self.city, self.name = exe, city, name
        self.dir = os.path.join(city.root, "gw-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.token = "token-of-%s-desk-0123456789" % name
        self.ini = os.path.join(self.dir, "gateway.ini")
        with open(self.ini, "w") as f:
            f.write("[gateway]\nlisten = 127.0.0.1:0\ndata = %s\nkey = %s\n" % (city.data, key))
            if spool:
                f.write("spool = %s\n" % os.path.join(self.dir, "spool"))
            f.write("publish_timeout_ms = %d\n" % int(T(5000)))
            f.write(ini_extra)
            f.write("\n[app desk]\ntoken = %s\n" % self.token)
        self.proc = None
        self.url = None
        self.ssl = None     # an ssl.SSLContext for an https:// url

    def start(self, wait_ready=True):
        pf = os.path.join(self.dir, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.log = open(os.path.join(self.dir, "gateway.log"), "ab")
        self.proc = subprocess.Popen([self.exe, "--config", self.ini, "--port-file", pf],
                                     stdout=self.log, stderr=self.log)
        if not wait_for(lambda: os.path.exists(pf), 10):
            raise RuntimeError("gateway %s did not start: %s" % (self.name, self.tail()))
        with open(pf) as f:
            self.url = "http://127.0.0.1:%s" % f.read().strip()
        if wait_ready and not wait_for(lambda: self.get("/readyz")[0] == 200, 10):
            raise RuntimeError("gateway %s not ready: %s" % (self.name, self.tail()))

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` and waits (killing after 20 s); the exit status, or
        None when it was not running."""
        proc, self.proc, rc = self.proc, None, None
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            try:
                rc = proc.wait(T(20))
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
        return rc

    def tail(self, n=3000):
        """The last n bytes of the gateway's log, as text."""
        try:
            with open(os.path.join(self.dir, "gateway.log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, token="default", headers=None, timeout=30):
        h = dict(headers or {})
        if token == "default":
            token = self.token
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else (
                body.encode() if isinstance(body, str) else json.dumps(body).encode())
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=T(timeout), context=self.ssl) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None), dict(r.headers)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                j = json.loads(raw)
            except ValueError:
                j = raw
            return e.code, j, dict(e.headers)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)
