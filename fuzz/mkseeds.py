#!/usr/bin/env python3
"""fuzz/mkseeds.py: writes the hand-made seed corpora under fuzz/corpus/.

Run from anywhere; rewrites only the seed-*.bin / seed-*.txt files it
names, so reproducers (crash-*, repro-*) committed beside them stay.
The svc input format is described at the top of fuzz/fuzz_rpc.c.
"""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = 900101
UDP, UDP6, TCP, TCP6 = 0, 1, 2, 3
UNIX = 0x20
WAIT = 0x10
# Version 3 modes (flag bits 2-3) and the big table (bit 6).
DENY, MAPFAIL, FULL = 1 << 2, 2 << 2, 3 << 2
BIG = 0x40
WALK = 0x80                          # the harness lists it all after


def u32(*words):
    return b"".join(struct.pack(">I", w & 0xFFFFFFFF) for w in words)


def opaque(data):
    pad = (4 - len(data) % 4) % 4
    return u32(len(data)) + data + b"\0" * pad


def auth_sys(uid=0, gid=0, machine=b"pop.example", gids=()):
    body = u32(0x12345678) + opaque(machine) + u32(uid, gid, len(gids))
    body += u32(*gids) if gids else b""
    return (1, body)


def call(proc, args=b"", vers=1, prog=PROG, xid=0x11223344, cred=(0, b""),
         verf=(0, b""), rpcvers=2, mtype=0):
    return (u32(xid, mtype, rpcvers, prog, vers, proc) +
            u32(cred[0]) + opaque(cred[1]) + u32(verf[0]) + opaque(verf[1]) +
            args)


def v1_add(ip, **kw):
    return call(1, u32(ip), vers=1, **kw)


def v2_add(addr16, **kw):
    # rpcgen's char[16]: sixteen XDR ints (sign-extended chars).
    args = b"".join(struct.pack(">i", b - 256 if b > 127 else b)
                    for b in addr16)
    return call(1, args, vers=2, **kw)


def chunks(*parts):
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


def record(body, last=True):
    return u32((0x80000000 if last else 0) | len(body)) + body


V4 = 0xC0000201                      # 192.0.2.1
V6 = bytes.fromhex("20010db8000000000000000000000001")
MAPPED = bytes.fromhex("00000000000000000000ffffc0000202")
ADD1 = v1_add(V4)
ADD2 = v2_add(V6)

# Version 3, against the harness's stub table (stub_begin in fuzz_rpc.c):
# its seed and the entries every input starts with.
TABLE_SEED = 0x243F6A8885A308D3
STUB_TABLE = ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.2", "10.0.0.1",
              "198.51.100.7", "2001:db8::2", "203.0.113.9", "2001:db8::dead"]
M64 = (1 << 64) - 1


def mix(h):
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & M64
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & M64
    h ^= h >> 33
    return h


def drac_addr(text):
    """struct drac_addr: (family, 16 bytes); mapped IPv6 is IPv4."""
    ip = ipaddress.ip_address(text)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return 2, ip.packed + b"\0" * 12
    return 10, ip.packed


def table_hash(text):
    """table.c's hash_of, which orders a listing."""
    fam, b = drac_addr(text)
    w0 = int.from_bytes(b[:8], "little")
    w1 = int.from_bytes(b[8:], "little")
    return mix(mix(w0 ^ TABLE_SEED ^ fam) ^ w1)


def cursor_after(text):
    """admin.c's cursor: generation, hash, family, address (29 bytes)."""
    fam, b = drac_addr(text)
    gen = ((TABLE_SEED >> 32) ^ TABLE_SEED) & 0xFFFFFFFF
    return struct.pack(">IQB", gen, table_hash(text), fam) + b


LISTING = sorted(STUB_TABLE, key=lambda t: (table_hash(t), drac_addr(t)))


def a3(text):
    """drac3_addr: 4 or 16 bytes as written (mapped stays 16)."""
    return opaque(ipaddress.ip_address(text).packed)


def v3_add(text, ttl=0, **kw):
    return call(1, a3(text) + u32(ttl), vers=3, **kw)


def v3_del(text, **kw):
    return call(2, a3(text), vers=3, **kw)


def v3_query(text, **kw):
    return call(3, a3(text), vers=3, **kw)


def v3_list(cursor=b"", max_=0, **kw):
    return call(4, opaque(cursor) + u32(max_), vers=3, **kw)


def v3_stats(**kw):
    return call(5, vers=3, **kw)


def v3_flush(**kw):
    return call(6, vers=3, **kw)


ADD3 = v3_add("2001:db8::77", 600, xid=0x33000001)


def svc_seeds():
    s = {}
    for name, flags in (("udp", UDP), ("udp6", UDP6)):
        s[f"{name}-v1-null"] = bytes([flags]) + chunks(call(0))
        s[f"{name}-v1-add"] = bytes([flags]) + chunks(ADD1)
        s[f"{name}-v2-add"] = bytes([flags]) + chunks(ADD2)
    s["udp-v2-null"] = bytes([UDP]) + chunks(call(0, vers=2))
    s["udp-v2-add-mapped"] = bytes([UDP]) + chunks(v2_add(MAPPED))
    s["udp-v1-add-perm"] = bytes([UDP | 1 << 2]) + chunks(ADD1)
    s["udp-v1-add-syserr-wait"] = bytes([UDP | 2 << 2 | WAIT]) + chunks(ADD1)
    s["udp-v2-add-wait-three"] = bytes([UDP | WAIT]) + chunks(
        ADD2, v2_add(MAPPED, xid=2), v1_add(0x0A000001, xid=3))
    s["udp-v1-badproc"] = bytes([UDP]) + chunks(call(2))
    s["udp-v3-mismatch"] = bytes([UDP]) + chunks(call(1, u32(V4), vers=3))
    s["udp-noprog"] = bytes([UDP]) + chunks(call(0, prog=100000))
    s["udp-rpcvers3"] = bytes([UDP]) + chunks(call(0, rpcvers=3))
    s["udp-reply-not-call"] = bytes([UDP]) + chunks(call(0, mtype=1))
    s["udp-authsys-v1-add"] = bytes([UDP]) + chunks(
        v1_add(V4, cred=auth_sys(1000, 100, gids=(4, 24))))
    s["udp-authshort"] = bytes([UDP]) + chunks(v1_add(V4, cred=(2, b"ab")))
    s["udp-gss"] = bytes([UDP]) + chunks(
        v1_add(V4, cred=(6, u32(1, 0, 1, 0) + opaque(b""))))
    s["udp-trailing-junk"] = bytes([UDP]) + chunks(ADD1 + b"\xa5" * 64)
    # Truncated: header only, within the argument, within the credential.
    for cut in (12, 16, 24, 40, 41, 42, 43):
        s[f"udp-v1-add-cut{cut}"] = bytes([UDP]) + chunks(ADD1[:cut])
    for cut in (44, 60, 100, 103):
        s[f"udp-v2-add-cut{cut}"] = bytes([UDP]) + chunks(ADD2[:cut])
    # A long request then a short one: stale bytes must not be decoded.
    s["udp-long-then-cut"] = bytes([UDP]) + chunks(
        ADD2, ADD2[:-4], ADD1, ADD1[:-1], ADD2[:44])
    s["udp-authsys-cut"] = bytes([UDP]) + chunks(
        v1_add(V4, cred=auth_sys(gids=tuple(range(16))))[:60])
    s["udp-empty"] = bytes([UDP]) + chunks(b"", b"\0" * 15)

    for name, flags in (("tcp", TCP), ("tcp6", TCP6), ("unix", UNIX)):
        s[f"{name}-v1-add"] = bytes([flags]) + chunks(record(ADD1))
        s[f"{name}-v2-add"] = bytes([flags]) + chunks(record(ADD2))
        s[f"{name}-v1-null"] = bytes([flags]) + chunks(record(call(0)))
    s["tcp-two-records"] = bytes([TCP]) + chunks(
        record(ADD1) + record(v2_add(MAPPED, xid=9)))
    s["tcp-fragments"] = bytes([TCP]) + chunks(
        record(ADD2[:20], last=False) + record(ADD2[20:50], last=False) +
        record(ADD2[50:]))
    s["tcp-split-writes"] = bytes([TCP]) + chunks(
        record(ADD1)[:2], record(ADD1)[2:17], record(ADD1)[17:])
    s["tcp-split-fragments"] = bytes([TCP | WAIT]) + chunks(
        record(ADD2[:40], last=False)[:30],
        record(ADD2[:40], last=False)[30:] + record(ADD2[40:]))
    # libtirpc's non-blocking records (dracd sets RPC_SVC_CONNMAXREC_SET)
    # take each fragment for a whole record: this is two calls to it.
    s["tcp-two-fragments-two-calls"] = bytes([TCP]) + chunks(
        record(v1_add(0x0A000001, xid=1), last=False) +
        record(v1_add(0x0A000002, xid=2)))
    # A NULL call cut after the version: proc comes from stale bytes.
    s["udp-null-then-cut20"] = bytes([UDP]) + chunks(call(0), call(0)[:20])
    s["tcp-truncated-record"] = bytes([TCP]) + chunks(
        u32(0x80000000 | len(ADD1) + 8) + ADD1)
    s["tcp-truncated-header"] = bytes([TCP]) + chunks(b"\x80\x00")
    s["tcp-short-record"] = bytes([TCP]) + chunks(record(ADD1[:-2]))
    s["tcp-fragment-no-last"] = bytes([TCP]) + chunks(
        record(ADD1, last=False))
    s["tcp-zero-fragment"] = bytes([TCP]) + chunks(u32(0x80000000))
    s["tcp-oversize"] = bytes([TCP]) + chunks(u32(0x80000000 | 8193))
    s["tcp-8192"] = bytes([TCP]) + chunks(
        record(ADD1 + b"\0" * (8192 - len(ADD1))))
    s["tcp-many-nulls"] = bytes([TCP]) + chunks(
        b"".join(record(call(0, xid=i)) for i in range(40)))
    s["tcp-bad-then-good"] = bytes([TCP]) + chunks(
        record(call(7)) + record(call(1, u32(V4), vers=9)) + record(ADD1))
    s["unix-authsys-v2-add-wait"] = bytes([UNIX | WAIT]) + chunks(
        record(v2_add(V6, cred=auth_sys(0, 0))))
    s["unix-fragments"] = bytes([UNIX]) + chunks(
        record(ADD1[:8], last=False), record(ADD1[8:]))
    s.update(v3_seeds())
    return {f"seed-{k}.bin": v for k, v in s.items()}


def v3_seeds():
    s = {}
    c1 = cursor_after(LISTING[2])
    c2 = cursor_after(LISTING[5])
    s["udp-v3-add"] = bytes([UDP]) + chunks(v3_add("192.0.2.77", 600))
    s["udp6-v3-add"] = bytes([UDP6]) + chunks(v3_add("2001:db8::77"))
    s["udp-v3-add-renew"] = bytes([UDP]) + chunks(
        v3_add("192.0.2.1", 60), v3_add("2001:db8::2", 0xFFFFFFFF, xid=2))
    s["udp-v3-add-mapped"] = bytes([UDP]) + chunks(
        v3_add("::ffff:192.0.2.78", 30))
    s["udp-v3-add-badlen"] = bytes([UDP]) + chunks(
        call(1, opaque(b"\1\2\3\4\5") + u32(0), vers=3),
        call(1, opaque(b"") + u32(0), vers=3, xid=2),
        call(1, u32(17) + b"\1" * 20 + u32(0), vers=3, xid=3))
    s["udp-v3-add-unusable"] = bytes([UDP]) + chunks(
        v3_add("0.0.0.0"), v3_add("ff02::1", xid=2),
        v3_add("255.255.255.255", xid=3))
    # Truncated adds: the length only, half the address, no TTL.
    for cut in (44, 52, 60, 62):
        s[f"udp-v3-add-cut{cut}"] = bytes([UDP]) + chunks(ADD3[:cut])
    # After a whole add, stale bytes would complete the cut ones.
    s["udp-v3-add-long-then-cut"] = bytes([UDP]) + chunks(
        ADD3, ADD3[:-4], ADD3[:44], v3_add("192.0.2.9", 5)[:-1])
    s["udp-v3-del"] = bytes([UDP]) + chunks(
        v3_del("192.0.2.1"), v3_del("192.0.2.99", xid=2),
        v3_query("192.0.2.1", xid=3))
    s["udp-v3-del-cut"] = bytes([UDP]) + chunks(
        v3_del("2001:db8::1"), v3_del("2001:db8::2")[:50])
    s["udp-v3-query"] = bytes([UDP]) + chunks(
        v3_query("2001:db8::1"), v3_query("203.0.113.9", xid=2),
        v3_query("::ffff:192.0.2.2", xid=3), v3_query("192.0.2.99", xid=4))
    s["udp-v3-list"] = bytes([UDP]) + chunks(v3_list(max_=3))
    s["udp-v3-list-cursor"] = bytes([UDP]) + chunks(v3_list(c1, 3))
    s["udp-v3-list-pages"] = bytes([UDP]) + chunks(
        v3_list(max_=3), v3_list(c1, 3, xid=2), v3_list(c2, 3, xid=3))
    s["udp-v3-list-small"] = bytes([UDP]) + chunks(
        v3_list(c1, 1), v3_list(c1, 2, xid=2), v3_list(max_=1, xid=3))
    s["udp-v3-list-badcursor"] = bytes([UDP]) + chunks(
        v3_list(b"\0" * 29), v3_list(b"xyzzy", xid=2),
        v3_list(b"\0" * 33, xid=3), v3_list(c1[:12] + b"\7" + c1[13:],
                                          xid=4))
    s["udp-v3-list-cut"] = bytes([UDP]) + chunks(
        v3_list(c1, 3), v3_list(c1, 3, xid=2)[:-4],
        v3_list(c1, 3, xid=3)[:60])
    s["udp-v3-stats"] = bytes([UDP]) + chunks(
        v3_add("192.0.2.77"), v3_add("0.0.0.0", xid=2), v3_stats(xid=3))
    s["udp-v3-flush"] = bytes([UDP]) + chunks(
        v3_flush(), v3_stats(xid=2), v3_list(xid=3))
    s["udp-v3-wait"] = bytes([UDP | WAIT]) + chunks(
        v3_add("192.0.2.77"), v3_del("192.0.2.1", xid=2),
        v3_flush(xid=3), v3_query("192.0.2.77", xid=4))
    s["udp-v3-denied"] = bytes([UDP | DENY]) + chunks(
        v3_add("192.0.2.77"), v3_del("192.0.2.1", xid=2),
        v3_query("192.0.2.1", xid=3), v3_list(xid=4), v3_stats(xid=5),
        v3_flush(xid=6))
    s["udp-v3-mapfail"] = bytes([UDP | MAPFAIL]) + chunks(
        v3_add("192.0.2.77"), v3_del("192.0.2.1", xid=2), v3_flush(xid=3),
        v3_stats(xid=4))
    s["udp-v3-full"] = bytes([UDP | FULL]) + chunks(
        v3_add("192.0.2.77"), v3_add("192.0.2.1", xid=2),
        v3_del("10.0.0.1", xid=3), v3_add("192.0.2.77", xid=4))
    s["udp-v3-big"] = bytes([UDP | BIG]) + chunks(
        v3_list(), v3_list(max_=1000, xid=2), v3_flush(xid=3),
        v3_stats(xid=4))
    s["udp-v3-big-mapfail-wait"] = bytes([UDP | BIG | MAPFAIL | WAIT]) + \
        chunks(v3_flush(), v3_del("10.1.0.1", xid=2))
    s["udp-v3-null-badproc"] = bytes([UDP]) + chunks(
        call(0, vers=3), call(7, vers=3, xid=2),
        call(0xFFFFFFFF, vers=3, xid=3))
    s["udp-v3-header-cut"] = bytes([UDP]) + chunks(
        v3_stats(), v3_stats(xid=2)[:36], v3_flush(xid=3)[:20])
    s["udp-v3-authsys"] = bytes([UDP]) + chunks(
        v3_add("192.0.2.77", cred=auth_sys(1000, 100, gids=(4,))))

    for name, flags in (("tcp", TCP), ("tcp6", TCP6), ("unix", UNIX)):
        s[f"{name}-v3-add"] = bytes([flags]) + chunks(record(ADD3))
    s["tcp-v3-all"] = bytes([TCP]) + chunks(b"".join(record(c) for c in (
        v3_add("192.0.2.77", 60, xid=1), v3_query("192.0.2.77", xid=2),
        v3_list(max_=4, xid=3), v3_list(c1, 4, xid=4),
        v3_del("2001:db8::1", xid=5), v3_stats(xid=6), v3_flush(xid=7),
        v3_stats(xid=8), call(9, vers=3, xid=9))))
    s["tcp-v3-big-list"] = bytes([TCP | BIG]) + chunks(
        record(v3_list(xid=1)) + record(v3_flush(xid=2)))
    s["tcp-v3-short-record"] = bytes([TCP]) + chunks(
        record(ADD3[:-4]) + record(v3_list(c1, 2)[:-2]) +
        record(v3_stats(xid=3)))
    s["tcp-v3-wait"] = bytes([TCP | WAIT]) + chunks(
        record(ADD3) + record(v3_del("192.0.2.1", xid=2)))
    s["unix-v3-list-cursor"] = bytes([UNIX]) + chunks(
        record(v3_list(c1, 3)), record(v3_list(c2, 3, xid=2)))
    s["unix-v3-denied"] = bytes([UNIX | DENY]) + chunks(
        record(ADD3) + record(v3_stats(xid=2)))
    s["udp-v3-walk"] = bytes([UDP | WALK]) + chunks(
        v3_add("192.0.2.77", 1), v3_add("2001:db8::77", xid=2),
        v3_del("10.0.0.1", xid=3))
    s["udp-v3-walk-big"] = bytes([UDP | BIG | WALK]) + chunks(
        v3_del("10.1.0.7"))
    s["tcp-v3-walk"] = bytes([TCP | WALK]) + chunks(
        b"".join(record(v3_add(f"192.0.2.{i}", xid=i)) for i in range(100,
                                                                      140)))
    s["udp6-v3-walk-wait"] = bytes([UDP6 | WALK | WAIT]) + chunks(
        v3_add("2001:db8::78"), v3_flush(xid=2), v3_add("2001:db8::79",
                                                        xid=3))
    return s


def allow_seeds():
    lines = {
        "classic": "255.255.255.0 192.0.2.0\n255.255.255.255 127.0.0.1\n",
        "cidr": "192.0.2.0/24\n10.0.0.0/8\n0.0.0.0/0\n",
        "v6": "2001:db8::/32\n::1\nfe80::/10\n::/0\n",
        "mapped": "::ffff:192.0.2.0/120\n::ffff:10.1.2.3\n",
        "bare": "192.0.2.7\n2001:db8::7\n",
        "comments": "# POP servers\n\n   \t\n192.0.2.0/24 # mail1\n#x\n",
        "crlf-tabs": "255.255.0.0\t10.1.0.0\r\n\t::1\r\n",
        "uid": "uid 0\nuid 8\nuser root\n127.0.0.0/8\n",
        "bad-uid": "uid -1\n",
        "bad-user": "user no-such-user-here\n",
        "uid-big": "uid 4294967295\n",
        "reversed": "192.0.2.0 255.255.255.0\n",
        "noncontig": "255.0.255.0 10.0.0.0\n",
        "too-many": "255.255.255.0 192.0.2.0 extra\n",
        "bad-prefix": "192.0.2.0/33\n2001:db8::/129\n",
        "mapped-short": "::ffff:192.0.2.0/95\n",
        "v6-mask": "ffff:: 2001:db8::\n",
        "slash-only": "/\n/24\n1.2.3.4/\n",
        "no-newline": "192.0.2.0/24",
        "long": "1" * 600 + "\n",
        "nul": "192.0.2.1\0garbage\n",
    }
    return {f"seed-{k}.txt": v.encode() for k, v in lines.items()}


def addr_seeds():
    items = [
        "192.0.2.1", "0.0.0.0", "255.255.255.255", "224.0.0.1",
        "::", "::1", "2001:db8::1", "2001:db8:0:0:0:0:0:5",
        "2001:0db8:0000:0000:0000:0000:0000:0005", "::ffff:192.0.2.1",
        "::ffff:c000:201", "ff02::1", "fe80::1%lo",
        "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4",
        "192.0.2.1/32", "2001:db8::1/128", "192.0.2.1/24", "::1/32",
        "192.0.2.1\0", "2001:db8::5/128\0", "1.2.3", "01.2.3.4",
        "hash,nul,cidr", "btree,nonul,nocidr,v6full", "exim", "drac",
        "sendmail", "postfix,v6compressed", "v6both,,cidr", "bogus",
    ]
    out = {}
    for i, t in enumerate(items):
        out[f"seed-{i:02d}.txt"] = t.encode()
    # Raw sockaddrs as libtirpc hands them over.
    out["seed-sockaddr-in.bin"] = struct.pack("<H", 2) + b"\x00\x6f" + \
        bytes([192, 0, 2, 1]) + b"\0" * 8
    out["seed-sockaddr-in6.bin"] = struct.pack("<H", 10) + b"\x00\x6f" + \
        b"\0" * 4 + V6 + b"\0" * 4
    out["seed-sockaddr-mapped.bin"] = struct.pack("<H", 10) + b"\0" * 6 + \
        MAPPED + b"\0" * 4
    return out


def escape_seeds():
    items = [
        b"\xff192.0.2.1", b"\x08hello world", b"\x05\x01\x02", b"\x00x",
        b"\x40key\twith\nnewline", b"\x10back\\slash", b"\x20\x7f\x80\xff",
        b"\xff" + "caf\u00e9 \u2603".encode(), b"\x06abcdefgh",
    ]
    return {f"seed-{i:02d}.bin": v for i, v in enumerate(items)}


def netstring(text):
    data = text.encode() if isinstance(text, str) else text
    return str(len(data)).encode() + b":" + data + b","


def socketmap_seeds():
    # First byte: the read size (low 4 bits + 1); then the MTA's stream.
    reqs = [
        "drac 192.0.2.1", "drac 2001:db8::5",
        "drac ipv6:2001:db8:0:0:0:0:0:5", "drac 2001:db8:0:0:0:0:0:5",
        "drac unknown", "drac client5.test.invalid", "drac IPv6:::1",
        "drac ::FFFF:192.0.2.1", "drac 127.0.0", "drac ", "drac",
    ]
    items = [bytes([0x00]) + b"".join(netstring(r) for r in reqs)]
    items += [bytes([i]) + netstring(r) for i, r in enumerate(reqs)]
    items += [
        b"\x03" + netstring("drac 192.0.2.1") + b"x:",
        b"\x00" + b"1025:" + b"a" * 1025 + b",",
        b"\x0f" + b"1024:drac " + b"a" * 1019 + b",",
        b"\x01" + b"01:a,",
        b"\x02" + b"3:abc;",
        b"\x00" + b"0:," + netstring("drac 192.0.2.1"),
    ]
    return {f"seed-{i:02d}.bin": v for i, v in enumerate(items)}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def dictionary():
    words = {
        "prog": u32(PROG), "v1": u32(1), "v2": u32(2), "call": u32(0),
        "rpcvers": u32(2), "auth_sys": u32(1), "auth_short": u32(2),
        "auth_des": u32(3), "rpcsec_gss": u32(6), "last_frag":
        b"\x80\x00\x00", "rec_add1": u32(0x80000000 | len(ADD1)),
        "rec_add2": u32(0x80000000 | len(ADD2)), "minus1": u32(0xFFFFFFFF),
        "maxrec": u32(0x80002000), "mapped": u32(0, 0, 0xFFFF),
        "pmap": u32(100000),
        "v3": u32(3), "len4": u32(4), "len16": u32(16),
        "cursor_len": u32(29), "cursor_gen": cursor_after(LISTING[0])[:4],
        "cursor": cursor_after(LISTING[0]), "page_max": u32(256),
        "proc_list": u32(4), "proc_stats": u32(5), "proc_flush": u32(6),
    }
    with open(os.path.join(HERE, "svc.dict"), "w") as f:
        f.write("# XDR words of DRAC calls (fuzz/mkseeds.py writes this)\n")
        for k, v in sorted(words.items()):
            f.write(f'{k}="' + "".join(f"\\x{b:02x}" for b in v) + '"\n')
    allow_words = ["uid ", "user ", "root", "/", "::", "::ffff:", "255.",
                   ".0", "#", "\t", "\r\n", "/128", "/32", "/96", " "]
    with open(os.path.join(HERE, "allow.dict"), "w") as f:
        f.write("# dracd.allow tokens (fuzz/mkseeds.py writes this)\n")
        for i, w in enumerate(allow_words):
            esc = "".join(c if c.isalnum() or c in ".:/# " else
                          f"\\x{ord(c):02x}" for c in w)
            f.write(f'w{i}="{esc}"\n')
    sm_words = ["drac ", "ipv6:", "IPv6:", "unknown", "::ffff:", ":", ",",
                "0:", "1024:", "1025:", "OK ", "NOTFOUND ", "PERM ",
                "2001:db8:0:0:0:0:0:5", "192.0.2.1"]
    with open(os.path.join(HERE, "socketmap.dict"), "w") as f:
        f.write("# socketmap requests (fuzz/mkseeds.py writes this)\n")
        for i, w in enumerate(sm_words):
            f.write(f'w{i}="{w}"\n')


if __name__ == "__main__":
    write("svc", svc_seeds())
    write("allow", allow_seeds())
    write("addr", addr_seeds())
    write("escape", escape_seeds())
    write("socketmap", socketmap_seeds())
    dictionary()
