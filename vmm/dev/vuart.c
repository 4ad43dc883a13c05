/* SPDX-License-Identifier: MIT */
/*
 * The guest-facing console for now: a 16550 at COM1 and QEMU's isa-debug-exit at port 0xf4. The
 * management guest takes devices over in a later issue.
 *
 * COM1 follows the PC16550D data sheet: receiver FIFO with overrun, the four interrupt sources in
 * their priority order, the divisor latch behind LCR.DLAB, loopback, modem status and scratch.
 * The IRQ is modelled as an edge per new condition (platform_set_irq), as an ISA line into the
 * 8259 is: a source that becomes active while enabled raises IRQ 4 once, and the guest's handler
 * reads IIR until it says "no interrupt", as it would on the real part.
 *
 * Output never waits for Keel's console on the exit path: a THR write (or HC_CONSOLE_WRITE) only
 * copies into the VM's output ring, and guest_console_drain() prints from it later, a budget at
 * a time, holding only vm->con_lock (which serializes the VM's line assembly, not a device).
 * While the ring is full the transmitter is busy: LSR.THRE and TEMT clear, so a driver that
 * waits for THRE (as drivers do) is held back instead of losing bytes; THRE comes back, with its
 * interrupt, when the drain makes room.
 */
#include "vmm/dev/vuart.h"

#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "vmm/platform.h"
#include "vmm/public/keel_hypercall.h"

#define COM1 0x3f8
#define DEL  0x7f

/* Register offsets; 0 and 1 are the divisor latch while LCR.DLAB is set. */
#define UART_RBR 0 /* read */
#define UART_THR 0 /* write */
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI	 0x01 /* received data available (and FIFO timeout) */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */
#define IER_MASK 0x0f

/* IIR interrupt IDs, highest priority first (data sheet table IV). */
#define IIR_NONE    0x01
#define IIR_RLS	    0x06
#define IIR_RDA	    0x04
#define IIR_TIMEOUT 0x0c
#define IIR_THRE    0x02
#define IIR_MSR	    0x00
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE     0x01
#define FCR_CLEAR_RX   0x02
#define FCR_DMA	       0x08
#define FCR_TRIG_SHIFT 6
#define FCR_KEPT       (FCR_ENABLE | FCR_DMA | (3u << FCR_TRIG_SHIFT))

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80
#define MSR_NORMAL (MSR_DCD | MSR_DSR | MSR_CTS) /* a terminal is attached and ready */

/* Interrupt sources as a bit set, for telling when one becomes newly active. */
#define SRC_RLS	 0x1
#define SRC_RX	 0x2
#define SRC_THRE 0x4
#define SRC_MSR	 0x8

static const u8 fifo_trigger[4] = { 1, 4, 8, 14 };

static void uart_reset(struct guest_uart *u)
{
	/* No THRE interrupt is pending until the guest enables it (IER write). Cleared in place: a
	 * compound literal this big could be built on the stack first. */
	memset(u, 0, sizeof(*u));
	u->lock = (spinlock_t)SPINLOCK_INIT;
	u->dll = 1; /* 115200 baud */
}

/* The modem inputs: fixed in normal mode, the MCR outputs in loopback (data sheet: DTR->DSR,
 * RTS->CTS, OUT1->RI, OUT2->DCD). */
static u8 msr_status(const struct guest_uart *u)
{
	u8 m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_NORMAL;
	return (u8)(((m & MCR_DTR) ? MSR_DSR : 0) | ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_OUT1) ? MSR_RI : 0) |
		    ((m & MCR_OUT2) ? MSR_DCD : 0));
}

/* The transmitter can take a byte: the output ring has room. */
static bool tx_ready(const struct guest_uart *u)
{
	return u->out_count < GUEST_OUT_RING;
}

/* Appends what fits of b[0..n) to the output ring; returns how much that was. */
static u32 out_push(struct guest_uart *u, const u8 *b, u32 n)
{
	n = MIN(n, (u32)(GUEST_OUT_RING - u->out_count));
	for (u32 i = 0; i < n; i++)
		u->out[(u->out_head + u->out_count + i) % GUEST_OUT_RING] = b[i];
	__atomic_store_n(&u->out_count, (u16)(u->out_count + n), __ATOMIC_RELAXED);
	return n;
}

static u8 sources(const struct guest_uart *u)
{
	u8 s = 0;

	if ((u->ier & IER_RLSI) && u->lsr_errors)
		s |= SRC_RLS;
	if ((u->ier & IER_RDI) && u->rx_count)
		s |= SRC_RX;
	if ((u->ier & IER_THRI) && u->thre_pending && tx_ready(u))
		s |= SRC_THRE;
	if ((u->ier & IER_MSI) && u->msr_delta)
		s |= SRC_MSR;
	return s;
}

static u8 iir_id(const struct guest_uart *u)
{
	u8 s = sources(u);

	if (s & SRC_RLS)
		return IIR_RLS;
	if (s & SRC_RX) {
		/* Below the trigger level only the character timeout reports the data. */
		if ((u->fcr & FCR_ENABLE) && u->rx_count < fifo_trigger[u->fcr >> FCR_TRIG_SHIFT])
			return IIR_TIMEOUT;
		return IIR_RDA;
	}
	if (s & SRC_THRE)
		return IIR_THRE;
	if (s & SRC_MSR)
		return IIR_MSR;
	return IIR_NONE;
}

static void rx_push(struct guest_uart *u, u8 b)
{
	if (u->rx_count == GUEST_UART_FIFO) {
		u->lsr_errors |= LSR_OE; /* the new character is lost, the FIFO kept */
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % GUEST_UART_FIFO] = b;
	u->rx_count++;
}

/* Moves waiting console input into the FIFO while it has room. In loopback the receiver hears
 * only the transmitter, so the input waits. */
static void rx_refill(struct guest_uart *u)
{
	while (u->backlog_count && u->rx_count < GUEST_UART_FIFO && !(u->mcr & MCR_LOOP)) {
		rx_push(u, u->backlog[u->backlog_head]);
		u->backlog_head = (u16)((u->backlog_head + 1) % GUEST_UART_BACKLOG);
		u->backlog_count--;
	}
}

static u8 rx_pop(struct guest_uart *u)
{
	u8 b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u8)((u->rx_head + 1) % GUEST_UART_FIFO);
	u->rx_count--;
	rx_refill(u);
	return b;
}

static void set_mcr(struct guest_uart *u, u8 val)
{
	u8 old = msr_status(u), now, changed;

	u->mcr = val & MCR_MASK;
	now = msr_status(u);
	changed = old ^ now;
	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI;
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
}

static u8 com_read(struct guest_uart *u, unsigned reg)
{
	u8 v, id;

	switch (reg) {
	case UART_RBR:
		return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR:
		id = iir_id(u);
		if (id == IIR_THRE)
			u->thre_pending = false; /* reading IIR while it reports THRE clears it */
		return (u8)(id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0));
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = (u8)((tx_ready(u) ? LSR_THRE : 0) | (u->out_count ? 0 : LSR_TEMT) | (u->rx_count ? LSR_DR : 0) |
			 u->lsr_errors);
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = (u8)(msr_status(u) | u->msr_delta);
		u->msr_delta = 0;
		return v;
	default:
		return u->scr;
	}
}

static void com_write(struct guest_uart *u, unsigned reg, u8 val)
{
	switch (reg) {
	case UART_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
			return;
		}
		/* Into the ring at once: THR is empty again straight away, a new THRE condition (it
		 * shows once the ring has room, if this filled it). */
		u->thre_pending = true;
		if (u->mcr & MCR_LOOP)
			rx_push(u, val);
		else if (!out_push(u, &val, 1) && u->out_lost != ~0u)
			u->out_lost++; /* written while THRE was clear: lost, as on the real part */
		return;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			return;
		}
		/* Enabling the THRE interrupt with THR empty interrupts at once (drivers rely on it). */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		u->ier = val & IER_MASK;
		return;
	case UART_FCR:
		/* Switching the FIFOs on or off, or the clear bit, empties the receiver. */
		if (((val ^ u->fcr) & FCR_ENABLE) || (val & FCR_CLEAR_RX)) {
			u->rx_head = 0;
			u->rx_count = 0;
		}
		u->fcr = val & FCR_KEPT;
		if (!(u->fcr & FCR_ENABLE))
			u->fcr = 0;
		return;
	case UART_LCR:
		u->lcr = val;
		return;
	case UART_MCR:
		set_mcr(u, val);
		return;
	case UART_LSR:
	case UART_MSR:
		return; /* read-only (factory test) */
	default:
		u->scr = val;
		return;
	}
}

/*
 * Guest output reaches the operator's terminal, so only text does: anything a terminal could take
 * as a control is shown as '?' — C0 controls but TAB and LF (CR is dropped), DEL, the C1 controls
 * both as raw bytes 0x80-0x9F (8-bit CSI, OSC, DCS...) and UTF-8 encoded (U+0080-U+009F, which
 * UTF-8 terminals obey), and each ill-formed UTF-8 sequence (one '?' per maximal subpart, as
 * Unicode §3.9 recommends for U+FFFD: stray continuation bytes, overlong forms, surrogates, code
 * points past U+10FFFF, a sequence cut short). Well-formed UTF-8 from U+00A0 up passes unchanged
 * and is never split across two output lines. Callers hold vm->con_lock for all of these, and
 * no device lock: flush_locked() prints.
 */
/* A line into the VM's console log: the oldest bytes go when it is full. */
static void conlog_put(struct vm *vm, const char *s, u32 n)
{
	unsigned long flags = spin_lock_irqsave(&vm->conlog_lock);

	_Static_assert((VM_CONLOG_SIZE & (VM_CONLOG_SIZE - 1)) == 0, "VM_CONLOG_SIZE is a power of two");
	for (u32 i = 0; i < n; i++) {
		vm->conlog[(vm->conlog_head + vm->conlog_count) % VM_CONLOG_SIZE] = s[i];
		if (vm->conlog_count < VM_CONLOG_SIZE)
			vm->conlog_count++;
		else
			vm->conlog_head = (vm->conlog_head + 1) % VM_CONLOG_SIZE;
	}
	spin_unlock_irqrestore(&vm->conlog_lock, flags);
}

u32 guest_console_take(struct vm *vm, void *buf, u32 len)
{
	unsigned long flags = spin_lock_irqsave(&vm->conlog_lock);
	u32 n = MIN(len, vm->conlog_count);
	char *out = buf;

	for (u32 i = 0; i < n; i++)
		out[i] = vm->conlog[(vm->conlog_head + i) % VM_CONLOG_SIZE];
	vm->conlog_head = (vm->conlog_head + n) % VM_CONLOG_SIZE;
	vm->conlog_count -= n;
	spin_unlock_irqrestore(&vm->conlog_lock, flags);
	return n;
}

static void flush_locked(struct vm *vm)
{
	spin_assert_held(&vm->con_lock);
	if (!vm->con_len)
		return;
	vm->con_line[vm->con_len] = '\0';
	pr_info("[%s] %s\n", vm->name, vm->con_line);
	vm->con_line[vm->con_len] = '\n';
	conlog_put(vm, vm->con_line, vm->con_len + 1);
	vm->con_len = 0;
}

/* One character's bytes, on the current line if they fit. */
static void line_put(struct vm *vm, const u8 *b, u32 n)
{
	if (vm->con_len + n > sizeof(vm->con_line) - 1)
		flush_locked(vm);
	for (u32 i = 0; i < n; i++)
		vm->con_line[vm->con_len++] = (char)b[i];
	if (vm->con_len >= sizeof(vm->con_line) - 1)
		flush_locked(vm);
}

static void line_put_replacement(struct vm *vm)
{
	static const u8 q = '?';

	line_put(vm, &q, 1);
}

/* The length of the UTF-8 sequence `lead` starts, or 0 when no well-formed one starts with it
 * (Unicode table 3-7: C0, C1 and F5-FF never appear; 80-BF only continue). */
static u32 utf8_length(u8 lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef)
		return 3;
	if (lead >= 0xf0 && lead <= 0xf4)
		return 4;
	return 0;
}

/* Whether b may follow seq[0..len) (table 3-7: the second byte's range depends on the lead). */
static bool utf8_continues(const u8 *seq, u32 len, u8 b)
{
	if ((b & 0xc0) != 0x80)
		return false;
	if (len > 1)
		return true;
	switch (seq[0]) {
	case 0xe0:
		return b >= 0xa0; /* shorter forms are overlong */
	case 0xed:
		return b <= 0x9f; /* ED A0-BF encode the surrogates D800-DFFF */
	case 0xf0:
		return b >= 0x90; /* overlong */
	case 0xf4:
		return b <= 0x8f; /* past U+10FFFF */
	default:
		return true;
	}
}

/* A sequence that cannot complete: one '?' for it. */
static void seq_abandon(struct vm *vm)
{
	if (vm->con_seq_len) {
		vm->con_seq_len = 0;
		line_put_replacement(vm);
	}
}

static void putc_locked(struct vm *vm, u8 b)
{
	spin_assert_held(&vm->con_lock);
	if (vm->con_seq_len) {
		if (utf8_continues(vm->con_seq, vm->con_seq_len, b)) {
			vm->con_seq[vm->con_seq_len++] = b;
			if (vm->con_seq_len < utf8_length(vm->con_seq[0]))
				return;
			/* U+0080-U+009F (C2 80-C2 9F) are the C1 controls. */
			if (vm->con_seq[0] == 0xc2 && vm->con_seq[1] <= 0x9f)
				line_put_replacement(vm);
			else
				line_put(vm, vm->con_seq, vm->con_seq_len);
			vm->con_seq_len = 0;
			return;
		}
		seq_abandon(vm); /* and b starts afresh */
	}
	if (b >= 0x80) {
		if (utf8_length(b))
			vm->con_seq[vm->con_seq_len++] = b;
		else
			line_put_replacement(vm);
	} else if (b == '\n') {
		flush_locked(vm);
	} else if (b == '\t' || (b >= 0x20 && b != DEL)) {
		line_put(vm, &b, 1);
	} else if (b != '\r') {
		line_put_replacement(vm);
	}
}

u32 guest_console_write(struct vm *vm, const void *buf, u32 len)
{
	struct guest_uart *u = &vm->uart;
	unsigned long flags = spin_lock_irqsave(&u->lock);
	u32 n = out_push(u, buf, len);

	spin_unlock_irqrestore(&u->lock, flags);
	return n;
}

/*
 * Under vm->con_lock: prints at most `budget` bytes from the ring. They are taken out under
 * uart.lock in pieces of at most GUEST_OUT_BUDGET and printed after it is dropped. A piece taken
 * from a full ring makes the transmitter ready again: a new THRE condition, raised as an
 * interrupt if the guest enabled it and the VM still runs (`live`). Returns whether bytes are
 * still waiting.
 */
static bool drain_held(struct vm *vm, u32 budget, bool live)
{
	struct guest_uart *u = &vm->uart;
	u8 buf[GUEST_OUT_BUDGET];
	bool more = true;

	while (budget && more) {
		unsigned long flags = spin_lock_irqsave(&u->lock);
		u32 n = MIN(MIN(budget, (u32)sizeof(buf)), (u32)u->out_count), lost = u->out_lost;
		u8 before = sources(u);
		bool raise;

		for (u32 i = 0; i < n; i++)
			buf[i] = u->out[(u->out_head + i) % GUEST_OUT_RING];
		if (n && !tx_ready(u))
			u->thre_pending = true;
		u->out_head = (u16)((u->out_head + n) % GUEST_OUT_RING);
		__atomic_store_n(&u->out_count, (u16)(u->out_count - n), __ATOMIC_RELAXED);
		u->out_lost = 0;
		more = u->out_count != 0;
		raise = sources(u) & ~before;
		spin_unlock_irqrestore(&u->lock, flags);

		if (raise && live)
			platform_set_irq(vm, GUEST_UART_IRQ);
		for (u32 i = 0; i < n; i++)
			putc_locked(vm, buf[i]);
		if (lost)
			pr_warn("vm %s: %u bytes of COM1 output lost (written while the transmitter was busy)\n",
				vm->name, lost);
		if (!n)
			break;
		budget -= n;
	}
	return more;
}

bool guest_console_drain(struct vm *vm, u32 budget)
{
	bool more;

	if (!__atomic_load_n(&vm->uart.out_count, __ATOMIC_RELAXED))
		return false;
	if (!spin_trylock(&vm->con_lock))
		return true; /* another CPU is printing this VM's output: it goes on, or we come back */
	more = drain_held(vm, budget, true);
	spin_unlock(&vm->con_lock);
	return more;
}

void guest_console_flush(struct vm *vm)
{
	spin_lock(&vm->con_lock);
	/* The VM has ended: its vCPUs have left the scheduler, so no interrupt is raised. */
	drain_held(vm, GUEST_OUT_RING, false); /* bounded: one ring's worth, however the guest writes */
	seq_abandon(vm);
	flush_locked(vm);
	spin_unlock(&vm->con_lock);
}

void guest_console_input(struct vm *vm, const u8 *buf, size_t len)
{
	struct guest_uart *u = &vm->uart;
	unsigned long flags = spin_lock_irqsave(&u->lock);
	u8 before = sources(u);
	bool raise;

	for (size_t i = 0; i < len; i++) {
		if (u->backlog_count == GUEST_UART_BACKLOG) {
			u->lsr_errors |= LSR_OE; /* the guest stopped reading: the rest is lost */
			break;
		}
		u->backlog[(u->backlog_head + u->backlog_count) % GUEST_UART_BACKLOG] = buf[i];
		u->backlog_count++;
		rx_refill(u);
	}
	raise = sources(u) & ~before;
	spin_unlock_irqrestore(&u->lock, flags);
	if (raise)
		platform_set_irq(vm, GUEST_UART_IRQ);
}

static void uart_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	struct guest_uart *u = &vm->uart;
	unsigned reg = (unsigned)(port - COM1) & 7;
	unsigned long flags;
	u8 before, after;

	flags = spin_lock_irqsave(&u->lock);
	if (in) {
		*val = com_read(u, reg);
		spin_unlock_irqrestore(&u->lock, flags);
		return; /* reading only ever clears conditions */
	}
	/* A THR write clears THRE before sending, so the THRE that follows counts as new. */
	if (reg == UART_THR && !(u->lcr & LCR_DLAB))
		u->thre_pending = false;
	before = sources(u);
	com_write(u, reg, (u8)*val);
	rx_refill(u); /* the FIFO may have been cleared, or loopback left */
	after = sources(u);
	spin_unlock_irqrestore(&u->lock, flags);
	if (after & ~before)
		platform_set_irq(vm, GUEST_UART_IRQ);
}

static void debug_exit_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;

	if (in) {
		*val = ~0u;
		return;
	}
	/* What the guest wrote before is printed when the VM has ended (guest_console_flush() in
	 * vmm_vm_finished), not here on the exit path. */
	vm_exit_status(vm, *val);
}

int guest_devices_init(struct vm *vm)
{
	int ret;

	uart_reset(&vm->uart);
	ret = vm_io_register(vm, COM1, 8, uart_io);
	return ret ?: vm_io_register(vm, KEEL_DEBUG_EXIT_PORT, 4, debug_exit_io);
}
