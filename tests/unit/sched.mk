# Host unit tests of the vCPU scheduling policy on a simulated clock.
UNIT_TESTS += test_sched
test_sched_SRCS := tests/unit/test_sched.c tests/unit/shim.c kernel/sched_policy.c
