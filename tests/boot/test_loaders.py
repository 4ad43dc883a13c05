"""Loader-specific behaviour: modules through GRUB and keel.efi, and a missing module."""
import os
import subprocess
import tempfile

import pytest

from keelboot import BUILD, Boot, make_image

CORRUPT = os.path.join(BUILD, "tests", "corrupt.elf")
GUEST = os.path.join(BUILD, "keel.elf")  # a multiboot ELF that stands in for a guest kernel


@pytest.mark.parametrize("path", ["bios-iso", "ovmf-efi"])
def test_modules_reach_keel(path):
    boot = Boot(path, cpus=1, cmdline="on_finish=poweroff", modules=[f"{GUEST} guest args", CORRUPT])
    log = boot.run()
    assert "module 0: guest args" in log and "ELF32, multiboot1, multiboot2" in log, log[-3000:]
    assert "module 1 (): corrupt: program header table outside the file; ignored" in log, log[-3000:]
    assert boot.cpus_online() == (1, 1)


def test_missing_module_on_efi():
    work = tempfile.mkdtemp(prefix="keel-missing-")
    img = make_image("efi", "on_finish=poweroff", [f"{GUEST} present"], work)
    cfg = os.path.join(work, "keel.cfg")
    subprocess.run(["mcopy", "-o", "-i", img, "::/EFI/BOOT/keel.cfg", cfg], check=True)
    with open(cfg, "a") as f:
        f.write("module=modules/not-there.elf\n")
    subprocess.run(["mcopy", "-o", "-i", img, cfg, "::/EFI/BOOT/keel.cfg"], check=True)
    boot = Boot("ovmf-efi", cpus=1, image=img)
    log = boot.run()
    assert "not-there.elf" in log and "keel.efi:" in log, log[-3000:]
    # Defined outcome: Keel boots with the modules that exist.
    assert "module 0: present" in log
    assert "module 1" not in log
    assert boot.cpus_online() == (1, 1)
