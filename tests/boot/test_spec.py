"""Speculation mitigations at boot (issue 11, item 3): the plan Keel logs for the CPU model, and
SMT siblings left offline where MDS/L1TF reach across threads. The decision table itself is
unit-tested per CPU model (tests/unit/test_spec.c); guests run with every mitigation forced on
in tests/guests (test_svm.py, test_vmx_bochs.py)."""
from keelboot import Boot, spec_plan as spec_lines

SMT4 = "4,sockets=1,cores=2,threads=2"


def test_intel_model_leaves_siblings_offline():
    """QEMU's Skylake-Client enumerates no IA32_ARCH_CAPABILITIES: taken as open to MDS and L1TF,
    so with smt=auto only the first thread of each core starts."""
    boot = Boot("kernel", cpus=SMT4, cpu="intel", cmdline="on_finish=poweroff", timeout=60)
    log = boot.run()
    assert boot.cpus_online() == (2, 4), log[-3000:]
    assert "2 SMT sibling threads left offline" in log, log[-3000:]
    spec = spec_lines(log)
    assert spec["SMT siblings"].startswith("off (offline"), spec
    assert spec["L1D flush before entry"].startswith("on"), spec


def test_smt_on_keeps_siblings_and_says_they_are_exposed():
    boot = Boot("kernel", cpus=SMT4, cpu="intel", cmdline="smt=on on_finish=poweroff", timeout=60)
    log = boot.run()
    assert boot.cpus_online() == (4, 4), log[-3000:]
    assert spec_lines(log)["SMT siblings"] == "on (exposed to MDS/L1TF: smt=on)", log[-3000:]


def test_amd_model_keeps_siblings_unless_told():
    boot = Boot("kernel", cpus=SMT4, cpu="amd", cmdline="on_finish=poweroff", timeout=60)
    log = boot.run()
    assert boot.cpus_online() == (4, 4), log[-3000:]
    spec = spec_lines(log)
    assert spec["RSB fill after exit"] == "on (32 entries)", spec
    assert spec["retpolines"] == "on", spec
    boot = Boot("kernel", cpus=SMT4, cpu="amd", cmdline="smt=off on_finish=poweroff", timeout=60)
    log = boot.run()
    assert boot.cpus_online() == (2, 4), log[-3000:]
    assert "left offline (smt=off" in log, log[-3000:]


def test_spec_off_and_force():
    log = Boot("kernel", cpus=1, cpu="amd", cmdline="spec=off on_finish=poweroff", timeout=60).run()
    spec = spec_lines(log)
    assert "spec=off" in log and spec["retpolines"] == "off" and spec["RSB fill after exit"] == "off", spec
    log = Boot("kernel", cpus=1, cpu="amd", cmdline="spec=force on_finish=poweroff", timeout=60).run()
    spec = spec_lines(log)
    for name in ("retpolines", "return thunk", "VERW before entry", "RSB fill after exit"):
        assert spec[name].startswith("on"), spec
    assert spec["L1D flush before entry"] == "on (software: no IA32_FLUSH_CMD)", spec
