"""Boot-path matrix: every loader, 1/2/4 CPUs, two memory sizes, an AMD and an Intel CPU model."""
import itertools
import os

import pytest

from keelboot import Boot

PATHS = ["kernel", "bios-iso", "ovmf-iso", "ovmf-efi"]
CPUS = [1, 2, 4]
MEMS = [256, 4096]  # 4 GiB puts RAM above the 4 GiB boundary (PCI hole below it)
MODELS = ["amd", "intel"]
CMDLINE = "on_finish=poweroff"

TIMINGS = os.path.join(os.path.dirname(__file__), "..", "..", "build", "boot-times.txt")


def check_healthy(boot, cpus, mem_mib):
    assert boot.cpus_online() == (cpus, cpus), boot.log[-3000:]
    usable = boot.usable_mib()
    assert usable is not None, boot.log[-3000:]
    # Firmware keeps some RAM (BIOS area, ACPI tables, OVMF's runtime data); never more than given.
    slack = 64 if mem_mib <= 512 else 128
    assert mem_mib - slack <= usable <= mem_mib, f"usable {usable} MiB of {mem_mib} MiB given"
    assert not boot.problems(), boot.problems()
    assert "keel: powering off" in boot.log


@pytest.mark.parametrize("path,cpus,mem,model", list(itertools.product(PATHS, CPUS, MEMS, MODELS)))
def test_boot(path, cpus, mem, model):
    boot = Boot(path, cpus=cpus, mem_mib=mem, cpu=model, cmdline=CMDLINE)
    boot.run()
    check_healthy(boot, cpus, mem)
    with open(TIMINGS, "a") as f:
        f.write(f"{path:9} cpus={cpus} mem={mem:5}M {model:5}: {boot.seconds_to_online:.2f} s to online\n")
