// SPDX-License-Identifier: GPL-2.0
/*
 * masim: a memory access simulator reading masim's configuration format.
 *
 *   masim [--loops N] [--mlock REGION] [--bind REGION:NODE]... [--no-populate]
 *         [--quiet] [--tlb-flush-ms MS] CONFIG
 *
 * CONFIG has a block of regions, "name, size[, init]" per line (size in
 * bytes, or with a K/M/G suffix; init is ignored: contents are random),
 * then phases, blank-line separated: a name line, a duration line (ms),
 * and access patterns "region, random(1)/sequential(0), stride, weight
 * [, ro|wo|rw]".  '#' starts a comment.
 *
 * Regions are anonymous memory filled with random (incompressible) bytes.
 * Each phase picks patterns by weight and touches its region: at a random
 * stride-aligned offset, or the next stride sequentially; "rw" (default)
 * reads and writes a byte, "ro" reads, "wo" writes.  After each phase it
 * prints "masim: phase NAME: N accesses in T ms, A accesses/ms".
 *
 * --bind (repeatable) places a region's pages on a NUMA node; --mlock locks
 * one region; --no-populate leaves the pages to be faulted in as they are
 * first written (for regions larger than memory).  Each region is its own
 * mapping, followed by an inaccessible guard page so that it never merges
 * with the next one: once the regions
 * are ready, "masim: region NAME at ADDR" gives the line of
 * /proc/PID/numa_maps that counts its pages per node.
 *
 * --tlb-flush-ms (default 1; 0: never) flushes the process's TLB that
 * often, by write-protecting and unprotecting 64 scratch pages.  DAMON
 * sees an access through the PTE's accessed bit, which it clears without
 * a TLB flush; the CPU sets the bit again only when it walks the page
 * table, i.e. after the translation left the TLB.  A hardware TLB holds a
 * few thousand translations, so under a working set of many MiB they
 * leave it within microseconds; QEMU's TCG keeps every translation until
 * the guest flushes, so without this DAMON saw a 147 MiB hot set as
 * never accessed for tens of seconds (tests/guest/tier-full.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PROG "masim"
#define DIE_STATUS 1
#include "common.h"

#define MAX_REGIONS 32
#define MAX_PHASES 64
#define MAX_PATTERNS 16
#define MPOL_BIND 2

struct region {
	char name[64];
	size_t size;
	unsigned char *mem;
};

struct pattern {
	struct region *region;
	int random;
	size_t stride;
	unsigned weight;
	int read, write;
	size_t next;	/* sequential position */
};

struct phase {
	char name[64];
	unsigned long ms;
	struct pattern patterns[MAX_PATTERNS];
	int nr_patterns;
	unsigned total_weight;
};

static struct region regions[MAX_REGIONS];
static int nr_regions;
static struct phase phases[MAX_PHASES];
static int nr_phases;

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': case 'k': v <<= 10; break;
	case 'M': case 'm': v <<= 20; break;
	case 'G': case 'g': v <<= 30; break;
	case '\0': break;
	default: die("bad size '%s'", s);
	}
	return v;
}

static struct region *find_region(const char *name)
{
	for (int i = 0; i < nr_regions; i++)
		if (!strcmp(regions[i].name, name))
			return &regions[i];
	die("unknown region '%s'", name);
	return NULL;
}

/* Splits "a, b, c" in place; returns the number of fields. */
static int split(char *line, char **f, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(line, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		f[n++] = trim(tok);
	return n;
}

static void parse(const char *path)
{
	FILE *fp = fopen(path, "r");
	char buf[512];
	int block = 0;		/* 0: regions, then one per phase */
	int line_in_block = 0;
	struct phase *ph = NULL;

	if (!fp)
		die("cannot open '%s'", path);
	while (fgets(buf, sizeof(buf), fp)) {
		char *hash = strchr(buf, '#');
		char *line, *f[8];
		int n;

		if (hash)
			*hash = '\0';
		line = trim(buf);
		if (!*line) {
			if (line_in_block) {
				block++;
				line_in_block = 0;
			}
			continue;
		}
		if (block == 0) {
			struct region *r = &regions[nr_regions++];

			if (nr_regions > MAX_REGIONS)
				die("too many regions%s", "");
			n = split(line, f, 8);
			if (n < 2)
				die("bad region line '%s'", line);
			snprintf(r->name, sizeof(r->name), "%s", f[0]);
			r->size = parse_size(f[1]);
		} else if (line_in_block == 0) {
			if (nr_phases >= MAX_PHASES)
				die("too many phases%s", "");
			ph = &phases[nr_phases++];
			snprintf(ph->name, sizeof(ph->name), "%s", line);
		} else if (line_in_block == 1) {
			ph->ms = strtoul(line, NULL, 0);
		} else {
			struct pattern *p;

			if (ph->nr_patterns >= MAX_PATTERNS)
				die("too many patterns in phase %s", ph->name);
			p = &ph->patterns[ph->nr_patterns++];
			n = split(line, f, 8);
			if (n < 4)
				die("bad pattern line '%s'", line);
			p->region = find_region(f[0]);
			p->random = atoi(f[1]);
			p->stride = parse_size(f[2]);
			if (!p->stride)
				p->stride = 4096;
			p->weight = atoi(f[3]);
			p->read = p->write = 1;
			if (n > 4 && !strcmp(f[4], "ro"))
				p->write = 0;
			if (n > 4 && !strcmp(f[4], "wo"))
				p->read = 0;
			ph->total_weight += p->weight;
		}
		line_in_block++;
	}
	fclose(fp);
	if (!nr_regions || !nr_phases)
		die("'%s' needs regions and phases", path);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile unsigned char sink;

/* --tlb-flush-ms: see the comment at the top. */
static double tlb_flush_ms = 1;
static unsigned char *tlb_scratch;
static double tlb_flushed_at;
#define TLB_SCRATCH_PAGES 64

static void maybe_flush_tlb(double now)
{
	size_t len = TLB_SCRATCH_PAGES * (size_t)sysconf(_SC_PAGESIZE);

	if (!tlb_scratch || now - tlb_flushed_at < tlb_flush_ms)
		return;
	tlb_flushed_at = now;
	/* Write-protecting more present pages than the kernel flushes one
	 * by one (tlb_single_page_flush_ceiling, 33 on x86) flushes this
	 * process's whole TLB on every CPU it runs on. */
	if (mprotect(tlb_scratch, len, PROT_READ) ||
	    mprotect(tlb_scratch, len, PROT_READ | PROT_WRITE))
		die("mprotect of the TLB scratch pages failed: %s", strerror(errno));
}

static void run_phase(struct phase *ph, int quiet)
{
	double start = now_ms(), elapsed;
	unsigned long long accesses = 0;

	if (!ph->total_weight)
		die("phase '%s' has no weight", ph->name);
	do {
		for (int burst = 0; burst < 4096; burst++) {
			unsigned pick = next_rand() % ph->total_weight;
			struct pattern *p = ph->patterns;
			size_t off;

			while (pick >= p->weight) {
				pick -= p->weight;
				p++;
			}
			if (p->random) {
				off = (next_rand() % (p->region->size / p->stride)) * p->stride;
			} else {
				off = p->next;
				p->next = (p->next + p->stride) % p->region->size;
			}
			if (p->read)
				sink = p->region->mem[off];
			if (p->write)
				p->region->mem[off] = (unsigned char)next_rand();
			accesses++;
		}
		elapsed = now_ms() - start;
		maybe_flush_tlb(start + elapsed);
	} while (elapsed < ph->ms);
	if (!quiet)
		printf("masim: phase %s: %llu accesses in %.0f ms, %.1f accesses/ms\n",
		       ph->name, accesses, elapsed, accesses / elapsed);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *mlock_name = NULL, *binds[MAX_REGIONS];
	int loops = 1, quiet = 0, populate = 1, nr_binds = 0, i;
	long page = sysconf(_SC_PAGESIZE);

	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--loops"))
			loops = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mlock"))
			mlock_name = argv[++i];
		else if (!strcmp(argv[i], "--bind")) {
			if (nr_binds == MAX_REGIONS)
				die("too many --bind%s", "");
			binds[nr_binds++] = argv[++i];
		}
		else if (!strcmp(argv[i], "--no-populate"))
			populate = 0;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[i], "--tlb-flush-ms"))
			tlb_flush_ms = atof(argv[++i]);
		else
			break;
	}
	if (i != argc - 1)
		die("usage: masim [--loops N] [--mlock REGION] [--bind REGION:NODE]... [--no-populate] [--quiet] [--tlb-flush-ms MS] CONFIG%s", "");
	parse(argv[i]);
	if (tlb_flush_ms > 0) {
		size_t len = TLB_SCRATCH_PAGES * (size_t)page;

		tlb_scratch = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (tlb_scratch == MAP_FAILED)
			die("cannot map the TLB scratch pages: %s", strerror(errno));
		memset(tlb_scratch, 1, len);
	}

	for (i = 0; i < nr_regions; i++) {
		struct region *r = &regions[i];

		/* Populated up front (one call instead of a fault per page),
		 * unless a --bind must come first or --no-populate asks not
		 * to: regions larger than memory, populated at once, went out
		 * of memory with the swap disk empty (all pages just
		 * referenced); written page by page, they swap. */
		size_t mapped = (r->size + page - 1) / page * page;

		r->mem = mmap(NULL, mapped + page, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | (nr_binds || !populate ? 0 : MAP_POPULATE), -1, 0);
		if (r->mem == MAP_FAILED || mprotect(r->mem + mapped, page, PROT_NONE))
			die("cannot map region '%s'", r->name);
		for (int b = 0; b < nr_binds; b++) {
			char name[64];
			unsigned long node, mask;
			const char *colon = strchr(binds[b], ':');

			if (!colon || (size_t)(colon - binds[b]) >= sizeof(name))
				die("bad --bind '%s'", binds[b]);
			snprintf(name, colon - binds[b] + 1, "%s", binds[b]);
			node = strtoul(colon + 1, NULL, 0);
			mask = 1ul << node;
			if (!strcmp(name, r->name) &&
			    syscall(SYS_mbind, r->mem, r->size, MPOL_BIND, &mask, 64, 0))
				die("mbind failed: %s", strerror(errno));
		}
		if (mlock_name && !strcmp(mlock_name, r->name) && mlock(r->mem, r->size))
			die("mlock failed: %s", strerror(errno));
		for (size_t off = 0; off < r->size; off += 8)
			*(uint64_t *)(r->mem + off) = next_rand();
	}
	if (!quiet) {
		for (i = 0; i < nr_regions; i++)
			printf("masim: region %s at %lx\n", regions[i].name,
			       (unsigned long)regions[i].mem);
		printf("masim: %d regions ready\n", nr_regions);
	}
	fflush(stdout);
	for (int l = 0; loops <= 0 || l < loops; l++)
		for (i = 0; i < nr_phases; i++)
			run_phase(&phases[i], quiet);
	return 0;
}
