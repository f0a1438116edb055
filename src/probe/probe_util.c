// SPDX-License-Identifier: MIT
/* Helpers shared by the probe loaders: libbpf logging, program selection
 * and attach, counters, in-flight map scans, knob map updates. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "probe/probe_int.h"

#define SWEEP_MAX_PER_TICK 16384 /* = the largest in-flight map */
#define MAX_KEY 64
#define MAX_VALUE 128

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	aod_vlog(level == LIBBPF_WARN ? AOD_LOG_WARN : AOD_LOG_DEBUG, fmt, ap);
	return 0;
}

void probe_libbpf_log_init(void)
{
	libbpf_set_print(libbpf_print);
}

/* Kernels since 5.11 charge BPF memory to the memory cgroup; before that
 * RLIMIT_MEMLOCK applies. Raising it may be refused (no
 * CAP_SYS_RESOURCE), which only matters on old kernels. */
void probe_raise_memlock(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		log_debug("probe: raising RLIMIT_MEMLOCK: %m (fine on kernels >= 5.11)");
}

bool probe_mode_valid(const char *mode, const char *const *modes)
{
	for (; *modes; modes++)
		if (!strcmp(mode, *modes))
			return true;
	return false;
}

static bool name_in(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

int probe_select_programs(struct bpf_object *obj, const char *const *names,
			  char *err, size_t len)
{
	struct bpf_program *prog;
	int found = 0;

	bpf_object__for_each_program(prog, obj) {
		bool want = name_in(bpf_program__name(prog), names);
		int e = bpf_program__set_autoload(prog, want);

		if (e) {
			snprintf(err, len, "set_autoload %s: %s",
				 bpf_program__name(prog), strerror(-e));
			return e;
		}
		found += want;
	}
	for (const char *const *n = names; *n; n++)
		if (!bpf_object__find_program_by_name(obj, *n)) {
			snprintf(err, len, "program %s missing from the object", *n);
			return -ENOENT;
		}
	return found;
}

int probe_use_object(struct probe_obj *po, struct bpf_object *obj, struct bpf_map *events,
		     const char *const *progs, int ring_fd, char *err, size_t len)
{
	int e;

	po->obj = obj;
	e = probe_select_programs(obj, progs, err, len);
	if (e < 0)
		return e;
	e = bpf_map__reuse_fd(events, ring_fd);
	if (e)
		snprintf(err, len, "reuse ring fd: %s", strerror(-e));
	return e;
}

int probe_attach_named(struct probe_obj *po, const char *const *names,
		       char *err, size_t len)
{
	for (; *names; names++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(po->obj, *names);
		struct bpf_link *link;

		if (po->nlinks == PROBE_MAX_LINKS) {
			snprintf(err, len, "too many programs");
			return -E2BIG;
		}
		link = prog ? bpf_program__attach(prog) : NULL;
		if (!link) {
			int e = prog ? -errno : -ENOENT;

			snprintf(err, len, "attach %s (%s): %s", *names,
				 prog ? bpf_program__section_name(prog) : "?",
				 strerror(-e));
			return e;
		}
		po->links[po->nlinks++] = link;
	}
	return 0;
}

const char *probe_load_error(int err)
{
	/* libbpf's answer when a tp_btf/fentry target is in no kernel BTF */
	if (err == -ESRCH)
		return "attach target not found in kernel BTF";
	return strerror(-err);
}

void probe_detach(struct probe_obj *po)
{
	for (int i = 0; i < po->nlinks; i++)
		bpf_link__destroy(po->links[i]);
	po->nlinks = 0;
}

int probe_sum_counters(int fd, uint64_t out[AOD_CNT_MAX])
{
	return probe_sum_percpu(fd, AOD_CNT_MAX, out);
}

int probe_sum_percpu(int fd, uint32_t n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int ret = 0;

	memset(out, 0, sizeof(uint64_t) * n);
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			ret = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return ret;
}

int probe_prog_stats(struct bpf_object *obj, struct aod_prog_stats *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || n == max)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].run_time_ns = info.run_time_ns;
		out[n].run_cnt = info.run_cnt;
		out[n].recursion_misses = info.recursion_misses;
		n++;
	}
	return n;
}

uint64_t probe_recursion_misses(struct bpf_object *obj)
{
	struct aod_prog_stats st[AOD_PROBE_MAX_PROGS];
	int n = probe_prog_stats(obj, st, AOD_PROBE_MAX_PROGS);
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += st[i].recursion_misses;
	return sum;
}

static uint64_t value_ts(const unsigned char *v)
{
	uint64_t ts;

	memcpy(&ts, v, sizeof(ts));
	return ts;
}

/* Delete key if its entry still starts at ts (not a reused key). */
static void delete_if_same(int fd, const unsigned char *key, uint64_t ts, size_t value_size)
{
	unsigned char val[MAX_VALUE];

	if (value_size <= MAX_VALUE && !bpf_map_lookup_elem(fd, key, val) && value_ts(val) == ts)
		bpf_map_delete_elem(fd, key);
}

/* The copy: BPF_MAP_LOOKUP_BATCH (5.6+), else key by key. Returns the count. */
static int copy_entries(int fd, size_t key_size, size_t value_size, unsigned char *keys,
			unsigned char *values, uint32_t max)
{
	unsigned char next[MAX_KEY], prev[MAX_KEY];
	uint32_t n = 0, count = max;
	__u64 batch = 0;
	int err;

	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, values, &count, NULL);
	if (!err || errno == ENOENT) /* ENOENT: the whole map fit */
		return (int)count;
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err && n < max) {
		memcpy(prev, next, key_size);
		if (!bpf_map_lookup_elem(fd, prev, values + n * value_size)) {
			memcpy(keys + n * key_size, prev, key_size);
			n++;
		}
		err = bpf_map_get_next_key(fd, prev, next);
	}
	return (int)n;
}

int probe_scan_map(struct probe_scan_buf *buf, int fd, size_t key_size, size_t value_size,
		   probe_entry_fn fn, void *ctx)
{
	int n;

	if (key_size > MAX_KEY || value_size > MAX_VALUE)
		return -EINVAL;
	if (!buf->keys)
		buf->keys = malloc(SWEEP_MAX_PER_TICK * MAX_KEY);
	if (!buf->values)
		buf->values = malloc(SWEEP_MAX_PER_TICK * MAX_VALUE);
	if (!buf->keys || !buf->values)
		return -ENOMEM;
	n = copy_entries(fd, key_size, value_size, buf->keys, buf->values, SWEEP_MAX_PER_TICK);
	for (int i = 0; i < n; i++) {
		const unsigned char *k = buf->keys + (size_t)i * key_size;
		const unsigned char *v = buf->values + (size_t)i * value_size;

		if (fn(ctx, k, v))
			delete_if_same(fd, k, value_ts(v), value_size);
	}
	return n;
}

void probe_scan_buf_free(struct probe_scan_buf *buf)
{
	free(buf->keys);
	free(buf->values);
	buf->keys = buf->values = NULL;
}

static bool entry_has_key(const unsigned char *entries, size_t entry_size,
			  size_t key_size, uint32_t n, const void *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (!memcmp(entries + i * entry_size, key, key_size))
			return true;
	return false;
}

int probe_sync_hash(int fd, const void *entries, size_t entry_size, size_t key_size,
		    size_t value_off, uint32_t n)
{
	const unsigned char *e = entries;
	unsigned char key[MAX_KEY], next[MAX_KEY], *stale = NULL;
	uint32_t nstale = 0, cap = 0;
	int err;

	if (key_size > MAX_KEY)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, e + i * entry_size,
					e + i * entry_size + value_off, BPF_ANY))
			return -errno;
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err) {
		memcpy(key, next, key_size);
		if (!entry_has_key(e, entry_size, key_size, n, key)) {
			if (nstale == cap) {
				unsigned char *ns;

				cap = cap ? cap * 2 : 32;
				ns = realloc(stale, cap * key_size);
				if (!ns) {
					free(stale);
					return -ENOMEM;
				}
				stale = ns;
			}
			memcpy(stale + nstale++ * key_size, key, key_size);
		}
		err = bpf_map_get_next_key(fd, key, next);
	}
	for (uint32_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(fd, stale + i * key_size);
	free(stale);
	return 0;
}

void probe_rec_for_task(struct aod_raw_event *rec, uint32_t kind, uint32_t pid, uint32_t tgid,
			const char comm[AOD_COMM_LEN])
{
	memset(rec, 0, sizeof(*rec));
	rec->h.kind = kind;
	rec->h.pid = pid;
	rec->h.tgid = tgid;
	memcpy(rec->h.comm, comm, sizeof(rec->h.comm));
}

void probe_rec_task_from(struct aod_raw_event *rec, const struct aod_raw_event *start)
{
	rec->h.pid = start->h.pid;
	rec->h.tgid = start->h.tgid;
	memcpy(rec->h.comm, start->h.comm, sizeof(rec->h.comm));
}
