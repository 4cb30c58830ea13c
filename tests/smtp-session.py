#!/usr/bin/python3
"""smtp-session.py: one SMTP session with a real MTA, from one client
address, running STEPs in order inside it (RCPT TO an external domain
again and again), to show that a relay decision changes *within* an
open session.

  smtp-session.py [--port P] SERVER CLIENT STEP...

STEPs:
  rcpt=STATE           RCPT TO:<user@example.org> ends in STATE:
                         accepted  250
                         refused   550/554 5.7.1 (relay denied)
                         temp      4xx (temporary failure)
  until=STATE:SECONDS  RCPT every 0.2 s until STATE, for up to SECONDS
  run=COMMAND          runs COMMAND with sh -c; it must exit 0
  at=EPOCH             sleeps until the wall clock reaches EPOCH
                       (fractions allowed; EPOCH may be @FILE, a file
                       holding the time)
Each step prints a line; exit 0 when every step went as expected.
Nothing is sent past RCPT: nothing can be delivered.  Test helper of drac.
"""
import argparse
import re
import smtplib
import subprocess
import sys
import time

DENIAL = re.compile(r"^5\.7\.1\b")


def state_of(code, text):
    if code == 250:
        return "accepted"
    if code in (550, 554) and DENIAL.match(text):
        return "refused"
    if 400 <= code < 500:
        return "temp"
    return "other"


def rcpt(s):
    code, msg = s.rcpt("user@example.org")
    text = msg.decode(errors="replace").replace("\n", " ")
    return state_of(code, text), code, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("server")
    ap.add_argument("client")
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()

    s = smtplib.SMTP(timeout=20, local_hostname="probe.invalid",
                     source_address=(a.client, 0))
    s.connect(a.server, a.port)
    code, _ = s.ehlo()
    if code != 250:
        print("EHLO refused: %d" % code)
        return 1
    code, msg = s.mail("tester@probe.invalid")
    if code != 250:
        print("MAIL refused: %d %s" % (code, msg.decode(errors="replace")))
        return 1
    ok = True
    for step in a.steps:
        kind, _, arg = step.partition("=")
        if kind == "rcpt":
            st, code, text = rcpt(s)
            print("  RCPT from %s: %s (%d %s)" % (a.client, st, code, text),
                  flush=True)
            ok = ok and st == arg
        elif kind == "until":
            want, _, secs = arg.partition(":")
            t0 = time.monotonic()
            n = 0
            while True:
                n += 1
                st, code, text = rcpt(s)
                if st == want or time.monotonic() - t0 > float(secs):
                    break
                time.sleep(0.2)
            print("  RCPT from %s: %s after %d tries, %.2f s, at %.3f "
                  "(%d %s)" % (a.client, st, n, time.monotonic() - t0,
                               time.time(), code, text), flush=True)
            ok = ok and st == want
        elif kind == "run":
            rc = subprocess.call(arg, shell=True)
            print("  ran %s: exit %d" % (arg, rc), flush=True)
            ok = ok and rc == 0
        elif kind == "at":
            if arg.startswith("@"):
                with open(arg[1:]) as f:
                    arg = f.read().strip()
            left = float(arg) - time.time()
            if left > 0:
                time.sleep(left)
            print("  now %.3f" % time.time(), flush=True)
        else:
            print("bad step " + step)
            return 2
        if not ok:
            break
    try:
        s.quit()
    except (OSError, smtplib.SMTPException):
        s.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
