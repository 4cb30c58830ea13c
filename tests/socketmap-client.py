#!/usr/bin/python3
"""socketmap-client.py: speaks the socketmap protocol to dracd, as
sendmail and Postfix do, and checks what comes back.

ENDPOINT is unix:/path or inet:HOST:PORT (HOST a literal, [::1] allowed).
Each command prints what it saw and exits 0 when dracd behaved, 1 if not.

  query EP KEY...            one request per KEY on one connection;
                             prints "KEY => REPLY"
  expect EP KEY REPLY        the reply to KEY is REPLY ("OK*": any OK)
  raw EP BYTES               sends BYTES (Python escapes allowed), then
                             expects one PERM reply and the connection
                             closed by dracd
  rawkeep EP BYTES           sends BYTES, expects one PERM reply, and then
                             a normal answer on the same connection
  bytewise EP KEY            sends the request one byte per write
                             and expects a reply
  pipeline EP N KEY          N requests in one write; N replies, in order
  slowreader EP N KEY        N requests while not reading, so dracd's
                             writes are partial and it stops reading;
                             then every reply, in order
  many EP N KEY              N connections open at once, each asks twice
  maxconn EP N               N connections are served; one more is closed
                             at once without a reply; after one closes,
                             a new one is served
  idle EP SECONDS MAX        a connection left silent is closed by dracd
                             after SECONDS, within MAX seconds
  survive EP                 a malformed request on one connection does
                             not disturb another connection
Literal addresses only: no name is ever resolved.  Test helper of drac.
"""
import socket
import sys
import threading
import time

TIMEOUT = 10


def endpoint(ep):
    if ep.startswith("unix:"):
        return socket.AF_UNIX, ep[5:]
    if ep.startswith("inet:"):
        host, port = ep[5:].rsplit(":", 1)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return family, (host, int(port))
    raise SystemExit("bad endpoint " + ep)


def connect(ep):
    family, addr = endpoint(ep)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(addr)
    return s


def netstring(data):
    return b"%d:%s," % (len(data), data)


def request(key, name=b"drac"):
    return netstring(name + b" " + key.encode())


class Reader:
    """Reads netstrings from a socket, whatever the reads' sizes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pos = 0

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def reply(self):
        while True:
            colon = self.buf.find(b":", self.pos)
            if colon != -1:
                n = int(self.buf[self.pos:colon])
                end = colon + 1 + n
                if len(self.buf) > end:
                    break
            self.fill()
        if self.buf[end:end + 1] != b",":
            raise ValueError("reply is not a netstring: %r" %
                             self.buf[self.pos:end + 1])
        self.pos = end + 1
        return self.buf[colon + 1:end].decode(errors="replace")

    def closed(self):
        """True if the peer closes with nothing more to say."""
        try:
            return self.sock.recv(1) == b"" and self.pos == len(self.buf)
        except ConnectionResetError:
            return self.pos == len(self.buf)


def ask(sock, reader, key):
    sock.sendall(request(key))
    return reader.reply()


def matches(reply, want):
    if want == "OK*":
        return reply.startswith("OK ") and reply[3:].isdigit()
    return reply == want


def cmd_query(ep, keys):
    s = connect(ep)
    r = Reader(s)
    for k in keys:
        print("%s => %s" % (k, ask(s, r, k)))
    return 0


def cmd_expect(ep, key, want):
    s = connect(ep)
    got = ask(s, Reader(s), key)
    print("%s => %r (want %r)" % (key, got, want))
    return 0 if matches(got, want) else 1


def cmd_raw(ep, data):
    s = connect(ep)
    r = Reader(s)
    s.sendall(data.encode().decode("unicode_escape").encode("latin-1"))
    got = r.reply()
    closed = r.closed()
    print("%r => %r, then %s" % (data, got, "closed" if closed else
                                  "still open"))
    return 0 if got.startswith("PERM ") and closed else 1


def cmd_rawkeep(ep, data):
    s = connect(ep)
    r = Reader(s)
    s.sendall(data.encode())
    got = r.reply()
    after = ask(s, r, "192.0.2.254")
    print("%r => %r, then %r" % (data, got, after))
    return 0 if got.startswith("PERM ") and after == "NOTFOUND " else 1


def cmd_bytewise(ep, key):
    s = connect(ep)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    if s.family != socket.AF_UNIX:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in request(key):
        s.send(bytes([b]))
        time.sleep(0.01)
    got = Reader(s).reply()
    print("%s byte by byte => %r" % (key, got))
    return 0 if got.startswith(("OK ", "NOTFOUND")) else 1


def cmd_pipeline(ep, n, key):
    s = connect(ep)
    r = Reader(s)
    s.sendall(request(key) * n)
    replies = [r.reply() for _ in range(n)]
    same = len(set(replies)) == 1
    print("%d pipelined requests: %d replies, %s: %r" % (
        n, len(replies), "all alike" if same else "DIFFERENT", replies[0]))
    return 0 if same else 1


def cmd_slowreader(ep, n, key):
    s = connect(ep)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    r = Reader(s)
    data = request(key) * n
    sent = [0]

    def writer():
        try:
            s.sendall(data)
            sent[0] = len(data)
        except OSError as e:
            print("writer: %s" % e)

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(1.5)
    stalled = t.is_alive()
    replies = [r.reply() for _ in range(n)]
    t.join()
    ok = sent[0] == len(data) and len(set(replies)) == 1
    print("%d requests (%d bytes) while not reading: writer %s after "
          "1.5 s; %d replies, %s: %r" % (
              n, len(data), "blocked" if stalled else "done", len(replies),
              "all alike" if len(set(replies)) == 1 else "DIFFERENT",
              replies[0]))
    return 0 if ok and stalled else 1


def cmd_many(ep, n, key):
    socks = [connect(ep) for _ in range(n)]
    readers = [Reader(s) for s in socks]
    for s in socks:
        s.sendall(request(key))
    first = [r.reply() for r in readers]
    second = [ask(s, r, key) for s, r in zip(socks, readers)]
    alike = len(set(first + second)) == 1
    print("%d connections open at once, 2 requests each: %s: %r" % (
        n, "all alike" if alike else "DIFFERENT", first[0]))
    return 0 if alike else 1


def cmd_maxconn(ep, n):
    socks = []
    for i in range(n):
        s = connect(ep)
        r = Reader(s)
        got = ask(s, r, "192.0.2.254")
        if got != "NOTFOUND ":
            print("connection %d: %r" % (i + 1, got))
            return 1
        socks.append((s, r))
    print("%d connections open and served" % n)
    extra = connect(ep)
    try:
        extra.sendall(request("192.0.2.254"))
        closed = Reader(extra).closed()
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    print("one more: %s" % ("closed by dracd" if closed else "SERVED"))
    socks[0][0].close()
    time.sleep(0.3)
    again = connect(ep)
    got = ask(again, Reader(again), "192.0.2.254")
    print("after one closed, a new connection: %r" % got)
    return 0 if closed and got == "NOTFOUND " else 1


def cmd_idle(ep, secs, most):
    s = connect(ep)
    r = Reader(s)
    ask(s, r, "192.0.2.254")
    t0 = time.monotonic()
    s.settimeout(most + 5)
    closed = r.closed()
    took = time.monotonic() - t0
    print("idle connection %s after %.1f s (timeout %s s, at most %s)" % (
        "closed" if closed else "NOT closed", took, secs, most))
    return 0 if closed and secs - 0.5 <= took <= most else 1


def cmd_survive(ep):
    good = connect(ep)
    gr = Reader(good)
    before = ask(good, gr, "192.0.2.254")
    bad = connect(ep)
    bad.sendall(b"not a netstring")
    br = Reader(bad)
    perm = br.reply()
    closed = br.closed()
    after = ask(good, gr, "192.0.2.254")
    print("other connection before %r, after %r; bad one got %r, %s" % (
        before, after, perm, "closed" if closed else "open"))
    return 0 if before == after == "NOTFOUND " and closed else 1


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        raise SystemExit(__doc__)
    cmd, ep = a[0], a[1]
    try:
        if cmd == "query":
            return cmd_query(ep, a[2:])
        if cmd == "expect":
            return cmd_expect(ep, a[2], a[3])
        if cmd == "raw":
            return cmd_raw(ep, a[2])
        if cmd == "rawkeep":
            return cmd_rawkeep(ep, a[2])
        if cmd == "bytewise":
            return cmd_bytewise(ep, a[2])
        if cmd == "pipeline":
            return cmd_pipeline(ep, int(a[2]), a[3])
        if cmd == "slowreader":
            return cmd_slowreader(ep, int(a[2]), a[3])
        if cmd == "many":
            return cmd_many(ep, int(a[2]), a[3])
        if cmd == "maxconn":
            return cmd_maxconn(ep, int(a[2]))
        if cmd == "idle":
            return cmd_idle(ep, float(a[2]), float(a[3]))
        if cmd == "survive":
            return cmd_survive(ep)
    except (OSError, EOFError, ValueError) as e:
        print("%s %s: %s" % (cmd, ep, e))
        return 1
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
