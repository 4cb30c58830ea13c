#!/usr/bin/python3
"""mta-probe.py: ask a real MTA whether it relays for a client address.

  mta-probe.py [--port P] SERVER CLIENT [CLIENT...]
      one SMTP session per CLIENT (bound to that source address): EHLO,
      MAIL FROM, RCPT TO an external domain, QUIT.  Prints one line per
      session, "CLIENT STATE CODE TEXT", where STATE is
        accepted  RCPT got 250
        refused   RCPT got 550/554 5.7.1 (the relay denial of both MTAs)
        other     anything else (temporary failure, broken session...)
      Exit status 0 when every session ran, 1 when one could not connect.

  mta-probe.py [--port P] --until STATE --timeout S [--interval I] SERVER CLIENT
      new sessions until one ends in STATE; prints its line plus the
      number of attempts, the seconds it took and the wall-clock time at
      the end of the last session.  Exit 0 if STATE was
      reached within S seconds, 1 if not.

Literal addresses only: no name is ever resolved.  Nothing is ever sent
past RCPT, so nothing can be delivered.  Test helper of drac.
"""
import argparse
import re
import smtplib
import socket
import sys
import time

DENIAL = re.compile(r"^5\.7\.1\b")


def session(server, port, client):
    """Returns (state, code, text) for one SMTP session from client."""
    try:
        s = smtplib.SMTP(timeout=10, local_hostname="probe.invalid",
                         source_address=(client, 0))
        s.connect(server, port)
    except (OSError, smtplib.SMTPException) as e:
        return "error", 0, "cannot connect: %s" % e
    try:
        code, _ = s.ehlo()
        if code != 250:
            return "other", code, "EHLO refused"
        code, msg = s.mail("tester@probe.invalid")
        if code != 250:
            return "other", code, msg.decode(errors="replace")
        code, msg = s.rcpt("user@example.org")
        text = msg.decode(errors="replace").replace("\n", " ")
    except (OSError, smtplib.SMTPException) as e:
        return "other", 0, "session broken: %s" % e
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()
    if code == 250:
        return "accepted", code, text
    if code in (550, 554) and DENIAL.match(text):
        return "refused", code, text
    return "other", code, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--until", choices=("accepted", "refused"))
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("server")
    ap.add_argument("clients", nargs="+")
    a = ap.parse_args()
    socket.setdefaulttimeout(10)

    if a.until is None:
        rc = 0
        for c in a.clients:
            state, code, text = session(a.server, a.port, c)
            print("%s %s %d %s" % (c, state, code, text), flush=True)
            if state == "error":
                rc = 1
        return rc

    if len(a.clients) != 1:
        ap.error("--until takes one client")
    c = a.clients[0]
    t0 = time.monotonic()
    n = 0
    while True:
        n += 1
        state, code, text = session(a.server, a.port, c)
        elapsed = time.monotonic() - t0
        if state == a.until or elapsed > a.timeout:
            break
        time.sleep(a.interval)
    print("%s %s %d %s (attempts=%d elapsed=%.3f at=%.3f)" % (
        c, state, code, text, n, elapsed, time.time()))
    return 0 if state == a.until else 1


if __name__ == "__main__":
    sys.exit(main())
