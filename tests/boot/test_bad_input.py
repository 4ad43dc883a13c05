"""Bad input from the user or the loader gives a clear message and a defined outcome."""
import os

from keelboot import BUILD, Boot

CORRUPT = os.path.join(BUILD, "tests", "corrupt.elf")


def test_malformed_cmdline():
    boot = Boot("kernel", cpus=2, cmdline='on_finish=poweroff maxcpus=lots bogus=1 loglevel=loud "unterminated',
                timeout=30)
    log = boot.run()
    # Each complaint on its own line: Keel also echoes the whole command line, so the bare option
    # names would be found even if nothing were checked.
    for complaint in ("cmdline: maxcpus: 'lots' is not a number", "cmdline: unknown option 'bogus'",
                      "cmdline: loglevel: unknown choice 'loud'", "cmdline: unterminated quote in 'unterminated'"):
        assert complaint in log, f"{complaint!r} missing:\n{log[-3000:]}"
    assert "cmdline: 4 problems (see above); those options keep their defaults" in log, log[-3000:]
    # The defaults hold: both CPUs start (maxcpus unset), boot completes.
    assert boot.cpus_online() == (2, 2)
    assert not boot.problems()


def test_corrupt_module_is_rejected():
    boot = Boot("kernel", cpus=1, cmdline="on_finish=poweroff", modules=[CORRUPT], timeout=30)
    log = boot.run()
    assert "corrupt: program header table outside the file; ignored" in log, log[-2000:]
    assert boot.cpus_online() == (1, 1)
    assert "keel: powering off" in log


def test_good_module_is_listed():
    elf = os.path.join(BUILD, "keel.elf")  # any multiboot ELF will do
    boot = Boot("kernel", cpus=1, cmdline="on_finish=poweroff", modules=[elf], timeout=30)
    log = boot.run()
    assert "ELF32, multiboot1, multiboot2" in log, log[-2000:]


def test_maxcpus_limits():
    boot = Boot("kernel", cpus=4, cmdline="maxcpus=2 on_finish=poweroff", timeout=30)
    boot.run()
    assert boot.cpus_online() == (2, 4)


def test_mem_limit():
    boot = Boot("kernel", cpus=1, mem_mib=1024, cmdline="mem=512M on_finish=poweroff", timeout=30)
    boot.run()
    assert 400 <= boot.usable_mib() <= 512
