// SPDX-License-Identifier: MIT
/*
 * Loading the process probe (src/bpf/proc.bpf.c) and decoding its ring:
 * tp_btf programs, else raw_tp (AOD_PROC_ATTACH forces one); the ring and
 * the exec scratch map sized before load; knobs and filters written before
 * attach and again on reload.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "probe/probe_int.h"
#include "probe/proc_probe.h"
#include "proc.skel.h"

static const char *const proc_modes[] = { "tp_btf", "raw_tp", NULL };
/* Attached: fork, exec, exit (and sys_exit for failed execs on request);
 * the seed iterator (aod_proc_seed) is loaded with either set and run once
 * by aod_proc_probe_seed(). */
static const char *const tp_btf_progs[] = {
	"aod_proc_fork_bt", "aod_proc_exec_bt", "aod_proc_exit_bt", "aod_proc_sysexit_bt",
};
static const char *const raw_tp_progs[] = {
	"aod_proc_fork_rt", "aod_proc_exec_rt", "aod_proc_exit_rt", "aod_proc_sysexit_rt",
};

/* The programs of a mode, NULL-terminated: att to attach, load to load. */
static void mode_programs(bool btf, bool failed_execs, const char *att[5], const char *load[6])
{
	const char *const *base = btf ? tp_btf_progs : raw_tp_progs;
	int n = failed_execs ? 4 : 3;

	for (int i = 0; i < n; i++)
		att[i] = load[i] = base[i];
	att[n] = NULL;
	load[n] = "aod_proc_seed";
	load[n + 1] = NULL;
}

#define DEFAULT_RING_MB 8
#define MAX_RING_MB 256

struct aod_proc_probe {
	struct aod_proc *skel;
	struct probe_obj po;
	struct ring_buffer *rb;
	bool rb_shared;          /* the probe table's: added to, not owned */
	uint32_t argv_cap;
	aod_proc_fn fn;
	void *ctx;
	int64_t boot_to_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	const char *mode;
};

const char *aod_proc_counter_name(enum aod_proc_counter c)
{
	static const char *const names[AOD_PROC_CNT_MAX] = {
		[AOD_PROC_CNT_FORKS] = "forks",
		[AOD_PROC_CNT_EXECS] = "execs",
		[AOD_PROC_CNT_EXITS] = "exits",
		[AOD_PROC_CNT_EVENTS] = "events",
		[AOD_PROC_CNT_RB_DROPS] = "ring_drops",
		[AOD_PROC_CNT_STATE_FULL] = "state_map_full",
		[AOD_PROC_CNT_FILTERED] = "filtered",
		[AOD_PROC_CNT_ARGV_TRUNC] = "argv_truncated",
		[AOD_PROC_CNT_ARGV_FAULT] = "argv_unreadable",
		[AOD_PROC_CNT_NOSTATE] = "exits_without_state",
	};
	return (unsigned)c < AOD_PROC_CNT_MAX ? names[c] : "?";
}

void aod_proc_cpu_split(uint64_t runtime, uint64_t utime, uint64_t stime,
			uint64_t prev_utime, uint64_t prev_stime, uint64_t *user, uint64_t *sys)
{
	uint64_t s;

	if (prev_utime + prev_stime >= runtime) { /* nothing new since the last report */
		*user = prev_utime;
		*sys = prev_stime;
		return;
	}
	if (!stime)
		s = 0;
	else if (!utime)
		s = runtime;
	else
		s = (uint64_t)((unsigned __int128)stime * runtime / (stime + utime));
	if (s < prev_stime)
		s = prev_stime;
	*user = runtime - s;
	if (*user < prev_utime) {
		*user = prev_utime;
		s = runtime - *user;
	}
	*sys = s;
}

int aod_proc_parse_exe_pattern(const char *s, struct aod_proc_exe_pat *out,
			       char *why, size_t len)
{
	const char *star = strchr(s, '*');
	size_t plen = star ? (size_t)(star - s) : strlen(s);
	size_t slen = star ? strlen(star + 1) : 0;

	memset(out, 0, sizeof(*out));
	if (!*s) {
		snprintf(why, len, "an empty pattern");
		return -EINVAL;
	}
	if (star && strchr(star + 1, '*')) {
		snprintf(why, len, "\"%s\": at most one '*' (PREFIX*SUFFIX)", s);
		return -EINVAL;
	}
	if (strpbrk(s, "?[")) {
		snprintf(why, len, "\"%s\": only '*' is supported, not '?' or '['", s);
		return -EINVAL;
	}
	if (plen >= AOD_PROC_PAT_PART || slen >= AOD_PROC_PAT_PART) {
		snprintf(why, len, "\"%s\": prefix and suffix must each be under %d bytes",
			 s, AOD_PROC_PAT_PART);
		return -EINVAL;
	}
	out->has_star = star != NULL;
	out->plen = (uint32_t)plen;
	out->slen = (uint32_t)slen;
	memcpy(out->prefix, s, plen);
	if (star)
		memcpy(out->suffix, star + 1, slen);
	return 0;
}

/* ---- decoding ---- */

static uint64_t to_wall(const struct aod_proc_probe *pp, uint64_t boot_ns)
{
	return (uint64_t)((int64_t)boot_ns + pp->boot_to_wall_ns);
}

static void decode_exit(const struct aod_proc_exit *x, struct aod_proc_event *ev)
{
	int st = x->exit_code;

	ev->duration_ns = x->h.ts_ns > x->h.start_ns ? x->h.ts_ns - x->h.start_ns : 0;
	ev->signal = st & 0x7f;
	ev->core_dumped = (st & 0x80) != 0;
	ev->exit_code = ev->signal ? 0 : (st >> 8) & 0xff;
	aod_proc_cpu_split(x->runtime_ns, x->utime_ns, x->stime_ns, x->prev_utime_ns,
			   x->prev_stime_ns, &ev->cpu_user_ns, &ev->cpu_sys_ns);
	ev->maxrss_bytes = x->maxrss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
	ev->minflt = x->minflt;
	ev->majflt = x->majflt;
	ev->nvcsw = x->nvcsw;
	ev->nivcsw = x->nivcsw;
	ev->oom_killed = (x->h.flags & AOD_PROCF_OOM) != 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct aod_proc_probe *pp = ctx;
	const struct aod_proc_hdr *h = data;
	struct aod_proc_event ev = { .h = h };

	if (size < sizeof(*h))
		return 0;
	ev.wall_ns = to_wall(pp, h->ts_ns);
	ev.start_wall_ns = to_wall(pp, h->start_ns);
	if (h->kind == AOD_PROC_EXEC) {
		const struct aod_proc_exec *e = data;

		if (size < sizeof(*e) || size < sizeof(*e) + e->argv_len)
			return 0;
		ev.filename = e->filename;
		ev.argv = (const char *)data + sizeof(*e);
		ev.argv_len = e->argv_len;
		ev.argv_truncated = (h->flags & AOD_PROCF_ARGV_TRUNC) != 0;
		ev.argv_full = e->argv_full;
	} else if (h->kind == AOD_PROC_EXEC_FAILED) {
		const struct aod_proc_exec_failed *f = data;

		if (size < sizeof(*f))
			return 0;
		ev.filename = f->filename;
		ev.exec_error = f->error;
	} else if (h->kind == AOD_PROC_EXIT) {
		if (size < sizeof(struct aod_proc_exit))
			return 0;
		decode_exit(data, &ev);
	} else if (h->kind != AOD_PROC_FORK) {
		return 0;
	}
	pp->fn(pp->ctx, &ev);
	return 0;
}

/* ---- knobs ---- */

int aod_proc_probe_configure(struct aod_proc_probe *pp, const struct aod_proc_probe_opts *o,
			     char *err, size_t errlen)
{
	pp->argv_cap = o->argv_cap ? o->argv_cap : AOD_PROC_ARGV_DEFAULT;
	struct aod_proc_exe_pat pats[AOD_PROC_EXE_PAT_MAX];
	struct aod_proc_knobs k = {
		.tree_only = o->tree_only,
		.argv_cap = o->argv_cap ? o->argv_cap : AOD_PROC_ARGV_DEFAULT,
	};
	int comm_fd = bpf_map__fd(pp->skel->maps.proc_ignore_comm);
	char key[AOD_PROC_COMM_LEN], next[AOD_PROC_COMM_LEN];
	__u32 zero = 0;
	int e;

	if (k.argv_cap > AOD_PROC_ARGV_MAX) {
		snprintf(err, errlen, "argv cap %u over the maximum %d", k.argv_cap,
			 AOD_PROC_ARGV_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; o->ignore_exe && o->ignore_exe[i]; i++) {
		if (i == AOD_PROC_EXE_PAT_MAX) {
			snprintf(err, errlen, "more than %d executable patterns", AOD_PROC_EXE_PAT_MAX);
			return -EINVAL;
		}
		if ((e = aod_proc_parse_exe_pattern(o->ignore_exe[i], &pats[i], err, errlen)))
			return e;
		k.npat++;
	}
	for (__u32 i = 0; i < k.npat; i++)
		if (bpf_map_update_elem(bpf_map__fd(pp->skel->maps.proc_exe_pat), &i, &pats[i],
					BPF_ANY))
			goto fail;
	/* comm set: clear, then fill (a comm missing for a moment is harmless) */
	while (!bpf_map_get_next_key(comm_fd, NULL, next)) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(comm_fd, key))
			goto fail;
	}
	for (size_t i = 0; o->ignore_comm && o->ignore_comm[i]; i++) {
		__u8 one = 1;

		if (i == AOD_PROC_IGNORE_COMM_MAX || strlen(o->ignore_comm[i]) >= AOD_PROC_COMM_LEN) {
			snprintf(err, errlen, "ignored comm \"%s\": at most %d names of at most %d bytes",
				 o->ignore_comm[i], AOD_PROC_IGNORE_COMM_MAX, AOD_PROC_COMM_LEN - 1);
			return -EINVAL;
		}
		memset(key, 0, sizeof(key));
		memcpy(key, o->ignore_comm[i], strlen(o->ignore_comm[i]));
		if (bpf_map_update_elem(comm_fd, key, &one, BPF_ANY))
			goto fail;
	}
	if (bpf_map_update_elem(bpf_map__fd(pp->skel->maps.proc_knobs), &zero, &k, BPF_ANY))
		goto fail;
	return 0;
fail:
	e = -errno;
	snprintf(err, errlen, "writing the process probe's maps: %s", strerror(-e));
	return e;
}

int aod_proc_probe_track(struct aod_proc_probe *pp, uint32_t tgid)
{
	__u32 st = AOD_PSTATE_TRACKED;

	if (bpf_map_update_elem(bpf_map__fd(pp->skel->maps.proc_state), &tgid, &st, BPF_ANY))
		return -errno;
	return 0;
}

/* ---- load ---- */

static uint32_t ring_bytes(uint32_t mb)
{
	uint32_t pow = 1;

	if (!mb)
		mb = DEFAULT_RING_MB;
	if (mb > MAX_RING_MB)
		mb = MAX_RING_MB;
	while (pow < mb)
		pow <<= 1;
	return pow << 20;
}

static void destroy_skel(struct aod_proc_probe *pp)
{
	probe_detach(&pp->po);
	aod_proc__destroy(pp->skel);
	pp->skel = NULL;
	memset(&pp->po, 0, sizeof(pp->po));
}

static int load_mode(struct aod_proc_probe *pp, const char *mode,
		     const struct aod_proc_probe_opts *o, char *err, size_t len)
{
	bool btf = !strcmp(mode, "tp_btf");
	const char *progs[5], *load[6];
	uint32_t rb = ring_bytes(o->ring_mb);
	int ncpu = libbpf_num_possible_cpus(), e;

	pp->skel = aod_proc__open();
	if (!pp->skel) {
		e = -errno;
		snprintf(err, len, "open: %s", strerror(-e));
		return e;
	}
	pp->po.skel = pp->skel;
	pp->po.obj = pp->skel->obj;
	mode_programs(btf, o->failed_execs, progs, load);
	e = probe_select_programs(pp->skel->obj, load, err, len);
	if (e < 0)
		goto out;
	pp->skel->rodata->wakeup_bytes = rb / 16 < 65536 ? rb / 16 : 65536;
	if ((e = bpf_map__set_max_entries(pp->skel->maps.proc_events, rb)) ||
	    (e = bpf_map__set_max_entries(pp->skel->maps.proc_scratch,
					  ncpu > 0 ? (uint32_t)ncpu : 1))) {
		snprintf(err, len, "sizing maps: %s", strerror(-e));
		goto out;
	}
	e = aod_proc__load(pp->skel);
	if (e) {
		snprintf(err, len, "load: %s", probe_load_error(e));
		goto out;
	}
	if ((e = aod_proc_probe_configure(pp, o, err, len)))
		goto out;
	e = probe_attach_named(&pp->po, progs, err, len);
out:
	if (e)
		destroy_skel(pp);
	return e;
}

static int64_t boot_to_wall(void)
{
	struct timespec r, b;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_BOOTTIME, &b);
	return ((int64_t)r.tv_sec - b.tv_sec) * 1000000000LL + (r.tv_nsec - b.tv_nsec);
}

static int open_modes(const char *only, const struct aod_proc_probe_opts *o, aod_proc_fn fn,
		      void *ctx, struct ring_buffer *shared, struct aod_proc_probe **out,
		      char *err, size_t errlen)
{
	struct aod_proc_probe *pp;
	char one[PROBE_ERR_LEN];
	size_t used = 0;
	int e = -ENOENT;

	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->fn = fn;
	pp->ctx = ctx;
	pp->argv_cap = o->argv_cap ? o->argv_cap : AOD_PROC_ARGV_DEFAULT;
	probe_libbpf_log_init();
	probe_raise_memlock();
	err[0] = '\0';
	for (const char *const *m = proc_modes; *m; m++) {
		if (only && strcmp(only, *m))
			continue;
		e = load_mode(pp, *m, o, one, sizeof(one));
		if (!e) {
			pp->mode = *m;
			break;
		}
		log_debug("probe proc: %s: %s", *m, one);
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s%s: %s",
						 used ? "; " : "", *m, one);
	}
	if (e)
		goto fail;
	if (shared) {
		e = ring_buffer__add(shared, bpf_map__fd(pp->skel->maps.proc_events), on_sample, pp);
		if (e) {
			snprintf(err, errlen, "adding the ring to the consumer: %s", strerror(-e));
			goto fail;
		}
		pp->rb = shared;
		pp->rb_shared = true;
	} else {
		pp->rb = ring_buffer__new(bpf_map__fd(pp->skel->maps.proc_events), on_sample, pp,
					  NULL);
		if (!pp->rb) {
			e = -errno;
			snprintf(err, errlen, "ring consumer: %s", strerror(-e));
			goto fail;
		}
	}
	pp->boot_to_wall_ns = boot_to_wall();
	*out = pp;
	return 0;
fail:
	aod_proc_probe_close(pp);
	return e;
}

int aod_proc_probe_open(const struct aod_proc_probe_opts *o, aod_proc_fn fn, void *ctx,
			struct aod_proc_probe **out, char *err, size_t errlen)
{
	const char *force = getenv("AOD_PROC_ATTACH");

	if (force && *force && !probe_mode_valid(force, proc_modes)) {
		snprintf(err, errlen, "AOD_PROC_ATTACH=%s: expected tp_btf or raw_tp", force);
		return -EINVAL;
	}
	return open_modes(force && *force ? force : NULL, o, fn, ctx, NULL, out, err, errlen);
}

int aod_proc_probe_open_mode(const char *mode, const struct aod_proc_probe_opts *o,
			     aod_proc_fn fn, void *ctx, struct ring_buffer *rb,
			     struct aod_proc_probe **out, char *err, size_t errlen)
{
	return open_modes(mode, o, fn, ctx, rb, out, err, errlen);
}

int aod_proc_probe_counters_fd(const struct aod_proc_probe *pp)
{
	return bpf_map__fd(pp->skel->maps.proc_counters);
}

struct bpf_object *aod_proc_probe_object(const struct aod_proc_probe *pp)
{
	return pp->skel->obj;
}

const char *const *aod_proc_probe_modes(void)
{
	return proc_modes;
}

/* ---- seed ---- */

/* /proc/PID/cmdline, at most cap bytes; returns the bytes read (0: none). */
static size_t read_cmdline(uint32_t pid, char *buf, size_t cap, bool *truncated)
{
	char path[64], extra;
	size_t n = 0;
	ssize_t r;
	FILE *f;

	*truncated = false;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	r = n == cap ? (ssize_t)fread(&extra, 1, 1, f) : 0;
	*truncated = r > 0;
	fclose(f);
	return n;
}

static void seed_one(struct aod_proc_probe *pp, const struct aod_proc_hdr *h, char *argv)
{
	struct aod_proc_event ev = { .h = h };
	char path[64], exe[AOD_PROC_FILENAME_LEN];
	ssize_t n;

	ev.wall_ns = to_wall(pp, h->ts_ns);
	ev.start_wall_ns = to_wall(pp, h->start_ns);
	snprintf(path, sizeof(path), "/proc/%u/exe", h->tgid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		ev.filename = exe;
	}
	ev.argv_len = read_cmdline(h->tgid, argv, pp->argv_cap, &ev.argv_truncated);
	ev.argv = ev.argv_len ? argv : NULL;
	pp->fn(pp->ctx, &ev);
}

int aod_proc_probe_seed(struct aod_proc_probe *pp)
{
	struct bpf_link *link = bpf_program__attach_iter(pp->skel->progs.aod_proc_seed, NULL);
	size_t cap = 64 * sizeof(struct aod_proc_hdr), have = 0;
	char *argv = malloc(pp->argv_cap), *buf = malloc(cap);
	int fd = -1, n = 0, e = 0;
	ssize_t got;

	if (!link || !argv || !buf) {
		e = link ? -ENOMEM : -errno;
		goto out;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
		goto out;
	}
	/* a read may end inside a record: keep the rest for the next one */
	while ((got = read(fd, buf + have, cap - have)) > 0) {
		size_t off = 0;

		have += (size_t)got;
		for (; have - off >= sizeof(struct aod_proc_hdr); off += sizeof(struct aod_proc_hdr)) {
			struct aod_proc_hdr h;

			memcpy(&h, buf + off, sizeof(h));
			seed_one(pp, &h, argv);
			n++;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	if (got < 0)
		e = -errno;
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	free(argv);
	free(buf);
	return e ? e : n;
}

int aod_proc_probe_poll(struct aod_proc_probe *pp, int timeout_ms)
{
	int n = ring_buffer__poll(pp->rb, timeout_ms), m;

	if (n < 0 && n != -EINTR)
		return n;
	m = ring_buffer__consume(pp->rb); /* records submitted without a wakeup */
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
}

int aod_proc_probe_counters(struct aod_proc_probe *pp, uint64_t out[AOD_PROC_CNT_MAX])
{
	return probe_sum_percpu(bpf_map__fd(pp->skel->maps.proc_counters), AOD_PROC_CNT_MAX, out);
}

const char *aod_proc_probe_mode(const struct aod_proc_probe *pp)
{
	return pp->mode ? pp->mode : "";
}

void aod_proc_probe_close(struct aod_proc_probe *pp)
{
	if (!pp)
		return;
	if (!pp->rb_shared)
		ring_buffer__free(pp->rb);
	if (pp->skel)
		destroy_skel(pp);
	free(pp);
}
