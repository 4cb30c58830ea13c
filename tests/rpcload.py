#!/usr/bin/env python3
"""Send COUNT version-1 adds over UDP, one after the other, and count the
answers by status.

usage: rpcload.py COUNT FIRST_ADDRESS [ACKED_FILE]

Addresses run up from FIRST_ADDRESS (IPv4).  Prints e.g.
"0=1500 2=500" (status=count; none = no answer within 2 s).  With
ACKED_FILE, each address the server acknowledged (status 0) is appended
to it as it is acknowledged, so the list survives the server's death.
"""
import ipaddress
import socket
import struct
import subprocess
import sys


def udp_port(vers):
    out = subprocess.run(["rpcinfo", "127.0.0.1"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f[:3] == ["900101", str(vers), "udp"]:
            p = f[3].rsplit(".", 2)
            return int(p[1]) * 256 + int(p[2])
    sys.exit("rpcload: dracd is not registered")


def main():
    count = int(sys.argv[1])
    first = int(ipaddress.IPv4Address(sys.argv[2]))
    port = udp_port(1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    counts = {}
    acked = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else None
    for i in range(count):
        msg = struct.pack(">11I", i + 1, 0, 2, 900101, 1, 1, 0, 0, 0, 0,
                          first + i)
        s.sendto(msg, ("127.0.0.1", port))
        try:
            while True:
                data = s.recv(200)
                if struct.unpack(">I", data[:4])[0] == i + 1:
                    break
            key = str(struct.unpack(">i", data[-4:])[0])
        except (socket.timeout, ConnectionRefusedError):
            key = "none"
            if acked:
                break
        counts[key] = counts.get(key, 0) + 1
        if acked and key == "0":
            acked.write("%s\n" % ipaddress.IPv4Address(first + i))
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


if __name__ == "__main__":
    main()
