// SPDX-License-Identifier: MIT
/*
 * Loading the TCP probe (src/bpf/tcp.bpf.c): one attach mode for the
 * tracepoint programs (tp_btf, else raw_tp) plus one window-clamp hook,
 * tried in this order unless AOD_TCP_CLAMP forces one:
 *   tp      tcp:tcp_rcvbuf_grow, same flavour as the mode, when the kernel
 *           has that tracepoint (6.18 has, 6.1 not; found by attaching a no-op raw_tp)
 *   fentry  fexit tcp_try_rmem_schedule (older kernels; EPERM here)
 *   kprobe  kprobe + kretprobe tcp_try_rmem_schedule
 *   none    window clamps are not counted (logged)
 * Also: the TCP knobs, and reading the histograms and counters for the
 * exporter API (probes.h). TCP has no in-flight sweep: a connect leaves the
 * kernel's map when its socket leaves SYN_SENT, whatever the outcome.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "probe/hist.h"
#include "probe/probe_int.h"
#include "tcp.skel.h"

const char *const aod_tcp_modes[] = { "tp_btf", "raw_tp", NULL };

#define NPROGS 9 /* the largest set below, with its NULL */

static const char *const tp_btf_progs[] = {
	"aod_tcp_st_bt", "aod_tcp_rtt_bt", "aod_tcp_rtx_bt", "aod_tcp_sar_bt",
	"aod_tcp_rsts_bt", "aod_tcp_rstr_bt", NULL,
};
static const char *const raw_tp_progs[] = {
	"aod_tcp_st_rt", "aod_tcp_rtt_rt", "aod_tcp_rtx_rt", "aod_tcp_sar_rt",
	"aod_tcp_rsts_rt", "aod_tcp_rstr_rt", NULL,
};

struct clamp_hook {
	enum aod_tcp_clamp_hook id;
	const char *name;   /* AOD_TCP_CLAMP value */
	const char *suffix; /* appended to the mode in aod status */
};

static const struct clamp_hook clamp_hooks[] = {
	{ AOD_TCP_CLAMP_TP, "tp", "" },
	{ AOD_TCP_CLAMP_FENTRY, "fentry", "+fentry" },
	{ AOD_TCP_CLAMP_KPROBE, "kprobe", "+kprobe" },
	{ AOD_TCP_CLAMP_NONE, "none", "-clamps" },
};
#define NHOOKS (sizeof(clamp_hooks) / sizeof(clamp_hooks[0]))

/* The programs of mode + hook, NULL-terminated, into out[NPROGS]. */
static int mode_programs(const char *mode, enum aod_tcp_clamp_hook hook, const char **out)
{
	const char *const *base = !strcmp(mode, "tp_btf") ? tp_btf_progs
				  : !strcmp(mode, "raw_tp") ? raw_tp_progs : NULL;
	int n = 0;

	if (!base)
		return -EINVAL;
	while (base[n]) {
		out[n] = base[n];
		n++;
	}
	if (hook == AOD_TCP_CLAMP_TP)
		out[n++] = base == tp_btf_progs ? "aod_tcp_rcvb_bt" : "aod_tcp_rcvb_rt";
	else if (hook == AOD_TCP_CLAMP_FENTRY)
		out[n++] = "aod_tcp_rmem_fx";
	if (hook == AOD_TCP_CLAMP_KPROBE) {
		out[n++] = "aod_tcp_rmem_kp";
		out[n++] = "aod_tcp_rmem_kr";
	}
	out[n] = NULL;
	return 0;
}

/*
 * Does the kernel have a tracepoint? A no-op raw_tp program attached for a
 * moment says so without tracefs or a BTF parse.
 */
static bool raw_tp_exists(const char *name)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog, link;

	prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 2, NULL);
	if (prog < 0)
		return false;
	link = bpf_raw_tracepoint_open(name, prog);
	close(prog);
	if (link < 0)
		return false;
	close(link);
	return true;
}

/* ---- knobs ---- */

static int tcp_write_knobs(struct probe_obj *po, const void *knobs, bool late_watch)
{
	const struct aod_tcp_knob_set *k = knobs;
	struct aod_tcp *skel = po->skel;
	__u32 zero = 0;
	int err;

	(void)late_watch; /* no in-flight sweep: nothing expires */
	err = probe_sync_hash(bpf_map__fd(skel->maps.tcp_port_thresh), k->port,
			      sizeof(k->port[0]), sizeof(__u32),
			      offsetof(struct aod_knob_port, thresh_ns), k->nport);
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.tcp_knobs), &zero, &k->k, BPF_ANY))
		return -errno;
	return 0;
}

/* The "other" key of each histogram, there before the map can fill. */
static int insert_other_keys(struct aod_tcp *skel)
{
	const struct bpf_map *maps[AOD_TCP_NHISTS] = {
		[AOD_TCP_HIST_CONNECT] = skel->maps.tcp_hist_connect,
		[AOD_TCP_HIST_ACCEPT] = skel->maps.tcp_hist_accept,
		[AOD_TCP_HIST_RTT] = skel->maps.tcp_hist_rtt,
	};
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct aod_tcp_hist *zero; /* one per CPU: the maps are per-CPU */
	__u32 key = AOD_TCP_PORT_OTHER;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (int i = 0; i < AOD_TCP_NHISTS && !err; i++)
		if (bpf_map_update_elem(bpf_map__fd(maps[i]), &key, zero, BPF_NOEXIST) &&
		    errno != EEXIST)
			err = -errno;
	free(zero);
	return err;
}

/* ---- load ---- */

static void tcp_probe_destroy(struct probe_obj *po)
{
	probe_detach(po);
	aod_tcp__destroy(po->skel);
	memset(po, 0, sizeof(*po));
}

static int open_select(struct probe_obj *po, const char *const *progs,
		       enum aod_tcp_clamp_hook hook, const struct probe_load_env *env,
		       char *err, size_t len)
{
	struct aod_tcp *skel = aod_tcp__open();
	int e;

	if (!skel) {
		e = -errno;
		snprintf(err, len, "open: %s", strerror(-e));
		return e;
	}
	po->skel = skel;
	e = probe_use_object(po, skel->obj, skel->maps.events, progs, env->ring_fd, err, len);
	if (e)
		return e;
	if (hook != AOD_TCP_CLAMP_KPROBE)
		bpf_map__set_max_entries(skel->maps.tcp_rmem_stash, 1);
	skel->rodata->wakeup_bytes = env->wakeup_bytes;
	return 0;
}

/* One mode with one clamp hook: open, load, knobs, attach. */
static int load_with(struct probe_obj *po, const char *mode, const struct clamp_hook *hook,
		     const struct probe_load_env *env, const void *knobs, char *err, size_t len)
{
	const char *progs[NPROGS];
	struct aod_tcp *skel;
	int e;

	memset(po, 0, sizeof(*po));
	if (mode_programs(mode, hook->id, progs)) {
		snprintf(err, len, "unknown mode");
		return -EINVAL;
	}
	e = open_select(po, progs, hook->id, env, err, len);
	skel = po->skel;
	if (!e && (e = aod_tcp__load(skel)))
		snprintf(err, len, "load: %s", probe_load_error(e));
	if (!e) {
		po->counters_fd = bpf_map__fd(skel->maps.counters);
		po->inflight_fd = -1; /* not swept */
		po->mode_suffix = hook->suffix;
		if ((e = insert_other_keys(skel)) || (e = tcp_write_knobs(po, knobs, false)))
			snprintf(err, len, "writing maps: %s", strerror(-e));
	}
	if (!e)
		e = probe_attach_named(po, progs, err, len);
	if (e && po->skel)
		tcp_probe_destroy(po);
	return e;
}

static const struct clamp_hook *hook_named(const char *name)
{
	for (size_t i = 0; i < NHOOKS; i++)
		if (!strcmp(clamp_hooks[i].name, name))
			return &clamp_hooks[i];
	return NULL;
}

static int tcp_probe_load(struct probe_obj *po, const char *mode,
			  const struct probe_load_env *env, const void *knobs, char *err,
			  size_t len)
{
	const char *force = getenv("AOD_TCP_CLAMP");
	const struct clamp_hook *h = force && *force ? hook_named(force) : NULL;
	uint64_t t0 = aod_mono_ns();
	size_t first = raw_tp_exists("tcp_rcvbuf_grow") ? 0 : 1;
	int e = -ENOENT;

	if (force && *force && !h) {
		snprintf(err, len, "AOD_TCP_CLAMP=%s: expected tp, fentry, kprobe or none", force);
		return -EINVAL;
	}
	for (size_t i = h ? 0 : first; i < NHOOKS; i++) {
		const struct clamp_hook *try = h ? h : &clamp_hooks[i];

		e = load_with(po, mode, try, env, knobs, err, len);
		if (!e) {
			if (try->id == AOD_TCP_CLAMP_NONE)
				log_warn("probe tcp (%s): %s: window clamps not counted", mode,
					 h ? "AOD_TCP_CLAMP=none"
					   : "no tcp_rcvbuf_grow tracepoint, and fentry and kprobe "
					     "on tcp_try_rmem_schedule failed");
			log_debug("probe tcp (%s, clamps: %s): loaded in %.1f ms", mode, try->name,
				  (double)(aod_mono_ns() - t0) / 1e6);
			return 0;
		}
		log_debug("probe tcp (%s, clamps: %s): %s", mode, try->name, err);
		if (h)
			break;
	}
	return e;
}

/* ---- reading, for the exporter API ---- */

static int hist_fd(struct probe_obj *po, enum aod_tcp_hist_kind kind)
{
	struct aod_tcp *skel = po->skel;

	switch (kind) {
	case AOD_TCP_HIST_CONNECT: return bpf_map__fd(skel->maps.tcp_hist_connect);
	case AOD_TCP_HIST_ACCEPT: return bpf_map__fd(skel->maps.tcp_hist_accept);
	case AOD_TCP_HIST_RTT: return bpf_map__fd(skel->maps.tcp_hist_rtt);
	default: return -EINVAL;
	}
}

/* Sums the per-CPU copies of one histogram. */
static void sum_cpus(const struct aod_tcp_hist *v, int ncpu, struct aod_tcp_hist *out)
{
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++) {
		aod_hist_merge(&out->hist, &v[c].hist);
		out->sum_ns += v[c].sum_ns;
	}
}

int tcp_probe_hist_copy(struct probe_obj *po, enum aod_tcp_hist_kind kind,
			struct tcp_hist_entry *out, int max)
{
	int fd = hist_fd(po, kind), ncpu = libbpf_num_possible_cpus(), n = 0, err;
	struct aod_tcp_hist *v;
	__u32 key, next;

	if (fd < 0)
		return fd;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v)); /* 264 bytes: already 8-aligned per CPU */
	if (!v)
		return -ENOMEM;
	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err && n < max) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, v)) {
			out[n].kind = kind;
			out[n].port = key;
			sum_cpus(v, ncpu, &out[n].hist);
			n++;
		}
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	free(v);
	return n;
}

int tcp_probe_counters(struct probe_obj *po, uint64_t out[AOD_TCP_CNT_MAX])
{
	struct aod_tcp *skel = po->skel;

	return probe_sum_percpu(bpf_map__fd(skel->maps.tcp_counters), AOD_TCP_CNT_MAX, out);
}

/* ---- the table entry ---- */

static void tcp_compute_knobs(const struct aod_config *cfg, bool record_all, void *knobs)
{
	aod_knobs_tcp(cfg, record_all, knobs);
}

static bool tcp_knobs_needed(const void *knobs)
{
	return ((const struct aod_tcp_knob_set *)knobs)->needed;
}

static bool tcp_knobs_equal(const void *a, const void *b)
{
	return !memcmp(a, b, sizeof(struct aod_tcp_knob_set));
}

static uint64_t tcp_stuck_threshold(const void *knobs)
{
	(void)knobs;
	return AOD_THRESH_OFF; /* no in-flight sweep */
}

const struct probe_ops aod_tcp_probe_ops = {
	.name = "tcp",
	.force_env = "AOD_TCP_ATTACH",
	.modes = aod_tcp_modes,
	.enable_offset = offsetof(struct aod_config, probes.tcp),
	.knobs_size = sizeof(struct aod_tcp_knob_set),
	.compute_knobs = tcp_compute_knobs,
	.knobs_needed = tcp_knobs_needed,
	.knobs_equal = tcp_knobs_equal,
	.stuck_threshold_ns = tcp_stuck_threshold,
	.load = tcp_probe_load,
	.write_knobs = tcp_write_knobs,
	.destroy = tcp_probe_destroy,
	.kind_slow = AOD_RAW_TCP_CONNECT,
	.kind_err = AOD_RAW_TCP_RETRANS, /* and AOD_RAW_TCP_RESET */
};
