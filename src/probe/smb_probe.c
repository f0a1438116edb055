// SPDX-License-Identifier: MIT
/* Loading the SMB probe (src/bpf/smb.bpf.c) in one attach mode. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/inflight.bpf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probe_int.h"
#include "smb.skel.h"

const char *const aod_smb_modes[] = { "raw_tp", "tp_btf", "fentry", "kprobe", NULL };

static const char *const raw_tp_progs[] = {
	"aod_smb_ent_rt", "aod_smb_done_rt", "aod_smb_err_rt", "aod_smb_rcn_rt", NULL,
};
static const char *const tp_btf_progs[] = {
	"aod_smb_ent_bt", "aod_smb_done_bt", "aod_smb_err_bt", "aod_smb_rcn_bt", NULL,
};
static const char *const fentry_progs[] = {
	"aod_smb_ent_fx", "aod_smb_end_fx", NULL,
};
static const char *const kprobe_progs[] = {
	"aod_smb_ent_kp", "aod_smb_end_kp", "aod_smb_end_krp", NULL,
};

static const char *const *mode_programs(const char *mode)
{
	if (!strcmp(mode, "raw_tp"))
		return raw_tp_progs;
	if (!strcmp(mode, "tp_btf"))
		return tp_btf_progs;
	if (!strcmp(mode, "fentry"))
		return fentry_progs;
	if (!strcmp(mode, "kprobe"))
		return kprobe_progs;
	return NULL;
}

/* Any of these means cifs is in the kernel (module loaded or built in). */
static bool smb_kernel_side_present(char *why, size_t len)
{
	static const char *const paths[] = {
		"/sys/module/cifs",
		"/sys/kernel/btf/cifs",
		"/sys/kernel/tracing/events/cifs",
		"/sys/kernel/debug/tracing/events/cifs",
		NULL,
	};

	for (const char *const *p = paths; *p; p++)
		if (!access(*p, F_OK)) {
			snprintf(why, len, "found %s", *p);
			return true;
		}
	snprintf(why, len, "cifs module not loaded (no /sys/module/cifs); "
		 "attaching when it appears");
	return false;
}

int smb_probe_write_knobs(struct probe_obj *po, const struct aod_smb_knob_set *k,
			  bool late_watch)
{
	struct aod_smb *skel = po->skel;
	int fd = bpf_map__fd(skel->maps.smb_thresh);
	struct aod_smb_knobs one = k->k;
	__u32 zero = 0;
	int err;

	for (__u32 c = 0; c < AOD_SMB_NCMDS; c++)
		if (bpf_map_update_elem(fd, &c, &k->thresh_ns[c], BPF_ANY))
			return -errno;
	err = probe_sync_hash(bpf_map__fd(skel->maps.smb_pair_verdict), k->pair,
			      sizeof(k->pair[0]), sizeof(k->pair[0].key),
			      offsetof(struct aod_knob_pair, verdict), k->npair);
	if (!err)
		err = probe_sync_hash(bpf_map__fd(skel->maps.smb_status_verdict),
				      k->status, sizeof(k->status[0]), sizeof(__u32),
				      offsetof(struct aod_knob_status, verdict), k->nstatus);
	if (!err)
		err = probe_sync_hash(bpf_map__fd(skel->maps.smb_rc_verdict),
				      k->rc, sizeof(k->rc[0]), sizeof(__s32),
				      offsetof(struct aod_knob_rc, verdict), k->nrc);
	if (err)
		return err;
	one.late_watch = late_watch;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.smb_knobs), &zero, &one, BPF_ANY))
		return -errno;
	return 0;
}

int smb_probe_prepare(struct probe_obj *po, const char *mode,
		      const struct probe_load_env *env,
		      const struct aod_smb_knob_set *k, char *err, size_t len)
{
	const char *const *progs = mode_programs(mode);
	struct aod_smb *skel;
	uint64_t t0 = aod_mono_ns();
	int e;

	memset(po, 0, sizeof(*po));
	if (!progs) {
		snprintf(err, len, "unknown mode");
		return -EINVAL;
	}
	skel = aod_smb__open();
	if (!skel) {
		e = -errno;
		snprintf(err, len, "open: %s", strerror(-e));
		return e;
	}
	po->skel = skel;
	e = probe_use_object(po, skel->obj, skel->maps.events, progs, env->ring_fd, err, len);
	if (e)
		goto fail;
	/* the per-thread stash is only used by the kprobe pair */
	if (strcmp(mode, "kprobe"))
		bpf_map__set_max_entries(skel->maps.smb_kp_stash, 1);
	skel->rodata->wakeup_bytes = env->wakeup_bytes;
	e = aod_smb__load(skel);
	if (e) {
		snprintf(err, len, "load: %s", probe_load_error(e));
		goto fail;
	}
	po->counters_fd = bpf_map__fd(skel->maps.counters);
	po->inflight_fd = bpf_map__fd(skel->maps.smb_inflight);
	po->inflight_key_size = sizeof(struct aod_smb_key);
	po->inflight_value_size = sizeof(struct aod_smb_start);
	e = smb_probe_write_knobs(po, k, false);
	if (e) {
		snprintf(err, len, "writing knobs: %s", strerror(-e));
		goto fail;
	}
	log_debug("probe smb (%s): open+load %.1f ms", mode, (double)(aod_mono_ns() - t0) / 1e6);
	return 0;
fail:
	smb_probe_destroy(po);
	return e;
}

static int smb_probe_load(struct probe_obj *po, const char *mode,
			  const struct probe_load_env *env, const void *knobs, char *err,
			  size_t len)
{
	const struct aod_smb_knob_set *k = knobs;
	int e = smb_probe_prepare(po, mode, env, k, err, len);

	if (e)
		return e;
	e = probe_attach_named(po, mode_programs(mode), err, len);
	if (e)
		smb_probe_destroy(po);
	return e;
}

int smb_probe_hist(struct probe_obj *po, unsigned cmd, struct aod_hist *out)
{
	struct aod_smb *skel = po->skel;
	__u32 key = cmd;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.smb_hist), &key, out))
		return -errno;
	return 0;
}

/* Copies up to max (key, value) pairs of a hash map; returns how many. */
static int hash_copy(int fd, size_t ksz, size_t vsz, void *keys, void *vals, int max)
{
	char key[64], next[64];
	int n = 0, err;

	if (ksz > sizeof(key))
		return -EINVAL;
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err && n < max) {
		memcpy(key, next, ksz);
		if (!bpf_map_lookup_elem(fd, key, (char *)vals + (size_t)n * vsz)) {
			memcpy((char *)keys + (size_t)n * ksz, key, ksz);
			n++;
		}
		err = bpf_map_get_next_key(fd, key, next);
	}
	return n;
}

int smb_probe_share_hists(struct probe_obj *po, struct aod_smb_share_hist *out, int max)
{
	struct aod_smb *skel = po->skel;
	struct aod_smb_share_key *k = calloc((size_t)max, sizeof(*k));
	struct aod_hist *h = calloc((size_t)max, sizeof(*h));
	int n = -ENOMEM;

	if (k && h) {
		n = hash_copy(bpf_map__fd(skel->maps.smb_share_hist), sizeof(*k), sizeof(*h), k, h,
			      max);
		for (int i = 0; i < n; i++) {
			out[i].key = k[i];
			out[i].hist = h[i];
		}
	}
	free(k);
	free(h);
	return n;
}

int smb_probe_err_counts(struct probe_obj *po, struct aod_smb_err_count *out, int max)
{
	struct aod_smb *skel = po->skel;
	struct aod_smb_errcnt_key *k = calloc((size_t)max, sizeof(*k));
	__u64 *v = calloc((size_t)max, sizeof(*v));
	int n = -ENOMEM;

	if (k && v) {
		n = hash_copy(bpf_map__fd(skel->maps.smb_err_count), sizeof(*k), sizeof(*v), k, v,
			      max);
		for (int i = 0; i < n; i++) {
			out[i].key = k[i];
			out[i].count = v[i];
		}
	}
	free(k);
	free(v);
	return n;
}

void smb_probe_destroy(struct probe_obj *po)
{
	probe_detach(po);
	aod_smb__destroy(po->skel);
	memset(po, 0, sizeof(*po));
}

/* ---- the table entry ---- */

static void smb_compute_knobs(const struct aod_config *cfg, bool record_all, void *knobs)
{
	aod_knobs_smb(cfg, record_all, knobs);
}

static bool smb_knobs_needed(const void *knobs)
{
	return ((const struct aod_smb_knob_set *)knobs)->needed;
}

static bool smb_knobs_equal(const void *a, const void *b)
{
	return !memcmp(a, b, sizeof(struct aod_smb_knob_set));
}

static uint64_t smb_stuck_threshold(const void *knobs)
{
	return ((const struct aod_smb_knob_set *)knobs)->k.emergency_ns;
}

static int smb_write_knobs(struct probe_obj *po, const void *knobs, bool late_watch)
{
	return smb_probe_write_knobs(po, knobs, late_watch);
}

static void smb_inflight_entry(const void *key, const void *value, struct aod_op_id *id,
			       struct aod_raw_event *rec)
{
	const struct aod_smb_key *k = key;
	const struct aod_smb_start *v = value;

	id->a = k->sesid;
	id->b = k->mid;
	id->start_ns = v->ts_ns;
	probe_rec_for_task(rec, AOD_RAW_SMB_STUCK, v->pid, v->tgid, v->comm);
	rec->smb.sesid = k->sesid;
	rec->smb.mid = k->mid;
	rec->smb.tid = v->tid;
	rec->smb.cmd = v->cmd;
}

static void smb_record_id(const struct aod_raw_event *rec, struct aod_op_id *id)
{
	id->a = rec->smb.sesid;
	id->b = rec->smb.mid;
	id->start_ns = rec->smb.latency_ns ? rec->h.ts_ns - rec->smb.latency_ns : 0;
}

static void smb_fill_late(struct aod_raw_event *rec, const struct aod_raw_event *start)
{
	probe_rec_task_from(rec, start);
	rec->smb.tid = start->smb.tid;
	rec->smb.cmd = start->smb.cmd;
}

static void smb_hist_key(const struct aod_raw_event *rec, uint32_t *a, uint32_t *b)
{
	*a = rec->smb.cmd;
	*b = 0;
}

const struct probe_ops aod_smb_probe_ops = {
	.name = "smb",
	.force_env = "AOD_SMB_ATTACH",
	.modes = aod_smb_modes,
	.kernel_side_present = smb_kernel_side_present,
	.attach_retries = 3, /* the module may still be initialising */
	.enable_offset = offsetof(struct aod_config, probes.smb),
	.knobs_size = sizeof(struct aod_smb_knob_set),
	.compute_knobs = smb_compute_knobs,
	.knobs_needed = smb_knobs_needed,
	.knobs_equal = smb_knobs_equal,
	.stuck_threshold_ns = smb_stuck_threshold,
	.load = smb_probe_load,
	.write_knobs = smb_write_knobs,
	.destroy = smb_probe_destroy,
	.kind_slow = AOD_RAW_SMB_SLOW,
	.kind_err = AOD_RAW_SMB_ERR,
	.kind_unmatched = AOD_RAW_SMB_UNMATCHED,
	.kind_stuck = AOD_RAW_SMB_STUCK,
	.inflight_entry = smb_inflight_entry,
	.record_id = smb_record_id,
	.fill_late = smb_fill_late,
	.hist_key = smb_hist_key,
};
