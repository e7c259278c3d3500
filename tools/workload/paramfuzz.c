// SPDX-License-Identifier: GPL-2.0
/*
 * paramfuzz: writes random values to a module's parameters in sysfs and
 * checks that each write either works and reads back, or fails and leaves
 * the old value.
 *
 *   paramfuzz [--seed N] [--writes N] [--dir DIR] [--commit-every N]
 *             [--flip-every N] [--restore-every N] [--restart] [--settle MS]
 *             [--repair NAME,...] [--watch NAME]... --types FILE
 *
 * FILE is "modinfo -F parmtype MODULE.ko" ("name:type" lines); DIR is
 * /sys/module/damon_autotune/parameters unless given.  Each of N writes
 * (default 10000) picks a parameter (not enabled nor commit_inputs; one
 * without the owner write bit 1 time in 16) and bytes (numbers in several
 * bases and signs, spaces, newlines, words, nothing, over a page, a NUL),
 * writes them with one write(2) on a fresh open(O_WRONLY), and reads back:
 * a failed write leaves the old value; a working one needs the kernel's
 * parser (kstrtobool(), kstrtoull()/kstrtoll() with base 0 in the type's
 * range) to accept what the kernel saw, and reads back as sysfs shows it;
 * an enum (any other type) reads back as written or as a value seen
 * before; a read-only parameter refuses.  Every 50 writes it commits
 * (commit_inputs=Y: a running kdamond stays, and clears it at its next
 * callback), every 200 flips enabled (Y starts a kdamond or fails and
 * starts none, N stops it), every 500 writes back the values found at
 * start; --commit-every, --flip-every and --restore-every change these
 * periods (a flip comes halfway between two restores when both periods
 * are equal).
 *
 * To reach the schemes' arithmetic, the kdamonds must run the fuzzed
 * values, not only be handed them: --restart makes a flip of a running
 * module a restart (N, then Y at once); --settle MS waits that long after
 * each commit the kdamonds applied; --repair lists the parameters whose
 * combination DAMON checks (watermarks, intervals, region numbers, the
 * layout): a commit or an enable refused with EINVAL or EBUSY writes those
 * back to their values at start and tries once more, so that everything
 * else keeps its fuzzed value and runs.  Each --watch NAME (a statistic)
 * is read after each applied commit and counted when it changed.
 *
 * Prints a "paramfuzz: VIOLATION" line for each broken rule, which of the
 * writable parameters never took a value, and "paramfuzz: N writes (F
 * rejected), C commits (CF rejected, A applied, R repaired), E enable
 * flips, V violations"; exits 1 if V > 0.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "paramfuzz"
#define DIE_STATUS 2
#include "common.h"

#define MAX_PARAMS 128
#define MAX_SEEN 8
#define VAL_SZ 4097		/* a sysfs read and its NUL */
#define GEN_SZ 8192
#define SKIP_BOUND_US 10000000ull	/* kdamond callbacks further apart: not waited for */
#define US_PER_REGION 50		/* a region's access check in a TCG VM */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum type { T_BOOL, T_INT, T_UINT, T_ULONG, T_ENUM };

struct param {
	char name[64];
	enum type type;
	int writable;
	char start[256];		/* the value at start, written back */
	char seen[MAX_SEEN][64];	/* enums: values read back so far */
	int nr_seen;
	unsigned long nr_taken;		/* writes that worked */
};

static struct param params[MAX_PARAMS];
static int nr_params, nr_writable, nr_readonly;	/* not counting enabled, commit_inputs */
static const char *dir = "/sys/module/damon_autotune/parameters";
static unsigned long nr_writes, nr_rejected, nr_commits, nr_commit_rejected;
static unsigned long nr_flips, nr_violations, nr_unwaited;
static int running;		/* enabled=Y was written, N not since */
static int lost_reported;	/* a kdamond gone with enabled=Y was reported */
static uint64_t run_bound_us;	/* the running kdamond's longest time between callbacks */
static unsigned long commit_every = 50, flip_every = 200, restore_every = 500, settle_ms;
static unsigned long nr_applied, nr_repaired;
static int restart;
static const char *repair_list;
#define MAX_WATCH 16
static const char *watch[MAX_WATCH];
static char watch_last[MAX_WATCH][64];
static unsigned long watch_changes[MAX_WATCH];
static int nr_watch;

static const char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* Reads a parameter into buf (VAL_SZ bytes), less one trailing newline. */
static char *rd(const char *name, char *buf)
{
	int fd = open(path_of(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, VAL_SZ - 1);

	if (n < 0) {
		snprintf(buf, VAL_SZ, "<read: %s>", strerror(errno));
	} else {
		buf[n] = '\0';
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

static long long rd_num(const char *name)
{
	char buf[VAL_SZ];

	return strtoll(rd(name, buf), NULL, 0);
}

/* One write(2) on a fresh open(); returns 0 (*done: bytes taken) or an errno. */
static int wr(const char *name, const char *val, size_t len, size_t *done)
{
	int fd = open(path_of(name), O_WRONLY), err = 0;
	ssize_t n;

	*done = 0;
	if (fd < 0)
		return errno;
	n = write(fd, val, len);
	if (n < 0)
		err = errno;
	else
		*done = n;
	close(fd);
	return err;
}

/* Escapes non-printables, cut at about 40 characters. */
static const char *escape(const char *s, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len && o < 40; i++) {
		unsigned char c = s[i];

		if (c == '\n')
			o += sprintf(out + o, "\\n");
		else if (c == '\\')
			o += sprintf(out + o, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			o += sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	if (i < len)
		sprintf(out + o, "...(%zu bytes)", len);
	return out;
}

static void violation(const char *name, const char *wrote, size_t len, int err,
		      const char *old, const char *now, const char *expected)
{
	char w[96], o[96], n[96], e[96];
	const char *en = strerrorname_np(err);

	nr_violations++;
	printf("paramfuzz: VIOLATION param=%s wrote=%s errno=%s old=%s now=%s expected=%s\n",
	       name, escape(wrote, len, w), err ? en ? en : "?" : "0",
	       escape(old, strlen(old), o), escape(now, strlen(now), n),
	       escape(expected, strlen(expected), e));
	fflush(stdout);
}

/* The same, for a string written. */
static void vio(const char *name, const char *wrote, int err, const char *old,
		const char *now, const char *expected)
{
	violation(name, wrote, strlen(wrote), err, old, now, expected);
}

/* _kstrtoull(s, 0): no sign, at most one trailing newline; 0 if valid. */
static int ref_strtoull(const char *s, uint64_t *res)
{
	unsigned int base = 10, d;
	uint64_t v = 0;
	int n = 0;

	if (s[0] == '0') {
		base = 8;
		if (tolower((unsigned char)s[1]) == 'x' && isxdigit((unsigned char)s[2])) {
			base = 16;
			s += 2;
		}
	}
	for (; *s; s++, n++) {
		int c = tolower((unsigned char)*s);

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!n)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

/*
 * The kernel's parse of what it saw (len bytes, up to a NUL): 0 and the
 * value as sysfs shows it in canon, or an error.
 */
static int ref_parse(enum type type, const char *val, size_t len, char *canon)
{
	char s[GEN_SZ + 1];
	const char *v = NULL;
	uint64_t u;
	int64_t i;

	memcpy(s, val, len);
	s[len] = '\0';
	switch (type) {
	case T_BOOL:	/* kstrtobool(): the first one or two bytes count */
		if (s[0] && strchr("yYtT1", s[0]))
			v = "Y";
		else if (s[0] && strchr("nNfF0", s[0]))
			v = "N";
		else if ((s[0] == 'o' || s[0] == 'O') && s[1] && strchr("nNfF", s[1]))
			v = s[1] == 'n' || s[1] == 'N' ? "Y" : "N";
		if (!v)
			return -EINVAL;
		strcpy(canon, v);
		return 0;
	case T_INT:	/* kstrtoint(): kstrtoll(), then the i32 range */
		if (s[0] == '-') {
			if (ref_strtoull(s + 1, &u) || (int64_t)-u > 0)
				return -EINVAL;
			i = (int64_t)-u;
		} else {
			if (ref_strtoull(s + (s[0] == '+'), &u) || (int64_t)u < 0)
				return -EINVAL;
			i = u;
		}
		if (i < INT32_MIN || i > INT32_MAX)
			return -ERANGE;
		sprintf(canon, "%lld", (long long)i);
		return 0;
	case T_UINT:	/* kstrtouint() */
	case T_ULONG:	/* kstrtoul(), 64 bits */
		if (ref_strtoull(s + (s[0] == '+'), &u) || (type == T_UINT && u > UINT32_MAX))
			return -EINVAL;
		sprintf(canon, "%llu", (unsigned long long)u);
		return 0;
	default:
		return -EINVAL;
	}
}

static const char *const boundaries[] = {
	"0", "1", "-1", "2147483647", "2147483648", "4294967295", "4294967296",
	"9223372036854775807", "9223372036854775808", "18446744073709551615",
	"18446744073709551616", "10000", "10001", "1000", "1001",
};

static const char *const words[] = {
	"abc", "1e3", "12abc", "y", "n", "Y", "N", "on", "off", "true", "false",
	"1", "0", "consist", "temporal", "CONSIST", "temporal\n", "0x", "0x1g",
	"08", "-0", "--1", "+-1", "-+1", "+", "-", "of", "o", "yes", "ON",
};

static const char *const formats[] = {
	"%llu", "%llu", "0x%llx", "0%llo", "-%llu",
	"%llu", "%llu", "0X%llX", "0%llo", "-%llu",
};

/* Fills buf (GEN_SZ bytes) with a value to write to p; returns its length. */
static size_t gen_value(struct param *p, char *buf)
{
	uint64_t r = next_rand(), v = next_rand() >> (next_rand() % 64);
	char tmp[128];
	size_t n, i = 0;

	switch (r % 16) {
	case 0: case 1:
		n = sprintf(tmp, "%s", boundaries[next_rand() % ARRAY_SIZE(boundaries)]);
		break;
	case 2: case 3: case 4: case 5: case 6:	/* decimal, hex, octal, negative */
		n = sprintf(tmp, formats[r % 16 - 2 + (r / 16 % 2) * 5], (unsigned long long)v);
		break;
	case 7:		/* node ids */
		n = sprintf(tmp, "%d", (int)(next_rand() % 72) - 1);
		break;
	case 8: case 9:
		n = sprintf(tmp, "%s", words[next_rand() % ARRAY_SIZE(words)]);
		break;
	case 10:
		return 0;
	case 11:
		buf[0] = '\n';
		return 1;
	case 12:	/* over a page: the kernel takes the first 4096 bytes */
		n = 4096 + next_rand() % 200;
		memset(buf, "01Y"[r / 16 % 3], n);
		buf[n - 1] = r / 16 % 3 ? 'z' : '7';
		return n;
	case 13:	/* the kernel sees up to the NUL */
		n = sprintf(buf, "%d", (int)(next_rand() % 1000));
		memcpy(buf + n, "\0abc", 4);
		return n + 4;
	default:
		if (p->type == T_ENUM && p->nr_seen)
			n = sprintf(tmp, "%s", p->seen[next_rand() % p->nr_seen]);
		else if (p->type == T_INT)	/* node ids around the ones that exist */
			n = sprintf(tmp, "%d", (int)(next_rand() % 4) - 1);
		else
			n = sprintf(tmp, "%d", (int)(next_rand() % 10002));
		break;
	}
	switch (next_rand() % 10) {
	case 0: buf[i++] = '+'; break;
	case 1: buf[i++] = ' '; break;
	case 2: tmp[n++] = ' '; break;
	case 3: tmp[n++] = '\n'; break;
	case 4: tmp[n++] = '\n'; tmp[n++] = '\n'; break;
	}
	memcpy(buf + i, tmp, n);
	return i + n;
}

static int seen_before(struct param *p, const char *val)
{
	for (int i = 0; i < p->nr_seen; i++)
		if (!strcmp(p->seen[i], val))
			return 1;
	if (p->nr_seen < MAX_SEEN && strlen(val) < sizeof(p->seen[0]))
		strcpy(p->seen[p->nr_seen++], val);
	return 0;
}

static void fuzz_one(struct param *p)
{
	char old[VAL_SZ], now[VAL_SZ], val[GEN_SZ], canon[64], seen[GEN_SZ + 1];
	size_t len = gen_value(p, val), done, n;
	int err;

	rd(p->name, old);
	err = wr(p->name, val, len, &done);
	nr_writes++;
	nr_rejected += !!err;
	p->nr_taken += !err && done;
	rd(p->name, now);
	if (!p->writable) {
		if (!err)
			violation(p->name, val, len, err, old, now, "<refused: read-only>");
		else if (!running && strcmp(old, now))
			violation(p->name, val, len, err, old, now, old);
	} else if (err || !done) {	/* refused, or nothing reached the parameter */
		if (strcmp(old, now))
			violation(p->name, val, len, err, old, now, old);
	} else if (p->type != T_ENUM) {
		if (ref_parse(p->type, val, done, canon))
			violation(p->name, val, len, err, old, now, "<refused: invalid>");
		else if (strcmp(now, canon))
			violation(p->name, val, len, err, old, now, canon);
	} else {
		memcpy(seen, val, done);	/* what the kernel saw, less a newline */
		seen[done] = '\0';
		n = strlen(seen);
		if (n && seen[n - 1] == '\n')
			seen[n - 1] = '\0';
		if (!seen_before(p, now) && strcmp(now, seen))
			violation(p->name, val, len, err, old, now, seen);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static int kdamond_alive(long long pid)
{
	char path[64], comm[32] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	if (!fgets(comm, sizeof(comm), fp))
		comm[0] = '\0';
	fclose(fp);
	return !strncmp(comm, "kdamond", 7);
}

/*
 * The longest a kdamond of the current parameters may go without a
 * callback (which is when commit_inputs reads N again): an aggregation
 * interval, its samples taking US_PER_REGION of a slow VM for each region,
 * or a watermarks check interval while the watermarks keep it inactive.
 */
static uint64_t callback_bound_us(void)
{
	double aggr = rd_num("aggr_interval"), sample = rd_num("sample_interval");
	double regions = rd_num("max_nr_regions"), wmarks = rd_num("wmarks_interval"), b;

	if (regions > 1 << 20)	/* 4 GiB of 4 KiB regions */
		regions = 1 << 20;
	b = (sample > 0 ? aggr / sample : aggr) * (sample + regions * US_PER_REGION);
	if (b < wmarks)
		b = wmarks;
	return b < 1e18 ? (uint64_t)b : UINT64_MAX;
}

/* Whether name is in the comma-separated list. */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *c = list; c && *c; c = strchr(c, ',') ? strchr(c, ',') + 1 : "")
		if (!strncmp(c, name, n) && (c[n] == ',' || !c[n]))
			return 1;
	return 0;
}

/* Writes the --repair parameters back to their values at start. */
static void repair(void)
{
	char old[VAL_SZ], now[VAL_SZ];
	size_t done;
	int err;

	for (struct param *p = params; p < params + nr_params; p++) {
		if (!p->writable || !listed(repair_list, p->name))
			continue;
		rd(p->name, old);
		err = wr(p->name, p->start, strlen(p->start), &done);
		if (strcmp(rd(p->name, now), p->start) || err)
			vio(p->name, p->start, err, old, now, p->start);
	}
}

/* Counts the --watch statistics that changed since the last look. */
static void look(void)
{
	char now[VAL_SZ];

	for (int w = 0; w < nr_watch; w++) {
		rd(watch[w], now);
		if (strcmp(now, watch_last[w]))
			watch_changes[w]++;
		snprintf(watch_last[w], sizeof(watch_last[w]), "%.63s", now);
	}
}

static void commit(void)
{
	char en[VAL_SZ], old[VAL_SZ], now[VAL_SZ], pids[32], exp[64];
	long long pid = rd_num("kdamond_pid");
	uint64_t wait_ms, end, b;
	size_t done;
	int err, on, cleared = 0;

	snprintf(pids, sizeof(pids), "%lld", pid);
	rd("enabled", en);
	rd("commit_inputs", old);
	on = !strcmp(en, "Y") && pid > 0;
	if (!strcmp(en, "Y") && !on && !lost_reported++)
		vio("kdamond_pid", "", 0, pids, pids, "<a kdamond's pid: enabled is Y>");
	err = wr("commit_inputs", "Y", 1, &done);
	nr_commits++;
	nr_commit_rejected += !!err;
	rd("commit_inputs", now);
	/* EBUSY: reclaim, tier or tier_nodes changed what would run. */
	if (err && err != EINVAL && err != EBUSY)
		vio("commit_inputs", "Y", err, old, now, "<EINVAL, EBUSY or success>");
	if (err && repair_list && on) {
		repair();
		nr_repaired++;
		rd("commit_inputs", old);
		err = wr("commit_inputs", "Y", 1, &done);
		rd("commit_inputs", now);
		if (err)
			vio("commit_inputs", "Y", err, old, now, "<success once repaired>");
	}
	if (!on) {
		/* Only a kdamond clears commit_inputs: without one, Y may stay. */
		if (err && strcmp(old, now))
			vio("commit_inputs", "Y", err, old, now, old);
		return;
	}
	if (run_bound_us <= SKIP_BOUND_US) {
		wait_ms = 2000 + 2 * run_bound_us / 1000;
		end = now_ms() + wait_ms;
		while (!(cleared = !strcmp(now, "N")) && now_ms() < end) {
			usleep(20000);
			rd("commit_inputs", now);
		}
		snprintf(exp, sizeof(exp), "N within %llu ms", (unsigned long long)wait_ms);
		if (!cleared)
			vio("commit_inputs", "Y", err, old, now, exp);
		if (cleared && !err) {
			nr_applied++;
			if (settle_ms)
				usleep(settle_ms * 1000);
			look();
		}
	} else {
		nr_unwaited++;
	}
	if (strcmp(rd("enabled", now), "Y"))
		vio("enabled", "Y", err, en, now, "Y");
	if (strcmp(rd("kdamond_pid", now), pids))
		vio("kdamond_pid", "Y", err, pids, now, pids);
	if (!err) {
		/* Until a callback applied them, the old parameters may still run. */
		b = callback_bound_us();
		run_bound_us = cleared || b > run_bound_us ? b : run_bound_us;
	}
}

static void flip_enabled(void)
{
	char en[VAL_SZ], now[VAL_SZ], pids[32];
	long long pid = rd_num("kdamond_pid");
	uint64_t end = now_ms() + 5000;
	size_t done;
	int err;

	snprintf(pids, sizeof(pids), "%lld", pid);
	if (!strcmp(rd("enabled", en), "Y")) {
		err = wr("enabled", "N", 1, &done);
		running = 0;
		if (strcmp(rd("enabled", now), "N") || err)
			vio("enabled", "N", err, en, now, "N");
		while ((rd_num("kdamond_pid") != -1 || (pid > 0 && kdamond_alive(pid))) &&
		       now_ms() < end)
			usleep(20000);
		if (strcmp(rd("kdamond_pid", now), "-1") || (pid > 0 && kdamond_alive(pid)))
			vio("kdamond_pid", "N", err, pids, now, "-1, thread gone within 5 s");
		if (!restart)
			return;
		strcpy(en, "N");
		snprintf(pids, sizeof(pids), "-1");
	}
	err = wr("enabled", "Y", 1, &done);
	rd("enabled", now);
	if (err && repair_list) {
		repair();
		nr_repaired++;
		err = wr("enabled", "Y", 1, &done);
		rd("enabled", now);
	}
	if (err) {
		if (err != EINVAL && err != EBUSY)
			vio("enabled", "Y", err, en, now, "<EINVAL, EBUSY or success>");
		if (strcmp(now, "N"))
			vio("enabled", "Y", err, en, now, "N");
		if (strcmp(rd("kdamond_pid", now), "-1"))
			vio("kdamond_pid", "Y", err, pids, now, "-1");
		return;
	}
	running = 1;
	lost_reported = 0;
	run_bound_us = callback_bound_us();
	if (strcmp(now, "Y"))
		vio("enabled", "Y", err, en, now, "Y");
	pid = rd_num("kdamond_pid");
	if (pid <= 0 || !kdamond_alive(pid))
		vio("kdamond_pid", "Y", err, pids, rd("kdamond_pid", now), "<a kdamond's pid>");
}

static int fuzzed(const struct param *p)
{
	return strcmp(p->name, "enabled") && strcmp(p->name, "commit_inputs");
}

/* Writes back the values found at start: they must be taken. */
static void restore(void)
{
	char old[VAL_SZ], now[VAL_SZ];
	size_t done;
	int err;

	for (struct param *p = params; p < params + nr_params; p++) {
		if (!p->writable || !fuzzed(p))
			continue;
		rd(p->name, old);
		err = wr(p->name, p->start, strlen(p->start), &done);
		if (strcmp(rd(p->name, now), p->start) || err)
			vio(p->name, p->start, err, old, now, p->start);
	}
}

static void load_types(const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[256], buf[VAL_SZ], *type;
	struct stat st;
	struct param *p;

	if (!fp)
		die("cannot open '%s'", file);
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		type = strchr(line, ':');
		if (!type || type == line || type - line >= 64)
			continue;
		*type++ = '\0';
		if (stat(path_of(line), &st)) {
			fprintf(stderr, "paramfuzz: no %s, skipped\n", path_of(line));
			continue;
		}
		if (nr_params == MAX_PARAMS)
			die("more than %s parameters", "128");
		p = &params[nr_params++];
		strcpy(p->name, line);
		p->type = !strcmp(type, "bool") ? T_BOOL : !strcmp(type, "int") ? T_INT :
			  !strcmp(type, "uint") ? T_UINT : !strcmp(type, "ulong") ? T_ULONG : T_ENUM;
		p->writable = !!(st.st_mode & 0200);
		snprintf(p->start, sizeof(p->start), "%.255s", rd(p->name, buf));
		if (p->type == T_ENUM)
			seen_before(p, buf);
		if (fuzzed(p)) {
			nr_writable += p->writable;
			nr_readonly += !p->writable;
		}
	}
	fclose(fp);
}

/* A parameter to write to: a read-only one 1 time in 16. */
static struct param *pick(void)
{
	int ro = !nr_writable || (nr_readonly && next_rand() % 16 == 0);
	struct param *p;

	do
		p = &params[next_rand() % nr_params];
	while (!fuzzed(p) || p->writable == ro);
	return p;
}

int main(int argc, char **argv)
{
	const char *types = NULL;
	unsigned long writes = 10000, seed = 0, i;
	char en[VAL_SZ];
	size_t done;
	int err, a;

	for (a = 1; a < argc; a++) {
		if (a + 1 < argc && !strcmp(argv[a], "--seed"))
			seed = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--writes"))
			writes = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--dir"))
			dir = argv[++a];
		else if (a + 1 < argc && !strcmp(argv[a], "--types"))
			types = argv[++a];
		else if (a + 1 < argc && !strcmp(argv[a], "--commit-every"))
			commit_every = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--flip-every"))
			flip_every = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--restore-every"))
			restore_every = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--settle"))
			settle_ms = strtoul(argv[++a], NULL, 0);
		else if (a + 1 < argc && !strcmp(argv[a], "--repair"))
			repair_list = argv[++a];
		else if (a + 1 < argc && !strcmp(argv[a], "--watch") && nr_watch < MAX_WATCH)
			watch[nr_watch++] = argv[++a];
		else if (!strcmp(argv[a], "--restart"))
			restart = 1;
		else
			break;
	}
	if (!types || a < argc || !commit_every || !flip_every || !restore_every)
		die("usage: %s [--seed N] [--writes N] [--dir DIR] [--commit-every N] "
		    "[--flip-every N] [--restore-every N] [--restart] [--settle MS] "
		    "[--repair NAME,...] [--watch NAME]... --types FILE", argv[0]);
	rng ^= seed * 0x9e3779b97f4a7c15ull;
	if (!rng)
		rng = 88172645463325252ull;
	load_types(types);
	if (!nr_writable && !nr_readonly)
		die("no parameter to write to in '%s'", types);
	running = !strcmp(rd("enabled", en), "Y");
	run_bound_us = callback_bound_us();
	printf("paramfuzz: seed %lu, %lu writes, %d parameters (%d writable)\n",
	       seed, writes, nr_params, nr_writable);
	fflush(stdout);

	look();
	for (i = 1; i <= writes; i++) {
		fuzz_one(pick());
		if (i % restore_every == 0)
			restore();
		if (i % commit_every == 0)
			commit();
		/* Halfway between two restores if the periods are equal. */
		if ((i + flip_every / 2) % flip_every == 0) {
			nr_flips++;
			flip_enabled();
		}
	}

	restart = 0;
	if (strcmp(rd("enabled", en), "N"))
		flip_enabled();
	restore();
	err = wr("commit_inputs", "N", 1, &done);
	if (err)
		vio("commit_inputs", "N", err, "", "", "<success>");
	if (nr_unwaited)
		printf("paramfuzz: %lu commits not waited for (kdamond callbacks over %llu s apart)\n",
		       nr_unwaited, SKIP_BOUND_US / 1000000);
	for (int w = 0; w < nr_watch; w++)
		printf("paramfuzz: watched %s changed %lu times\n", watch[w], watch_changes[w]);
	a = 0;
	for (struct param *p = params; p < params + nr_params; p++) {
		if (!p->writable || !fuzzed(p))
			continue;
		if (p->nr_taken)
			a++;
		else
			printf("paramfuzz: %s never took a value\n", p->name);
	}
	printf("paramfuzz: %d of %d writable parameters took a value\n", a, nr_writable);
	printf("paramfuzz: %lu writes (%lu rejected), %lu commits (%lu rejected, %lu applied, "
	       "%lu repaired), %lu enable flips, %lu violations\n", nr_writes, nr_rejected,
	       nr_commits, nr_commit_rejected, nr_applied, nr_repaired, nr_flips, nr_violations);
	return nr_violations ? 1 : 0;
}
