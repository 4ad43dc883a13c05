"""The framebuffer console: Keel's log is drawn with the build's font on GRUB's framebuffer."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from keelboot import BUILD, make_image

FONT_C = os.path.join(BUILD, "gen", "font8x16.c")
FG = (0xaa, 0xaa, 0xaa)  # FBCON_COLOR_DEFAULT
EXPECTED = "[    0.000000] Keel hypervisor"  # deterministic start of the first log line


def load_font():
    font = {}
    for m in re.finditer(r"\[0x([0-9a-f]{2})\] = \{([^}]*)\}", open(FONT_C).read()):
        font[int(m.group(1), 16)] = [int(x, 16) for x in m.group(2).split(",")]
    return font


def qmp(sock_path, commands):
    s = socket.socket(socket.AF_UNIX)
    for _ in range(100):
        try:
            s.connect(sock_path)
            break
        except OSError:
            time.sleep(0.1)
    f = s.makefile("rw")
    f.readline()
    for cmd in commands:
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        reply = json.loads(f.readline())
        assert "return" in reply, reply
    s.close()


def read_ppm(path):
    data = open(path, "rb").read()
    magic, dims, maxval, pixels = data.split(b"\n", 3)
    assert magic == b"P6" and maxval == b"255"
    w, h = map(int, dims.split())
    return w, h, pixels


def screendump_after_boot(cmdline):
    work = tempfile.mkdtemp(prefix="keel-fb-")
    try:
        iso = make_image("iso", cmdline, (), work)
        sock, serial, ppm = (os.path.join(work, n) for n in ("qmp.sock", "serial.txt", "screen.ppm"))
        qemu = subprocess.Popen(["qemu-system-x86_64", "-accel", "tcg", "-cpu", "qemu64", "-smp", "2",
                                 "-m", "256M", "-cdrom", iso, "-vga", "std", "-display", "none", "-net", "none",
                                 "-serial", f"file:{serial}", "-qmp", f"unix:{sock},server=on,wait=off"],
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if os.path.exists(serial) and "CPUs online" in open(serial, errors="replace").read():
                    break
                time.sleep(0.2)
            time.sleep(0.5)
            qmp(sock, [{"execute": "qmp_capabilities"},
                       {"execute": "screendump", "arguments": {"filename": ppm}}])
            time.sleep(0.5)
            return open(serial, errors="replace").read(), read_ppm(ppm)
        finally:
            qemu.kill()
            qemu.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_log_is_drawn_with_the_font():
    log, (w, h, px) = screendump_after_boot("console=com1")
    assert re.search(r"fbcon: \d+x\d+ \d+ bpp framebuffer", log), log[-2000:]
    font = load_font()
    for col, ch in enumerate(EXPECTED):
        for row in range(16):
            bits = font[ord(ch)][row]
            for x in range(8):
                off = (row * w + col * 8 + x) * 3
                pixel = tuple(px[off:off + 3])
                want = FG if bits & (0x80 >> x) else (0, 0, 0)
                assert pixel == want, f"char {ch!r} row {row} col {x}: {pixel} != {want}"


def test_fbcon_off_leaves_the_screen_alone():
    log, (w, h, px) = screendump_after_boot("console=com1 fbcon=off")
    assert "keel: 2/2 CPUs online" in log
    assert "fbcon:" not in log
    # Nothing of Keel's log in the first text row.
    first_row = px[: 16 * w * 3]
    assert bytes(FG) not in first_row
