/* SPDX-License-Identifier: MIT */
/* Console fan-out with a log ring so consoles that come up late (framebuffer) show early boot. */
#include "kernel/console.h"

#include "kernel/lib/string.h"
#include "kernel/spinlock.h"

#define LOG_RING_SIZE (64 * 1024)

static struct console *consoles;
static spinlock_t console_lock = SPINLOCK_INIT;
static char log_ring[LOG_RING_SIZE];
static u64 log_ring_pos; /* total bytes ever written */

static void ring_append(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_ring[(log_ring_pos + i) % LOG_RING_SIZE] = s[i];
	log_ring_pos += n;
}

void console_register(struct console *c)
{
	unsigned long flags = spin_lock_irqsave(&console_lock);
	u64 start = log_ring_pos > LOG_RING_SIZE ? log_ring_pos - LOG_RING_SIZE : 0;

	for (u64 p = start; p < log_ring_pos;) {
		u64 off = p % LOG_RING_SIZE;
		u64 n = MIN(LOG_RING_SIZE - off, log_ring_pos - p);

		c->write(&log_ring[off], n);
		p += n;
	}
	c->next = consoles;
	consoles = c;
	spin_unlock_irqrestore(&console_lock, flags);
}

void console_write(const char *s, size_t n, bool error)
{
	unsigned long flags = spin_lock_irqsave(&console_lock);

	ring_append(s, n);
	for (struct console *c = consoles; c; c = c->next) {
		if (error && c->set_error)
			c->set_error(true);
		c->write(s, n);
		if (error && c->set_error)
			c->set_error(false);
	}
	spin_unlock_irqrestore(&console_lock, flags);
}

void console_force_unlock(void)
{
	console_lock.owner = console_lock.next;
	spin_debug_forget(&console_lock);
}
