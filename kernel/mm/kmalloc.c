/* SPDX-License-Identifier: MIT */
/*
 * kmalloc: one-page slabs per size class, with the slab header at the start of its page so kfree()
 * finds it by rounding the pointer down. Each header carries a bitmap of allocated objects (the
 * objects themselves are never written by the allocator, so a stray write into a free object
 * cannot corrupt a free list) and a magic tied to its own address, which lets kfree() tell its
 * own pointers from foreign ones. No object starts at offset 0 of a slab page, so a page-aligned
 * pointer can only be a large allocation; those are tracked in a small hash table.
 */
#include "kernel/mm/kmalloc.h"

#include "kernel/lib/string.h"
#include "kernel/panic.h"
#include "kernel/spinlock.h"

#define NR_CLASSES    8 /* 16 << 0 ... 16 << 7 = 2048 */
#define SLAB_MAX_OBJS (PAGE_SIZE / KMALLOC_MIN_SIZE)
#define SLAB_MAGIC    0x4b4d414c4c4f4321ull
#define LARGE_BUCKETS 64

struct slab {
	u64 magic;		  /* SLAB_MAGIC ^ the slab's address */
	struct slab *next, *prev; /* the class's list of slabs with free objects */
	u16 cls;
	u16 nobj;
	u16 nfree;
	u16 first; /* offset of object 0: the object size, at least the header's */
	u64 used[SLAB_MAX_OBJS / 64];
};
_Static_assert(sizeof(struct slab) <= 64, "slab header fits before the first 64-byte object");

struct large {
	void *ptr;
	struct large *next;
	unsigned order;
};

static spinlock_t kmalloc_lock = SPINLOCK_INIT;
static struct slab *partial[NR_CLASSES];
static struct large *large_hash[LARGE_BUCKETS];
static u64 pages_in_use;

static inline size_t class_size(unsigned cls)
{
	return (size_t)KMALLOC_MIN_SIZE << cls;
}

static unsigned size_class(size_t size)
{
	unsigned cls = 0;

	while (class_size(cls) < size)
		cls++;
	return cls;
}

static inline u64 slab_magic(const struct slab *s)
{
	return SLAB_MAGIC ^ (u64)(uintptr_t)s;
}

static inline struct large **large_bucket(const void *p)
{
	return &large_hash[((uintptr_t)p >> PAGE_SHIFT) % LARGE_BUCKETS];
}

static void partial_push(struct slab *s)
{
	s->prev = NULL;
	s->next = partial[s->cls];
	if (s->next)
		s->next->prev = s;
	partial[s->cls] = s;
}

static void partial_remove(struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static struct slab *slab_new(unsigned cls)
{
	struct slab *s = kmalloc_backend_alloc(0);
	size_t size = class_size(cls);

	if (!s)
		return NULL;
	pages_in_use++;
	memset(s, 0, sizeof(*s));
	s->magic = slab_magic(s);
	s->cls = (u16)cls;
	s->first = (u16)MAX(size, sizeof(struct slab));
	s->nobj = (u16)((PAGE_SIZE - s->first) / size);
	s->nfree = s->nobj;
	partial_push(s);
	return s;
}

static void *small_alloc(size_t size)
{
	unsigned cls = size_class(size);
	struct slab *s = partial[cls] ? partial[cls] : slab_new(cls);

	if (!s)
		return NULL;
	for (unsigned w = 0; w < ARRAY_SIZE(s->used); w++) {
		unsigned idx;

		if (s->used[w] == ~0ull)
			continue;
		idx = w * 64 + (unsigned)__builtin_ctzll(~s->used[w]);
		if (idx >= s->nobj)
			break;
		s->used[w] |= 1ull << (idx % 64);
		if (--s->nfree == 0)
			partial_remove(s);
		return (char *)s + s->first + (size_t)idx * class_size(cls);
	}
	panic("kmalloc: slab %p of %zu-byte objects says %u free but has none", (void *)s, class_size(cls), s->nfree);
}

/* Returns NULL if p was freed, else the reason it cannot be. */
static const char *small_free(void *p)
{
	struct slab *s = (struct slab *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);
	uintptr_t off = (uintptr_t)p - (uintptr_t)s;
	size_t size;
	unsigned idx;
	u64 bit;

	if (s->magic != slab_magic(s) || s->cls >= NR_CLASSES)
		return "not a kmalloc pointer";
	size = class_size(s->cls);
	if (off < s->first || (off - s->first) % size != 0 || (off - s->first) / size >= s->nobj)
		return "not the start of a kmalloc object";
	idx = (unsigned)((off - s->first) / size);
	bit = 1ull << (idx % 64);
	if (!(s->used[idx / 64] & bit))
		return "double free";

	s->used[idx / 64] &= ~bit;
	if (s->nfree++ == 0)
		partial_push(s);
	if (s->nfree == s->nobj) {
		partial_remove(s);
		s->magic = 0;
		kmalloc_backend_free(s, 0);
		pages_in_use--;
	}
	return NULL;
}

static void *large_alloc(size_t size)
{
	unsigned order = 0;
	struct large *l;

	if (size > (PAGE_SIZE << KMALLOC_MAX_ORDER))
		return NULL;
	while ((PAGE_SIZE << order) < size)
		order++;
	l = small_alloc(sizeof(*l));
	if (!l)
		return NULL;
	l->ptr = kmalloc_backend_alloc(order);
	if (!l->ptr) {
		small_free(l);
		return NULL;
	}
	l->order = order;
	l->next = *large_bucket(l->ptr);
	*large_bucket(l->ptr) = l;
	pages_in_use += 1ull << order;
	return l->ptr;
}

static const char *large_free(void *p)
{
	for (struct large **pp = large_bucket(p); *pp; pp = &(*pp)->next) {
		struct large *l = *pp;

		if (l->ptr != p)
			continue;
		*pp = l->next;
		kmalloc_backend_free(p, l->order);
		pages_in_use -= 1ull << l->order;
		small_free(l);
		return NULL;
	}
	return "not a live kmalloc block (double free or foreign pointer)";
}

void *kmalloc(size_t size)
{
	unsigned long flags = spin_lock_irqsave(&kmalloc_lock);
	void *p = size <= KMALLOC_MAX_SMALL ? small_alloc(size ? size : 1) : large_alloc(size);

	spin_unlock_irqrestore(&kmalloc_lock, flags);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	unsigned long flags;
	const char *err;

	if (!p)
		return;
	flags = spin_lock_irqsave(&kmalloc_lock);
	err = IS_ALIGNED((uintptr_t)p, PAGE_SIZE) ? large_free(p) : small_free(p);
	spin_unlock_irqrestore(&kmalloc_lock, flags);
	/* Outside the lock: the panic path must not deadlock on it. */
	if (err)
		panic("kfree(%p): %s", p, err);
}

u64 kmalloc_pages_in_use(void)
{
	return __atomic_load_n(&pages_in_use, __ATOMIC_RELAXED);
}
