#!/bin/sh
# keeltest=vmlife (tests/guests/test_mgmt_vm.py): the management VM creates, loads, starts,
# pauses, resumes and destroys VMs at run time with keelctl, reads their consoles and events,
# is refused a VM larger than Keel's free memory, and creates and destroys 200 VMs, after which
# Keel's free memory and its own MemFree must be back. Each check prints "ok NAME" or
# "FAIL NAME: why"; "measure ..." lines carry numbers for the test to check again.
G=/usr/share/keel/guests

# shellcheck source=../lib/keeltest.sh
. /usr/share/keel/lib/keeltest.sh # ok, bad, check, field, wait_console, wait_event
state_of() { keelctl info "$1" --json 2>/dev/null | field state; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
keel_free() { keelctl mem --json | field free_bytes; }
mem_free_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemFree:/ {print $2}' /proc/meminfo
}
: >/tmp/events
keelctl events --json >>/tmp/events # what came before (the module's upcall check)
echo "mem at start: $(keelctl mem)"

# A guest that echoes its COM1 input and exits with PASS (status 0) on "quit".
out=$(keelctl create echo1 --mem 8M --vcpus 1 --kernel $G/echo.elf 2>&1)
echo "create: $out"
check "create echo1" is_state echo1 created
check "list shows echo1 created" sh -c "keelctl list | grep -q ' echo1 *created '"
check "create refuses a taken name" sh -c "! keelctl create echo1 --mem 8M --vcpus 1 --kernel $G/echo.elf 2>/tmp/err && grep -q 'a VM has that name' /tmp/err"
keelctl start echo1 || bad "start echo1"
check "echo1 running" is_state echo1 running
check "list shows echo1 running" sh -c "keelctl list | grep -q ' echo1 *running '"
check "echo1 printed its ready line" wait_console echo1 "echo: ready"
keelctl pause echo1 || bad "pause echo1"
check "echo1 paused" is_state echo1 paused
check "pause refused twice" sh -c "! keelctl pause echo1 2>/dev/null"
# Input while paused is queued; it answers only once resumed.
keelctl input echo1 "while-paused" || bad "input echo1"
sleep 1
keelctl console echo1 >>/tmp/con.echo1
check "a paused VM does not run" sh -c "! grep -q 'echo: while-paused' /tmp/con.echo1"
keelctl resume echo1 || bad "resume echo1"
check "echo1 running again" is_state echo1 running
check "echo1 answered after resume" wait_console echo1 "echo: while-paused"
keelctl input echo1 "quit" || bad "input quit"
check "exit event of echo1" wait_event '"name": "echo1", "event": "exited", "status": 0,'
check "echo1 dead, held" is_state echo1 dead
check "list shows echo1 dead" sh -c "keelctl list | grep -q ' echo1 *dead '"
check "info says it exited with 0" sh -c "keelctl info echo1 --json | grep -q '\"end\": \"exited\", \"status\": 0,'"
check "its last output is readable after its end" wait_console echo1 "PASS: echo"
keelctl info echo1 | sed 's/^/info: /'
keelctl destroy echo1 || bad "destroy echo1"
check "destroy event of echo1" wait_event '"name": "echo1", "event": "destroyed"'
check "echo1 gone from the list" sh -c "! keelctl list | grep -q ' echo1 '"
check "a destroyed VM is unknown" sh -c "! keelctl info echo1 2>/dev/null"

# A guest that resets itself: it stays ended with end=reset, not rebuilt.
keelctl create rst --mem 4M --vcpus 1 --kernel $G/reset.elf >/dev/null || bad "create rst"
keelctl start rst || bad "start rst"
check "reset event of rst" wait_event '"name": "rst", "event": "reset"'
check "rst stays dead after its reset" is_state rst dead
check "info says it reset" sh -c "keelctl info rst --json | grep -q '\"end\": \"reset\"'"
keelctl destroy rst || bad "destroy rst"

# A guest on 2 vCPUs that never ends: destroyed while it runs.
keelctl create idle2 --mem 4M --vcpus 2 --cpus 0-1 --kernel $G/idle.elf --cmdline "cpus=2" >/dev/null || bad "create idle2"
keelctl start idle2 || bad "start idle2"
check "idle2 runs on 2 vCPUs" wait_console idle2 "idle: 2 cpus halted"
keelctl destroy idle2 || bad "destroy idle2"
check "idle2 ended by the destroy" wait_event '"name": "idle2", "event": "crashed", "status": 0, "dropped": 0, "reason": "destroyed by the management VM"'
check "idle2 freed" wait_event '"name": "idle2", "event": "destroyed"'

# A Linux guest, loaded by Keel's bzImage loader from images handed over in 64 KiB pieces: the
# test initramfs's keeltest=bench powers off at once (an ACPI S5: the poweroff event). On CPU 0,
# as every Linux VM in the emulator tests: QEMU's TCG races on CPU 0's SVM state when another CPU
# loads x87 state, which Linux does at each context switch (docs/testing.md).
keelctl create lnx --mem 128M --vcpus 1 --cpus 0 --linux --kernel $G/vmlinuz --initrd $G/initramfs.cpio.gz \
	--cmdline "console=ttyS0 keeltest=bench" >/dev/null || bad "create lnx"
keelctl start lnx || bad "start lnx"
check "poweroff event of the Linux guest" wait_event '"name": "lnx", "event": "poweroff"'
check "the Linux guest ran its init" wait_console lnx "keel-init: bench"
check "info says it powered off" sh -c "keelctl info lnx --json | grep -q '\"end\": \"poweroff\"'"
keelctl destroy lnx || bad "destroy lnx"

# The same from a config file (keelctl create FILE, docs/mgmt.md): created and loaded, runs, and
# a config with a mistake is refused with its line and key, exit code 2, and creates nothing.
cat >/tmp/cfg1 <<EOC
# an echo guest
name = "cfg1"
memory = 8
vcpus = 1
cpus = "1"
kernel = "$G/echo.elf"
EOC
out=$(keelctl create /tmp/cfg1 2>&1)
echo "create from a file: $out"
check "create from a config file" is_state cfg1 created
keelctl start cfg1 || bad "start cfg1"
check "cfg1 printed its ready line" wait_console cfg1 "echo: ready"
keelctl destroy cfg1 || bad "destroy cfg1"
printf 'name = "cfg2"\nmemory = lots\nkernel = "%s/echo.elf"\n' "$G" >/tmp/cfg2
keelctl create /tmp/cfg2 >/tmp/cfg2.err 2>&1
rc=$?
echo "bad config: exit $rc: $(cat /tmp/cfg2.err)"
check "a bad config file is refused with its line and key" sh -c "[ $rc -eq 2 ] && grep -q \"cfg2:2: key 'memory'\" /tmp/cfg2.err"
check "nothing left of the bad config" sh -c "! keelctl info cfg2 2>/dev/null"

# Too large for Keel's free memory: refused, clearly, and nothing left behind.
free=$(keel_free)
big=$((free / 1048576 + 2))
out=$(keelctl create huge --mem ${big}M --vcpus 1 --kernel $G/echo.elf 2>&1)
rc=$?
echo "too large: exit $rc: $out"
check "a VM larger than free memory is refused" sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'not enough free memory in Keel for $big MiB'"
check "nothing left of it" sh -c "! keelctl info huge 2>/dev/null"

# 200 VMs created and destroyed. One cycle first, so that Keel's and Linux's allocators hold
# what they keep (slabs) before the measure starts.
cycle() {
	keelctl create "cyc$1" --mem 4M --vcpus 1 --kernel $G/echo.elf >/dev/null || bad "create cyc$1"
	if [ $(($1 % 20)) -eq 0 ]; then
		# Every 20th runs and ends by itself first (status 0: the input came once it listened).
		keelctl start "cyc$1" || bad "start cyc$1"
		wait_console "cyc$1" "echo: ready" || bad "cyc$1 not ready"
		keelctl input "cyc$1" quit || bad "input cyc$1"
		wait_event "\"name\": \"cyc$1\", \"event\": \"exited\", \"status\": 0," || bad "cyc$1 did not end with 0"
	fi
	keelctl destroy "cyc$1" || bad "destroy cyc$1"
	keelctl events --json >>/tmp/events # Keel keeps 64: take them as they come
}
cycle 0
keelctl events --json >>/tmp/events
kf0=$(keel_free)
mf0=$(mem_free_kb)
i=1
while [ $i -le 200 ]; do
	cycle $i
	i=$((i + 1))
done
keelctl events --json >>/tmp/events
kf1=$(keel_free)
mf1=$(mem_free_kb)
echo "measure keel_free_before=$kf0 keel_free_after=$kf1 memfree_kb_before=$mf0 memfree_kb_after=$mf1"
check "200 VMs: each destroyed (events)" sh -c "[ \$(grep -c '\"event\": \"destroyed\"' /tmp/events) -ge 204 ]"
check "200 VMs: none left in the list" sh -c "! keelctl list | grep -q ' cyc'"
check "200 VMs: Keel's free memory is back" [ "$kf1" = "$kf0" ]
check "200 VMs: the management VM's MemFree is back (within 2 MiB)" sh -c "[ $((mf0 - mf1)) -lt 2048 ]"
echo "mem at end: $(keelctl mem)"
echo "vmlife done"
