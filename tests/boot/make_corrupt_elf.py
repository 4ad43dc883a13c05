"""Writes an ELF64 executable header whose program header table lies outside the file."""
import struct
import sys

ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
# type EXEC, machine x86-64, version, entry, phoff (far past the end), shoff, flags,
# ehsize, phentsize, phnum, shentsize, shnum, shstrndx
header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x100000, 0x100000, 0, 0, 64, 56, 1, 0, 0, 0)
with open(sys.argv[1], "wb") as f:
    f.write(header + bytes(64))
