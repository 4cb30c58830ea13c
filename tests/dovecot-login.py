#!/usr/bin/env python3
"""dovecot-login.py: one IMAP or POP3 login from a given source address.

usage: dovecot-login.py [--hold FILE] [--origin ADDR] imap|pop3 \
           SOURCE SERVER PORT USER PASSWORD

Prints "ok SECONDS" when the login succeeded, "refused SECONDS ..." when
the server said no, "error ..." otherwise; SECONDS is the time from
connect to the login reply.  The exit code is 0, 1 or 2 respectively.
--hold FILE keeps the session open (idle, no commands) after a login until
FILE exists, then logs out; it prints "holding SECONDS" once logged in.
--origin ADDR (IMAP only) first sends ID ("x-originating-ip" ADDR), as a
proxy in login_trusted_networks does.
"""
import argparse
import imaplib
import os
import poplib
import socket
import sys
import time

TIMEOUT = 20
HOLD_MAX = 300


def connect(server, port, source):
    return socket.create_connection((server, port), TIMEOUT,
                                    source_address=(source, 0))


class IMAP(imaplib.IMAP4):
    def __init__(self, source, server, port):
        self.source = source
        super().__init__(server, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return connect(self.host, self.port, self.source)


class POP3(poplib.POP3):
    def __init__(self, source, server, port):
        self.source = source
        super().__init__(server, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return connect(self.host, self.port, self.source)


def hold(path, took):
    print("holding %.3f" % took, flush=True)
    deadline = time.monotonic() + HOLD_MAX
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)


def imap_session(args):
    start = time.monotonic()
    conn = IMAP(args.source, args.server, args.port)
    try:
        if args.origin:
            imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
            typ, data = conn._simple_command(
                "ID", '("x-originating-ip" "%s")' % args.origin)
            if typ != "OK":
                return "error ID: %s %s" % (typ, data), 2
        try:
            conn.login(args.user, args.password)
        except imaplib.IMAP4.error as e:
            return "refused %.3f %s" % (time.monotonic() - start, e), 1
        took = time.monotonic() - start
        if args.hold:
            hold(args.hold, took)
        typ, _ = conn.noop()
        if typ != "OK":
            return "error NOOP after login: %s" % typ, 2
        conn.logout()
        return "ok %.3f" % took, 0
    finally:
        if conn.state != "LOGOUT":
            conn.shutdown()


def pop3_session(args):
    start = time.monotonic()
    conn = POP3(args.source, args.server, args.port)
    try:
        conn.user(args.user)
        try:
            conn.pass_(args.password)
        except poplib.error_proto as e:
            return "refused %.3f %s" % (time.monotonic() - start, e), 1
        took = time.monotonic() - start
        if args.hold:
            hold(args.hold, took)
        conn.stat()
        conn.quit()
        return "ok %.3f" % took, 0
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hold")
    p.add_argument("--origin")
    p.add_argument("protocol", choices=("imap", "pop3"))
    p.add_argument("source")
    p.add_argument("server")
    p.add_argument("port", type=int)
    p.add_argument("user")
    p.add_argument("password")
    args = p.parse_args()
    try:
        if args.protocol == "imap":
            out, rc = imap_session(args)
        else:
            out, rc = pop3_session(args)
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as e:
        out, rc = "error %s: %s" % (type(e).__name__, e), 2
    print(out, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
