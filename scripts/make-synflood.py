#!/usr/bin/env python3
"""make-synflood.py - write a pcap of a SYN flood, to check that tcplens's
memory stays bounded when millions of half-open connections come at once.

Usage: scripts/make-synflood.py N FILE

Writes a classic pcap (Ethernet, microsecond timestamps) of N SYNs, one
microsecond apart, each from a source of its own (10.0.0.0/8 addresses,
ports 1024-65535, distinct 4-tuples) to 192.0.2.1:80, with a correct IPv4
checksum and a TCP checksum like a real flood's. Nothing answers them, so
each is an attempt: tcplens holds at most 32,768 attempts at once and evicts
the oldest for every SYN after that; its memory stops growing there. Some 70 bytes
a SYN: ten million make a 700 MB file, so the file is made, not committed.
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n, path = int(sys.argv[1]), sys.argv[2]
    dst = bytes([192, 0, 2, 1])
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    t0 = 1767225600
    with open(path, "wb", buffering=1 << 20) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            src = struct.pack("!I", 0x0A000000 | (i >> 6) & 0xFFFFFF)
            sport = 1024 + (i & 63) * 1000
            seq = (i * 2654435761) & 0xFFFFFFFF
            tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
            tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frame = eth + ip + tcp
            us = t0 * 1000000 + i
            out.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(frame), len(frame)))
            out.write(frame)


if __name__ == "__main__":
    main()
