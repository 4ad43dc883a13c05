# Host unit tests of the scheduler's mechanism (kernel/sched.c) through its seam: fake entities
# behind struct sched_ops on a simulated CPU with a simulated clock (sched_sim.h, forced into
# every source: it redirects the privileged instructions and this_cpu() that sched.c uses).
# KEEL_DEBUG makes sched.c's ASSERT()s live (interrupts off where its contracts say so).
UNIT_TESTS += test_sched_seam
test_sched_seam_SRCS := tests/unit/test_sched_seam.c tests/unit/sched_sim.c tests/unit/shim.c kernel/sched.c \
	kernel/sched_policy.c
test_sched_seam_CFLAGS := -DKEEL_DEBUG -include tests/unit/sched_sim.h
