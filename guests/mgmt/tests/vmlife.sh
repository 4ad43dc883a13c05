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
check "the Linux guest ran its init" wait_console lnx "keel-init: bench" 120
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

# on_poweroff, on_reboot, on_crash other than "preserve" (docs/mgmt.md): keelctl create FILE
# leaves a monitor process for the VM (/run/keel/NAME.mon.log, NAME.mon.pid) that destroys or
# restarts it when it ends. $(keelctl create ...) returning at all says the monitor does not hold
# the caller's pipe.
# wait_gone VM [TENTHS]: it leaves the list within TENTHS/10 s (default 30 s).
wait_gone() {
	local i=0
	while [ $i -lt "${2:-300}" ]; do
		keelctl info "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# proc_gone PID: no such process, or a zombie nobody has reaped yet (false if PID is no number).
proc_gone() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	[ ! -e "/proc/$1" ] || grep -q ') Z' "/proc/$1/stat" 2>/dev/null
}
# wait_proc_gone PID [TENTHS]: within TENTHS/10 s (default 10 s).
wait_proc_gone() {
	local i=0
	while [ $i -lt "${2:-100}" ]; do
		proc_gone "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
monlog() { cat "/run/keel/$1.mon.log" 2>/dev/null; }

# on_poweroff = "destroy": the echo guest exits with status 0 on "quit" and goes by itself.
cat >/tmp/po.cfg <<EOC
name = "po"
memory = 8
kernel = "$G/echo.elf"
on_poweroff = "destroy"
EOC
out=$(keelctl create /tmp/po.cfg 2>&1)
echo "create po: $out"
check "on_poweroff destroy: create starts a monitor" sh -c "echo '$out' | grep -q 'created po: id [0-9]*, monitor pid [0-9]* (log: /run/keel/po.mon.log)'"
pid=$(head -n 1 /run/keel/po.mon.pid)
keelctl start po || bad "start po"
wait_console po "echo: ready" || bad "po not ready"
keelctl input po quit || bad "input po"
check "on_poweroff destroy: the VM leaves the list by itself" wait_gone po
check "on_poweroff destroy: the monitor logged it" sh -c "grep -q 'exited with status 0: on_poweroff = \"destroy\"' /run/keel/po.mon.log && grep -q ': destroyed\$' /run/keel/po.mon.log"
check "on_poweroff destroy: its monitor ended" wait_proc_gone "$pid"
monlog po | sed 's/^/po.mon.log: /'

# on_reboot = "restart" for a guest that resets as soon as it runs, with a disk (keel-dm): after
# each reset it is back under a new id, its device model too, until the restart-loop guard
# (KEELCTL_MON_FAST_MAX restarts that each ended within KEELCTL_MON_FAST_S) destroys it. The
# config file is removed after create: the restarts use what create read.
dd if=/dev/zero of=/tmp/rb.img bs=64k count=16 2>/dev/null
cat >/tmp/rb.cfg <<EOC
name = "rb"
memory = 4
kernel = "$G/reset.elf"
disk = [ "/tmp/rb.img,raw,xvda,rw" ]
on_reboot = "restart"
EOC
out=$(keelctl create /tmp/rb.cfg 2>&1)
echo "create rb: $out"
pid=$(head -n 1 /run/keel/rb.mon.pid)
rm -f /tmp/rb.cfg
keelctl start rb || bad "start rb"
# Between a destroy and the create the VM is in no list: the monitor's end is the sign.
ended_for_good() { wait_proc_gone "$1" 1800 && ! keelctl info "$2" >/dev/null 2>&1; }
check "on_reboot restart: the restart-loop guard ends it" ended_for_good "$pid" rb
keelctl events --json >>/tmp/events
monlog rb | sed 's/^/rb.mon.log: /'
ids=$(grep '"name": "rb", "event": "reset"' /tmp/events | sed 's/.*"id": \([0-9]*\),.*/\1/' | sort -u | wc -l)
echo "measure rb_reset_ids=$ids"
check "on_reboot restart: back under a new id after each reset" sh -c "[ $ids -ge 4 ] && [ \$(cat /run/keel/rb.mon.log | grep -c 'restarted as id') -ge 3 ]"
check "on_reboot restart: each restart has its keel-dm" sh -c "[ \$(grep -c 'created rb: id [0-9]*, keel-dm pid' /run/keel/rb.mon.log) -ge 3 ]"
check "on_reboot restart: the guard says why it stopped" sh -c "grep -q 'restart loop: it ended within 10 s of its start 6 times in a row; not restarted, destroyed' /run/keel/rb.mon.log"

# on_crash = "destroy": a triple fault ends the guest, which goes by itself.
printf 'name = "tf"\nmemory = 4\nkernel = "%s/triple_fault.elf"\non_crash = "destroy"\n' "$G" >/tmp/tf.cfg
keelctl create /tmp/tf.cfg >/dev/null || bad "create tf"
keelctl start tf || bad "start tf"
check "on_crash destroy: the crashed VM leaves the list by itself" wait_gone tf
check "on_crash destroy: the monitor says why" sh -c "grep -q 'crashed: .*: on_crash = \"destroy\"' /run/keel/tf.mon.log"
monlog tf | sed 's/^/tf.mon.log: /'

# keelctl destroy of a running VM whose every action is restart: it stops the monitor first, so
# the destroy is no crash to restart; status 0, the VM and its monitor gone for good.
printf 'name = "mi"\nmemory = 4\nkernel = "%s/idle.elf"\non_poweroff = "restart"\non_reboot = "restart"\non_crash = "restart"\n' "$G" >/tmp/mi.cfg
keelctl create /tmp/mi.cfg >/dev/null || bad "create mi"
pid=$(head -n 1 /run/keel/mi.mon.pid)
keelctl start mi || bad "start mi"
wait_console mi "cpus halted" || bad "mi not running"
check "keelctl info shows the monitor and its actions" sh -c "keelctl info mi --json | grep -q '\"monitor\": {\"pid\": $pid, \"on_poweroff\": \"restart\", \"on_reboot\": \"restart\", \"on_crash\": \"restart\"}' && keelctl info mi | grep -q 'monitor pid $pid: on_poweroff restart'"
check "keelctl destroy of a VM with a monitor" keelctl destroy mi
check "its monitor stopped first" sh -c "grep -q 'stopped (SIGTERM)' /run/keel/mi.mon.log"
sleep 2
check "a VM destroyed with its monitor stays gone" sh -c "! keelctl info mi >/dev/null 2>&1"
check "its monitor ended" wait_proc_gone "$pid"

# keelctl destroy racing with a restart: an echo guest with on_poweroff = "restart" is told
# "quit" (it exits with 0) and destroyed 0 to 1 s later, before, while or after its monitor
# destroys, creates and starts it again: status 0 each time, and no VM comes back.
rc_all=0
pids=
for d in 0 0.2 0.4 0.7 1; do
	n=rr${d#*.}
	printf 'name = "%s"\nmemory = 8\nkernel = "%s/echo.elf"\non_poweroff = "restart"\n' "$n" "$G" >/tmp/rr.cfg
	keelctl create /tmp/rr.cfg >/dev/null || bad "create $n"
	pids="$pids $(head -n 1 "/run/keel/$n.mon.pid")"
	keelctl start "$n" || bad "start $n"
	wait_console "$n" "echo: ready" || bad "$n not ready"
	keelctl input "$n" quit || bad "input $n"
	sleep "$d"
	keelctl destroy "$n" 2>/tmp/rr.err
	rc=$?
	echo "destroy $d s after quit: exit $rc $(cat /tmp/rr.err)"
	[ $rc -eq 0 ] || rc_all=$rc
done
check "keelctl destroy during a restart: status 0" [ $rc_all -eq 0 ]
sleep 2
check "keelctl destroy during a restart: no VM comes back" sh -c "! keelctl list | grep -q ' rr'"
ended_all() { for p in $pids; do wait_proc_gone "$p" || return 1; done; }
check "keelctl destroy during a restart: the monitors ended" ended_all
for d in 0 0.2 0.4 0.7 1; do monlog "rr${d#*.}" | sed "s/^/rr${d#*.}.mon.log: /"; done
keelctl events --json >>/tmp/events

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
