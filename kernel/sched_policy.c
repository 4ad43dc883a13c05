/* SPDX-License-Identifier: MIT */
/* Weighted fair share with caps, affinity and balancing (see kernel/sched_policy.h). */
#include "kernel/sched_policy.h"

static struct sched_cap *cap_of(struct sched_entity *e)
{
	return e->group ? e->group : &e->own;
}

bool sched_throttled(const struct sched_entity *e)
{
	return (e->group ? e->group : &e->own)->throttled;
}

static bool eligible(const struct sched_entity *e)
{
	return e->state != SE_BLOCKED && !sched_throttled(e);
}

/*
 * The queue's virtual clock: the least virtual time among its runnable entities, but never
 * going back (as CFS's min_vruntime), so that an entity joining a queue whose others are all
 * blocked is placed where they left off, not at 0 ahead of them.
 */
static void update_min(struct sched_cpu *c)
{
	bool any = false;
	u64 m = 0;

	for (u32 i = 0; i < c->nr; i++) {
		const struct sched_entity *e = c->rq[i];

		if (e->state == SE_BLOCKED)
			continue;
		if (!any || e->vruntime < m)
			m = e->vruntime;
		any = true;
	}
	if (any && m > c->min_vruntime)
		c->min_vruntime = m;
}

/* Charges the running entity of c for the time since it started or was last charged. */
static void charge(struct sched_cpu *c, u64 now)
{
	struct sched_entity *e = c->curr;
	u64 d;

	if (!e || now <= c->curr_start_ns)
		return;
	d = now - c->curr_start_ns;
	e->run_ns += d;
	e->vruntime += d * SCHED_WEIGHT_UNIT / e->weight;
	if (cap_of(e)->pct) {
		struct sched_cap *cap = cap_of(e);

		cap->budget_ns -= (s64)d;
		if (cap->budget_ns <= 0)
			cap->throttled = true;
	}
	c->curr_start_ns = now;
	update_min(c);
}

/*
 * Places an entity that joins queue c (added, woken or moved) with virtual time `vr`: at most
 * one slice of credit behind the queue's clock, and at most two slices of its own run time ahead
 * of it, so that neither sleeping nor history elsewhere turns into a long monopoly or a long wait.
 */
static u64 place(const struct sched *s, const struct sched_cpu *c, const struct sched_entity *e, u64 vr)
{
	u64 floor = c->min_vruntime > s->slice_ns ? c->min_vruntime - s->slice_ns : 0;
	u64 ceil = c->min_vruntime + 2 * s->slice_ns * SCHED_WEIGHT_UNIT / e->weight;

	return MIN(MAX(vr, floor), ceil);
}

u64 sched_load(const struct sched *s, u32 cpu)
{
	u64 load = 0;

	for (u32 i = 0; i < s->cpu[cpu].nr; i++)
		if (s->cpu[cpu].rq[i]->state != SE_BLOCKED)
			load += s->cpu[cpu].rq[i]->weight;
	return load;
}

static s64 period_budget(const struct sched *s, const struct sched_cap *cap)
{
	return (s64)(s->period_ns * cap->pct / 100);
}

/* Once per period per cap (a group's members all point at it): debt is paid off first. */
static void refill(struct sched *s, struct sched_cap *cap)
{
	s64 full = period_budget(s, cap);

	if (!cap->pct || cap->refilled_at == s->period_start_ns)
		return;
	cap->refilled_at = s->period_start_ns;
	cap->budget_ns = MIN(cap->budget_ns + full, full);
	cap->throttled = cap->budget_ns <= 0;
}

void sched_init(struct sched *s, u32 nr_cpus, u64 slice_ns, u64 period_ns, u64 now)
{
	*s = (struct sched){ .nr_cpus = MIN(nr_cpus, (u32)SCHED_MAX_CPUS),
			     .slice_ns = slice_ns,
			     .period_ns = period_ns,
			     .period_start_ns = now };
}

static void enqueue(struct sched *s, struct sched_entity *e, u32 cpu)
{
	struct sched_cpu *c = &s->cpu[cpu];

	c->rq[c->nr++] = e;
	e->cpu = (s32)cpu;
}

static void dequeue(struct sched *s, struct sched_entity *e)
{
	struct sched_cpu *c = &s->cpu[e->cpu];

	for (u32 i = 0; i < c->nr; i++) {
		if (c->rq[i] == e) {
			c->rq[i] = c->rq[--c->nr];
			break;
		}
	}
	e->cpu = -1;
}

int sched_add(struct sched *s, struct sched_entity *e, u64 now)
{
	int best = -1;
	u64 best_load = 0;
	bool allowed = false;

	if (!e->weight)
		return -EINVAL;
	for (u32 cpu = 0; cpu < s->nr_cpus; cpu++) {
		u64 load;

		if (!(e->affinity & (1ull << cpu)))
			continue;
		allowed = true;
		if (s->cpu[cpu].nr >= SCHED_MAX_PER_CPU)
			continue;
		load = sched_load(s, cpu);
		if (best < 0 || load < best_load) {
			best = (int)cpu;
			best_load = load;
		}
	}
	if (best < 0)
		return allowed ? -ENOSPC : -EINVAL;
	/* Start level with the others: no credit, no debt. */
	update_min(&s->cpu[best]);
	e->vruntime = s->cpu[best].min_vruntime;
	e->state = SE_RUNNABLE;
	e->own = (struct sched_cap){ .pct = e->cap_pct };
	if (!e->group || !e->group->refilled_at) {
		struct sched_cap *cap = cap_of(e);

		cap->budget_ns = period_budget(s, cap) - (s64)cap->charged_ns;
		cap->throttled = cap->pct && cap->budget_ns <= 0;
		cap->refilled_at = s->period_start_ns;
	}
	cap_of(e)->active++;
	e->last_ns = now;
	enqueue(s, e, (u32)best);
	return 0;
}

void sched_remove(struct sched *s, struct sched_entity *e, u64 now)
{
	struct sched_cpu *c;

	if (e->cpu < 0)
		return;
	c = &s->cpu[e->cpu];
	if (c->curr == e) {
		charge(c, now);
		c->curr = NULL;
	}
	if (e->state != SE_BLOCKED)
		cap_of(e)->active--;
	dequeue(s, e);
}

struct sched_entity *sched_pick(struct sched *s, u32 cpu, u64 now)
{
	struct sched_cpu *c = &s->cpu[cpu];
	struct sched_entity *next = NULL;

	charge(c, now);
	if (c->curr) {
		c->curr->state = SE_RUNNABLE;
		c->curr->last_ns = now;
		c->curr = NULL;
	}
	update_min(c);
	for (u32 i = 0; i < c->nr; i++) {
		struct sched_entity *e = c->rq[i];

		if (eligible(e) &&
		    (!next || e->vruntime < next->vruntime || (e->vruntime == next->vruntime && e->id < next->id)))
			next = e;
	}
	if (next) {
		/* Charged from when the CPU stopped working for another entity, or from when `next`
		 * became runnable if that was later. */
		u64 start =
		    c->uncharged_since && c->uncharged_since < now ? MAX(c->uncharged_since, next->last_ns) : now;

		next->wait_ns += start - next->last_ns;
		next->state = SE_RUNNING;
		c->curr = next;
		c->curr_start_ns = start;
	}
	c->uncharged_since = 0; /* charged to `next`, or idle time */
	return next;
}

void sched_cpu_woke(struct sched *s, u32 cpu, u64 now)
{
	struct sched_cpu *c = &s->cpu[cpu];

	if (!c->curr)
		c->uncharged_since = now;
}

u64 sched_deadline(const struct sched *s, u32 cpu)
{
	const struct sched_cpu *c = &s->cpu[cpu];
	u64 run = s->slice_ns;

	if (!c->curr)
		return ~0ull;
	/* The budget left is split among the group's members that compete for it now, so that
	 * those running at once on several CPUs do not each spend all of it. */
	if (cap_of(c->curr)->pct)
		run = MIN(run, (u64)MAX(cap_of(c->curr)->budget_ns, (s64)0) / MAX(cap_of(c->curr)->active, 1u));
	return c->curr_start_ns + run;
}

void sched_block(struct sched *s, u32 cpu, u64 now)
{
	struct sched_cpu *c = &s->cpu[cpu];

	charge(c, now);
	if (!c->curr)
		return;
	c->curr->state = SE_BLOCKED;
	cap_of(c->curr)->active--;
	c->curr->last_ns = now;
	c->curr = NULL;
	c->uncharged_since = now;
}

int sched_wake(struct sched *s, struct sched_entity *e, u64 now)
{
	struct sched_cpu *c;

	if (e->state != SE_BLOCKED || e->cpu < 0)
		return -1;
	c = &s->cpu[e->cpu];
	charge(c, now);
	e->block_ns += now - e->last_ns;
	/* Sleeping earns at most one slice of credit against the CPU's others. */
	update_min(c);
	e->vruntime = place(s, c, e, e->vruntime);
	e->state = SE_RUNNABLE;
	cap_of(e)->active++;
	e->last_ns = now;
	if (sched_throttled(e))
		return -1;
	if (!c->curr || c->curr->vruntime > e->vruntime)
		return e->cpu;
	return -1;
}

int sched_boost(struct sched *s, struct sched_entity *e, u64 now)
{
	struct sched_cpu *c;
	u64 head;

	if (e->cpu < 0 || e->state == SE_RUNNING)
		return -1;
	if (e->state == SE_BLOCKED)
		sched_wake(s, e, now);
	if (sched_throttled(e))
		return -1;
	c = &s->cpu[e->cpu];
	head = c->min_vruntime > s->slice_ns ? c->min_vruntime - s->slice_ns : 0;
	e->vruntime = MIN(e->vruntime, head);
	if (!c->curr || c->curr->vruntime > e->vruntime)
		return e->cpu;
	return -1;
}

void sched_period(struct sched *s, u64 now)
{
	if (!s->period_ns || now - s->period_start_ns < s->period_ns)
		return;
	s->period_start_ns = now - (now - s->period_start_ns) % s->period_ns;
	for (u32 cpu = 0; cpu < s->nr_cpus; cpu++) {
		charge(&s->cpu[cpu], now);
		for (u32 i = 0; i < s->cpu[cpu].nr; i++)
			refill(s, cap_of(s->cpu[cpu].rq[i]));
	}
}

int sched_balance(struct sched *s, u64 now)
{
	u32 busiest = 0, idlest = 0;
	u64 hi = 0, lo = ~0ull;

	for (u32 cpu = 0; cpu < s->nr_cpus; cpu++) {
		u64 load = sched_load(s, cpu);

		if (load > hi)
			hi = load, busiest = cpu;
		if (load < lo)
			lo = load, idlest = cpu;
	}
	if (busiest == idlest || hi <= lo)
		return 0;
	/* A move of weight w turns the gap hi-lo into |hi-lo-2w|: worth it while w < hi-lo. */
	for (u32 i = 0; i < s->cpu[busiest].nr; i++) {
		struct sched_entity *e = s->cpu[busiest].rq[i];

		if (e->state != SE_RUNNABLE || !(e->affinity & (1ull << idlest)) || e->weight >= hi - lo ||
		    s->cpu[idlest].nr >= SCHED_MAX_PER_CPU)
			continue;
		/* Keep its place relative to its new neighbours. */
		update_min(&s->cpu[busiest]);
		update_min(&s->cpu[idlest]);
		e->vruntime =
		    place(s, &s->cpu[idlest], e,
			  e->vruntime - MIN(e->vruntime, s->cpu[busiest].min_vruntime) + s->cpu[idlest].min_vruntime);
		dequeue(s, e);
		enqueue(s, e, idlest);
		e->migrations++;
		e->last_ns = now;
		return 1;
	}
	return 0;
}
