"""Platform services: TSC calibration against each reference timer, SMP, timer interrupts."""
import re

import pytest

from keelboot import Boot

ICOUNT = ["-icount", "shift=0,sleep=off"]  # 1 instruction = 1 ns: the TSC runs at exactly 1 GHz


@pytest.mark.parametrize("source,name", [("hpet", "HPET"), ("pmtimer", "ACPI PM timer"), ("pit", "PIT")])
def test_tsc_calibration(source, name):
    boot = Boot("kernel", cpus=1, cpu="qemu64", cmdline=f"tsc_source={source} on_finish=poweroff",
                extra=ICOUNT, timeout=60)
    log = boot.run()
    m = re.search(r"tsc: (\d+)\.(\d+) MHz \((.*?)\)", log)
    assert m, log[-2000:]
    mhz = int(m.group(1)) + int(m.group(2)) / 1000
    assert m.group(3) == name
    assert 995 <= mhz <= 1005, f"{name}: {mhz} MHz, expected 1000"


def test_unavailable_source_falls_back():
    # qemu64 has neither CPUID leaf 0x15 nor 0x16.
    boot = Boot("kernel", cpus=1, cpu="qemu64", cmdline="tsc_source=cpuid on_finish=poweroff", timeout=60)
    log = boot.run()
    assert "the chosen tsc_source gives no frequency; trying every source" in log
    assert re.search(r"tsc: \d+\.\d+ MHz \(HPET\)", log)


def test_timestamps_advance_and_can_be_disabled():
    boot = Boot("kernel", cpus=2, cmdline="on_finish=poweroff", timeout=60)
    log = boot.run()
    stamps = [float(x) for x in re.findall(r"^\[\s*(\d+\.\d{6})\]", log, re.M)]
    assert stamps == sorted(stamps) and stamps[-1] > 0
    boot = Boot("kernel", cpus=1, cmdline="timestamps=off on_finish=poweroff", timeout=60)
    log = boot.run()
    assert not re.search(r"^\[\s*\d+\.\d{6}\]", log, re.M)
    assert "keel: 1/1 CPUs online" in log


def test_loglevel_filters():
    boot = Boot("kernel", cpus=1, cmdline="loglevel=debug on_finish=poweroff", timeout=60)
    debug = boot.run()
    boot = Boot("kernel", cpus=1, cmdline="loglevel=err on_finish=poweroff", timeout=60)
    quiet = boot.run()
    assert "mem: [0x" in debug
    assert "mem: [0x" not in quiet and "lapic:" not in quiet
    # The status lines scripts key on are printed at every level.
    assert "keel: 1/1 CPUs online" in quiet and "MiB usable memory" in quiet
