#!/usr/bin/python3
"""mta-stress.py: a real MTA reads dracd's map while dracd is busy.

Writer threads (3 by default; the tests use 64, because dracd holds a
reply up to a second while the MTA keeps reopening the map; each with
its own addresses) authorize,
renew and re-add thousands of addresses through libdrac's dracauth_str()
as fast as dracd answers, while dracd
expires them again (it must run with a short -e, given here as --ttl).
Meanwhile the main thread loops over real lookups by the MTA's own code,
each round in a fresh process, so each round is a "next session":

  postfix   postmap -c CONFIG_DIR -q - hash:MAP  (keys on stdin)
  sendmail  sendmail -C CF -bt, ".D{client_addr}ADDR" then "Relay_ok x"
            for each address (IPv6 as IPv6:full form, as sendmail does)

and, in a thread of its own, real SMTP sessions: dracctl adds a loopback
client that must relay in the very next session, and now and then a
client never added must not.

After each round every address is judged from what the writer knew:
  must be found    acknowledged before the round started, and the round
                   ended before dracd could have expired it (ttl - 1 s
                   after the acknowledged call started, less a margin)
  must be missing  never added (control addresses), or its last call was
                   acknowledged more than ttl + 2 s before the round began
                   and none is in flight: expiry is due within 2 s
Anything else may go either way.  Every lookup error, miss of a must-find,
or hit of a must-miss is a failure; so is a writer call that fails, and a
run that checked too little to mean anything.  Prints a summary line.
"""
import argparse
import ctypes
import importlib.util
import ipaddress
import os
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARGIN = 0.2


def load_probe():
    spec = importlib.util.spec_from_file_location(
        "mta_probe", os.path.join(HERE, "mta-probe.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def full_v6(text):
    """2001:db8::5 -> 2001:db8:0:0:0:0:0:5 (sendmail's IPV6_FULL form)."""
    return ":".join("%x" % int(g, 16)
                    for g in ipaddress.IPv6Address(text).exploded.split(":"))


class State:
    """What the writer knows; guarded by lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.call_start = {}   # addr -> start of the latest call
        self.acked = {}        # addr -> (start, end) of the latest acked call
        self.adds = 0
        self.renewals = 0
        self.failures = []


def writer(args, st, pool, seed):
    lib = ctypes.CDLL(args.lib)
    lib.dracauth_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_char_p)]
    lib.dracauth_str.restype = ctypes.c_int
    rnd = random.Random(seed)
    fresh = 0
    t_start = time.monotonic()
    msg = ctypes.c_char_p()
    while len(st.failures) < 20:
        # at least --seconds, longer (up to --max-seconds) if dracd is slow
        elapsed = time.monotonic() - t_start
        if elapsed >= args.max_seconds or (
                elapsed >= args.seconds and
                st.adds + st.renewals >= args.min_adds):
            break
        if fresh < len(pool) and (fresh < 20 or rnd.random() < 0.7):
            addr = pool[fresh]
            fresh += 1
            renewal = False
        else:
            addr = pool[rnd.randrange(fresh)]
            renewal = True
        t0 = time.monotonic()
        with st.lock:
            st.call_start[addr] = t0
        rc = lib.dracauth_str(args.server.encode(), addr.encode(), 5000,
                              ctypes.byref(msg))
        t1 = time.monotonic()
        with st.lock:
            if rc == 0:
                st.acked[addr] = (t0, t1)
                if renewal:
                    st.renewals += 1
                else:
                    st.adds += 1
            else:
                text = msg.value.decode(errors="replace") if msg.value else "?"
                st.failures.append("%s: dracauth_str %d %s" % (addr, rc, text))


def smtp_checker(args, st, probe, writers, n, bad):
    """Real SMTP while the writers run: dracctl add, then the very next
    session must relay; now and then a client never added must not."""
    ok = ["127.0.1.%d" % i for i in range(1, 51)]
    never = ["127.0.1.%d" % i for i in range(51, 61)]
    i = 0
    while any(w.is_alive() for w in writers) and len(bad) <= 20:
        c = ok[i % len(ok)]
        i += 1
        n["smtp_tries"] += 1
        r = subprocess.run([args.dracctl, "-q", "add", c],
                           capture_output=True, text=True)
        if r.returncode != 0:
            bad.append("dracctl add %s: %s" % (c, r.stderr.strip()))
            continue
        state, code, text = probe.session("127.0.0.1", args.smtp_port, c)
        if state == "accepted":
            n["smtp_accepted"] += 1
        else:
            bad.append("SMTP from %s right after dracctl add: %s %d %s" %
                       (c, state, code, text))
        if i % 4 == 0:
            c = never[i // 4 % len(never)]
            state, code, text = probe.session("127.0.0.1", args.smtp_port, c)
            if state == "refused":
                n["smtp_refused"] += 1
            else:
                bad.append("SMTP from %s, never added: %s %d %s" %
                           (c, state, code, text))


def lookup_postfix(args, addrs):
    """Returns (set of found addresses, error text or None)."""
    p = subprocess.run(["postmap", "-c", args.postfix_config, "-q", "-",
                        "hash:" + args.map],
                       input="".join(a + "\n" for a in addrs),
                       capture_output=True, text=True, timeout=60)
    found = set()
    for line in p.stdout.splitlines():
        key, _, value = line.partition("\t")
        if not value.isdigit():
            return found, "unexpected postmap output: %r" % line
        found.add(key)
    if p.stderr.strip():
        return found, "postmap: " + p.stderr.strip()[:500]
    return found, None


def lookup_sendmail(args, addrs):
    lines = []
    for a in addrs:
        ca = "IPv6:" + full_v6(a) if ":" in a else a
        lines.append(".D{client_addr}%s\nRelay_ok x\n" % ca)
    p = subprocess.run([args.sendmail, "-C", args.cf, "-bt"],
                       input="".join(lines), capture_output=True, text=True,
                       timeout=60)
    results = []
    for line in (p.stdout + p.stderr).splitlines():
        while line.startswith("> ") or line == ">":
            line = line[2:]
        line = line.strip()
        if not line or line.startswith("ADDRESS TEST MODE") or \
                line.startswith("Enter <ruleset>"):
            continue
        if line.startswith("Relay_ok") and "input: x" in line:
            continue
        # MapInUnsafeDirPath: the map is below a world-writable directory
        # such as /tmp (DRAC_TEST_TMP); sendmail warns, then reads it
        if line.startswith("WARNING: World writable directory "):
            continue
        if line.startswith("Relay_ok") and "returns:" in line:
            results.append(line.split("returns:", 1)[1].strip())
            continue
        return set(), "unexpected sendmail -bt output: %r" % line
    if len(results) != len(addrs):
        return set(), "sendmail -bt gave %d results for %d addresses" % (
            len(results), len(addrs))
    found = set()
    for a, r in zip(addrs, results):
        if r == "RELAY":
            found.add(a)
        elif r != "< @ >":
            return found, "Relay_ok returned %r for %s" % (r, a)
    return found, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mta", choices=("postfix", "sendmail"), required=True)
    ap.add_argument("--lib", required=True, help="libdrac.so.1")
    ap.add_argument("--dracctl", required=True)
    ap.add_argument("--server", default="127.0.0.1", help="dracd's address")
    ap.add_argument("--ttl", type=float, required=True, help="dracd -e")
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--max-seconds", type=float, default=40)
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--v4", type=int, default=3000)
    ap.add_argument("--v6", type=int, default=1000)
    ap.add_argument("--min-adds", type=int, default=2000)
    ap.add_argument("--min-smtp", type=int, default=50,
                    help="SMTP sessions the run must try (a fifth refused)")
    ap.add_argument("--postfix-config")
    ap.add_argument("--map", help="map path without .db")
    ap.add_argument("--sendmail")
    ap.add_argument("--cf")
    ap.add_argument("--smtp-port", type=int, default=25)
    a = ap.parse_args()
    probe = load_probe()

    pool = ["198.18.%d.%d" % (i // 250, i % 250 + 1) for i in range(a.v4)]
    pool += [str(ipaddress.IPv6Address("2001:db8:77::") + i + 1)
             for i in range(a.v6)]
    random.Random(2).shuffle(pool)
    controls = ["198.19.%d.%d" % (i // 250, i % 250 + 1) for i in range(150)]
    controls += [str(ipaddress.IPv6Address("2001:db8:78::") + i + 1)
                 for i in range(50)]
    lookup = lookup_postfix if a.mta == "postfix" else lookup_sendmail

    st = State()
    writers = [threading.Thread(target=writer,
                                args=(a, st, pool[i::a.writers], i + 1))
               for i in range(a.writers)]
    for w in writers:
        w.start()
    bad = []
    n = dict(rounds=0, lookups=0, found_ok=0, missing_ok=0, controls=0,
             smtp_tries=0, smtp_accepted=0, smtp_refused=0)
    smtp = threading.Thread(target=smtp_checker,
                            args=(a, st, probe, writers, n, bad))
    smtp.start()
    rnd = random.Random(3)
    while True:
        finished = not any(w.is_alive() for w in writers)
        with st.lock:
            known = list(st.acked)
        # every address the writer ever touched, and the controls
        queries = known + controls
        rnd.shuffle(queries)
        t_start = time.monotonic()
        try:
            found, err = lookup(a, queries)
        except (OSError, subprocess.SubprocessError) as e:
            found, err = set(), "lookup failed: %s" % e
        t_end = time.monotonic()
        n["rounds"] += 1
        n["lookups"] += len(queries)
        if err:
            bad.append("round %d: %s" % (n["rounds"], err))
        with st.lock:
            acked = dict(st.acked)
            calls = dict(st.call_start)
        missed, first_miss = [], len(bad)
        for addr in known:
            cs, ack = acked[addr]
            # acked before the round: look at the ack as of the start
            if ack < t_start and t_end < cs + a.ttl - 1 - MARGIN:
                if addr in found:
                    n["found_ok"] += 1
                elif not err:
                    missed.append(addr)
                    bad.append("round %d: %s missing, acknowledged %.2f s "
                               "before the lookup started" %
                               (n["rounds"], addr, t_start - ack))
            elif calls[addr] <= cs and t_start > ack + a.ttl + 2:
                if addr not in found:
                    n["missing_ok"] += 1
                else:
                    bad.append("round %d: %s found %.2f s after its last "
                               "acknowledgement (ttl %g s)" %
                               (n["rounds"], addr, t_start - ack, a.ttl))
        if missed and not err:
            # a fresh reader right away: were they in the file?
            again, err2 = lookup(a, missed)
            bad.insert(first_miss, "round %d: a fresh lookup %.2f s after the round "
                       "found %d of the %d missing%s" %
                       (n["rounds"], time.monotonic() - t_end,
                        len(again & set(missed)), len(missed),
                        " (%s)" % err2 if err2 else ""))
        for addr in controls:
            if addr in found:
                bad.append("round %d: %s found, never added" %
                           (n["rounds"], addr))
            else:
                n["controls"] += 1

        if finished or len(bad) > 20:
            break
    for w in writers:
        w.join()
    smtp.join()

    with st.lock:
        n["adds"], n["renewals"] = st.adds, st.renewals
        bad += st.failures
    summary = " ".join("%s=%d" % kv for kv in n.items())
    print("stress %s: %s" % (a.mta, summary))
    for b in bad[:20]:
        print("  FAIL " + b)
    enough = (n["adds"] + n["renewals"] >= a.min_adds and n["rounds"] >= 5
              and n["found_ok"] >= 1000 and n["missing_ok"] >= 100
              and n["smtp_tries"] >= a.min_smtp
              and n["smtp_refused"] >= a.min_smtp // 5)
    if not enough:
        print("  FAIL the run checked too little to mean anything")
    return 0 if enough and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
