# keel-dm's virtio console socket (guests/mgmt/dm/dm_console_sock.c) with a real UNIX socket in
# /tmp: one client at a time, bytes unchanged both ways, input that waits for room.
UNIT_TESTS += test_dm_console_sock
test_dm_console_sock_SRCS := tests/unit/test_dm_console_sock.c guests/mgmt/dm/dm_console_sock.c
test_dm_console_sock_CFLAGS := -Iguests/mgmt/dm
