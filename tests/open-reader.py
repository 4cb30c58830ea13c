#!/usr/bin/python3
"""open-reader.py: a Postfix reader that keeps the map open while dracd
makes it grow still finds every entry that was there before it opened.

Postfix (postmap -q here, smtpd in a session) caches the pages it has
read and the hash's parameters from when it opened the map.  If dracd let
Berkeley DB split buckets in place, entries would move under such a
reader, and it would miss some that were in the file before it opened.

Adds --before addresses, opens one postmap -q - with one lookup, adds
--growth more addresses (enough to make the map outgrow its buckets),
then asks the open postmap, and a fresh one, for every early address.
Fails if either misses one, or if the map did not grow (nothing tested).
"""
import argparse
import ctypes
import subprocess
import sys
import time


def buckets(path):
    out = subprocess.run(["db5.3_stat", "-d", path], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.endswith("\tNumber of hash buckets"):
            return int(line.split("\t")[0])
    raise SystemExit("db5.3_stat printed no bucket count:\n" + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--map", required=True, help="without .db")
    ap.add_argument("--postfix-config", required=True)
    ap.add_argument("--before", type=int, default=300)
    ap.add_argument("--growth", type=int, default=3000)
    a = ap.parse_args()
    lib = ctypes.CDLL(a.lib)
    lib.dracauth_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_char_p)]
    msg = ctypes.c_char_p()

    def add(addr):
        rc = lib.dracauth_str(b"127.0.0.1", addr.encode(), 5000,
                              ctypes.byref(msg))
        if rc != 0:
            raise SystemExit("dracauth_str %s: %d" % (addr, rc))

    early = ["198.18.%d.%d" % (i // 250, i % 250 + 1)
             for i in range(a.before)]
    late = ["198.19.%d.%d" % (i // 250, i % 250 + 1)
            for i in range(a.growth)]
    marks = ["198.20.0.1", "198.20.0.2"]
    for addr in early + marks:
        add(addr)
    time.sleep(1.1)
    first = buckets(a.map + ".db")
    query = ["postmap", "-c", a.postfix_config, "-q", "-", "hash:" + a.map]
    held = subprocess.Popen(query, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    # one lookup: the reader has read the hash's parameters and a page
    held.stdin.write(marks[0] + "\n")
    held.stdin.flush()
    time.sleep(0.5)
    for addr in late:
        add(addr)
    grown = buckets(a.map + ".db")
    held.stdin.write("".join(x + "\n" for x in early) + marks[1] + "\n")
    out, _ = held.communicate(timeout=60)
    keys = [line.split("\t")[0] for line in out.splitlines()]
    held_found = set(keys[keys.index(marks[0]) + 1:]) & set(early) \
        if marks[0] in keys else set()
    fresh = subprocess.run(query, input="".join(x + "\n" for x in early),
                           capture_output=True, text=True, timeout=60)
    fresh_found = {line.split("\t")[0] for line in fresh.stdout.splitlines()}
    print("map buckets %d -> %d; open reader found %d of %d, fresh reader "
          "%d of %d" % (first, grown, len(held_found), len(early),
                        len(fresh_found & set(early)), len(early)))
    ok = True
    if grown <= first:
        print("  FAIL the map did not grow: nothing was tested")
        ok = False
    for name, found in (("open", held_found), ("fresh", fresh_found)):
        missed = sorted(set(early) - found)
        if missed:
            print("  FAIL the %s reader missed %d, e.g. %s" %
                  (name, len(missed), " ".join(missed[:5])))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
