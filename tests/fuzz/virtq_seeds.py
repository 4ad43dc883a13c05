#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeds for tests/fuzz/fuzz_virtq.c: well-formed requests, so that the fuzzer starts inside
the devices' request parsing rather than having to find a valid ring first. The input's RAM
bytes start at DRV_RING_BASE (0x1000), where tests/unit/dm_driver.c lays out queue 0: the
descriptor table, then the avail ring. Buffers point into RAM past the input (zeros there: a
block request header of zeros is a read of sector 0)."""
import os
import struct
import sys

RING_BASE = 0x1000
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def seed(features, chain, size=8, extra=b""):
    """features byte, log2(size), no register writes, then the rings of queue 0 at RING_BASE."""
    table = b"".join(chain).ljust(16 * size, b"\0")
    avail = struct.pack("<HHH", 0, 1, 0)  # flags, idx 1, ring[0] = head 0
    return bytes([features, size.bit_length() - 1, 0]) + table + avail + extra


def main(out):
    os.makedirs(out, exist_ok=True)
    req = [desc(0x8000, 16, F_NEXT, 1), desc(0x8010, 1024, F_WRITE | F_NEXT, 2), desc(0x8800, 1, F_WRITE, 0)]
    seeds = {
        "direct": seed(0, req),
        "direct-evidx-msix": seed(2 | 4, req),
        "readable": seed(0, [desc(0x8000, 64, 0, 0)]),
    }
    # An indirect table inside the input, 0x400 bytes past RING_BASE.
    table = b"".join(req)
    body = seed(1, [desc(RING_BASE + 0x400, len(table), F_INDIRECT, 0)])
    seeds["indirect"] = body + b"\0" * (3 + 0x400 - len(body)) + table
    # Queue 1 (the console's transmitq0) one page further: a readable buffer there.
    body = seed(0, req)
    q1 = seed(0, [desc(0x8000, 64, 0, 0)])[3:]
    seeds["queue1"] = body + b"\0" * (3 + 0x1000 - len(body)) + q1
    for name, data in seeds.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
