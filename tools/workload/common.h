/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the static guest programs share: a xorshift64 generator and die().
 * Define PROG (the name to print) and DIE_STATUS (the exit status) first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(DIE_STATUS);
}
