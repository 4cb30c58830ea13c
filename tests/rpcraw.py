#!/usr/bin/env python3
"""Send one hand-built ONC RPC call to dracd and print how it was answered.

usage: rpcraw.py udp|tcp|udp6|tcp6 VERS PROC HEXARGS [--timeout S]

Prints one line: the accept status name, and for SUCCESS the result enum
(e.g. "SUCCESS 0", "GARBAGE_ARGS", "PROC_UNAVAIL"), or "NO_REPLY".
The port comes from rpcbind through rpcinfo, as a client would find it.
"""
import random
import socket
import struct
import subprocess
import sys

PROG = 900101
ACCEPT = {0: "SUCCESS", 1: "PROG_UNAVAIL", 2: "PROG_MISMATCH",
          3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}


def find_port(netid, vers):
    host = "::1" if netid.endswith("6") else "127.0.0.1"
    out = subprocess.run(["rpcinfo", "-T", netid,
                          host, str(PROG), str(vers)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("rpcraw: %s" % (out.stderr.strip() or "no registration"))
    listing = subprocess.run(["rpcinfo", host], capture_output=True,
                             text=True).stdout
    for line in listing.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] == str(PROG) and f[1] == str(vers) \
                and f[2] == netid:
            parts = f[3].rsplit(".", 2)
            return host, int(parts[1]) * 256 + int(parts[2])
    sys.exit("rpcraw: no %s address for version %d" % (netid, vers))


def call_message(vers, proc, args):
    xid = random.getrandbits(32)
    head = struct.pack(">IIIIIIIIII", xid, 0, 2, PROG, vers, proc,
                       0, 0, 0, 0)
    return xid, head + args


def parse_reply(data, xid):
    if len(data) < 12:
        return "SHORT_REPLY"
    rxid, mtype, stat = struct.unpack(">III", data[:12])
    if rxid != xid or mtype != 1:
        return "BAD_REPLY"
    if stat != 0:
        return "DENIED"
    if len(data) < 24:
        return "SHORT_REPLY"
    _flavor, vlen = struct.unpack(">II", data[12:20])
    off = 20 + (vlen + 3) // 4 * 4
    accept = struct.unpack(">I", data[off:off + 4])[0]
    name = ACCEPT.get(accept, "ACCEPT_%d" % accept)
    if accept == 0:
        rest = data[off + 4:]
        if len(rest) >= 4:
            return "%s %d" % (name, struct.unpack(">i", rest[:4])[0])
    return name


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    netid, vers, proc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    args = bytes.fromhex(sys.argv[4])
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 2.0
    host, port = find_port(netid, vers)
    family = socket.AF_INET6 if netid.endswith("6") else socket.AF_INET
    xid, msg = call_message(vers, proc, args)
    if netid.startswith("udp"):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(msg, (host, port))
        try:
            data = s.recv(65536)
        except socket.timeout:
            print("NO_REPLY")
            return
    else:
        s = socket.create_connection((host, port), timeout=timeout)
        s.sendall(struct.pack(">I", 0x80000000 | len(msg)) + msg)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) >= 4:
                    rec = struct.unpack(">I", data[:4])[0] & 0x7fffffff
                    if len(data) >= 4 + rec:
                        break
        except socket.timeout:
            pass
        if len(data) < 4:
            print("NO_REPLY")
            return
        data = data[4:]
    print(parse_reply(data, xid))


if __name__ == "__main__":
    main()
