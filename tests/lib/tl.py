"""tl — the test harness for the Python suites (tests/protocol, tests/gateway):
the time scale of slow machines, a check counter, and sluiced started through
the same launcher as the C suites (tests/lib/tl-broker, tl_broker.c)."""
import argparse
import json
import os
import subprocess
import sys
import traceback

SCALE = max(1, int(os.environ.get("SLUICE_TEST_TIME_SCALE", "1") or "1"))


def T(seconds):
    """A wait, multiplied by SLUICE_TEST_TIME_SCALE (an integer, default 1)."""
    return seconds * SCALE


class Checks:
    """One PASS/FAIL line per check; `failed` decides the exit status."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % name, flush=True)
        else:
            self.failed += 1
            # detail: any value (a string, or e.g. the (status, body) of an answer)
            print("FAIL %s%s" % (name, (": %s" % (detail,)) if detail else ""), flush=True)
        return ok

    def crash(self, name, exc):
        self.failed += 1
        print("FAIL %s: exception %s" % (name, exc), flush=True)
        traceback.print_exc(file=sys.stdout)


class Broker:
    """sluiced through tl-broker: `sluiced init` into ROOT/data on the first
    start, `sluiced run` on `bind` / `admin_bind` (default: ephemeral loopback
    ports), log in ROOT/sluiced.log; start() returns tl-broker's JSON line
    (endpoints "data" and "admin", "pid", "broker_pub", "admin_key", and
    "keys": the key file of each member it made)."""

    def __init__(self, tl_broker, sluiced, root, bind=None, admin_bind=None, args=()):
        self.cmd = [tl_broker, "--dir", root, "--sluiced", sluiced]
        if bind:
            self.cmd += ["--bind", bind]
        if admin_bind:
            self.cmd += ["--admin-bind", admin_bind]
        self.args = list(args)
        self.data = os.path.join(root, "data")
        self.log_path = os.path.join(root, "sluiced.log")
        self.proc = None

    def start(self, members=(), policies=()):
        """members: "NAME:ROLE" strings; policies: "OWNER=FILE" strings."""
        cmd = list(self.cmd)
        for m in members:
            cmd += ["--member", m]
        for p in policies:
            cmd += ["--policy", p]
        self.proc = subprocess.Popen(cmd + ["--"] + self.args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.proc = None
            raise RuntimeError("sluiced did not start: %s" % self.log_tail())
        return json.loads(line)

    def signal_stop(self):
        """Asks for the SIGTERM without waiting for the exit."""
        self.proc.stdin.write(b"stop\n")
        self.proc.stdin.flush()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM (unless signal_stop came first); the broker's exit status
        (-1: it had to be killed), or None when it was not started."""
        if self.proc is None:
            return None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        line = self.proc.stdout.readline()
        self.proc.wait(T(30))
        self.proc.stdout.close()
        self.proc = None
        return json.loads(line)["exit"] if line else None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


# ---- policy texts (Python suites: tests/protocol, tests/gateway) ------------
def permit(name, purpose, fields, owner="water", consumer="power",
           records="water.v1.MeterReading", **clauses):
    """The text of one POLICY.md permit block, its keywords aligned as the
    examples write them; `clauses` are the optional lines in the order given
    (subject=..., time=..., consent=...)."""
    lines = [("owner", owner), ("consumer", consumer), ("records", records),
             ("purpose", purpose), ("fields", fields)] + list(clauses.items())
    return 'permit "%s" {\n%s}\n' % (name, "".join("  %-9s %s\n" % kv for kv in lines))


def run_suite(phases, phase_help=None, default=None, options=()):
    """The main of a Python suite. Its command line: --sluiced and --tl-broker
    (the harness's launcher), `options` ((flag, add_argument keywords)), and
    --phase, a key of `phases` (required unless `default` names one). Runs
    phases[phase](args, checks), prints "N passed, M failed", exits 1 on any
    failure, 0 otherwise."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--tl-broker", required=True,
                    help="the test harness's launcher (tests/lib/tl_broker.c)")
    for flag, kw in options:
        ap.add_argument(flag, **kw)
    ap.add_argument("--phase", choices=list(phases), required=default is None, default=default,
                    help=phase_help)
    args = ap.parse_args()
    c = Checks()
    phases[args.phase](args, c)
    print("%d passed, %d failed" % (c.passed, c.failed))
    sys.exit(1 if c.failed else 0)
