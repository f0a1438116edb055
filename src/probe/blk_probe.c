// SPDX-License-Identifier: MIT
/* Loading the block I/O probe (src/bpf/block.bpf.c) in one attach mode. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bpf/inflight.bpf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probe_int.h"
#include "block.skel.h"

const char *const aod_blk_modes[] = { "tp_btf", "raw_tp", NULL };

static const char *const tp_btf_progs[] = { "aod_blk_iss_bt", "aod_blk_done_bt", NULL };
static const char *const raw_tp_progs[] = { "aod_blk_iss_rt", "aod_blk_done_rt", NULL };

static const char *const *mode_programs(const char *mode)
{
	if (!strcmp(mode, "tp_btf"))
		return tp_btf_progs;
	if (!strcmp(mode, "raw_tp"))
		return raw_tp_progs;
	return NULL;
}

static int blk_probe_write_knobs(struct probe_obj *po, const void *knobs, bool late_watch)
{
	const struct aod_blk_knob_set *k = knobs;
	struct aod_block *skel = po->skel;
	struct aod_blk_knobs one = k->k;
	__u32 zero = 0;
	int err;

	err = probe_sync_hash(bpf_map__fd(skel->maps.blk_dev_thresh), k->dev,
			      sizeof(k->dev[0]), sizeof(__u32),
			      offsetof(struct aod_knob_dev, thresh_ns), k->ndev);
	if (err)
		return err;
	one.late_watch = late_watch;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.blk_knobs), &zero, &one, BPF_ANY))
		return -errno;
	return 0;
}

static void blk_probe_destroy(struct probe_obj *po);

static int blk_probe_load(struct probe_obj *po, const char *mode,
			  const struct probe_load_env *env, const void *k, char *err,
			  size_t len)
{
	const char *const *progs = mode_programs(mode);
	struct aod_block *skel;
	uint64_t t0 = aod_mono_ns(), t1, t2;
	int e;

	memset(po, 0, sizeof(*po));
	if (!progs) {
		snprintf(err, len, "unknown mode");
		return -EINVAL;
	}
	skel = aod_block__open();
	if (!skel) {
		e = -errno;
		snprintf(err, len, "open: %s", strerror(-e));
		return e;
	}
	po->skel = skel;
	e = probe_use_object(po, skel->obj, skel->maps.events, progs, env->ring_fd, err, len);
	if (e)
		goto fail;
	skel->rodata->wakeup_bytes = env->wakeup_bytes;
	t1 = aod_mono_ns();
	e = aod_block__load(skel);
	if (e) {
		snprintf(err, len, "load: %s", probe_load_error(e));
		goto fail;
	}
	t2 = aod_mono_ns();
	po->counters_fd = bpf_map__fd(skel->maps.counters);
	po->inflight_fd = bpf_map__fd(skel->maps.blk_inflight);
	po->inflight_key_size = sizeof(__u64);
	po->inflight_value_size = sizeof(struct aod_blk_start);
	e = blk_probe_write_knobs(po, k, false);
	if (e) {
		snprintf(err, len, "writing knobs: %s", strerror(-e));
		goto fail;
	}
	e = probe_attach_named(po, progs, err, len);
	if (e)
		goto fail;
	log_debug("probe block (%s): open %.1f ms, load %.1f ms, knobs+attach %.1f ms", mode,
		  (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(aod_mono_ns() - t2) / 1e6);
	return 0;
fail:
	blk_probe_destroy(po);
	return e;
}

int blk_probe_hist_map_fd(struct probe_obj *po)
{
	struct aod_block *skel = po->skel;

	return bpf_map__fd(skel->maps.blk_hist);
}

static void blk_probe_destroy(struct probe_obj *po)
{
	probe_detach(po);
	aod_block__destroy(po->skel);
	memset(po, 0, sizeof(*po));
}

/* ---- the table entry ---- */

static void blk_compute_knobs(const struct aod_config *cfg, bool record_all, void *knobs)
{
	aod_knobs_blk(cfg, record_all, "/sys/class/block", knobs);
}

static bool blk_knobs_needed(const void *knobs)
{
	return ((const struct aod_blk_knob_set *)knobs)->needed;
}

static bool blk_knobs_equal(const void *a, const void *b)
{
	return aod_knobs_blk_equal(a, b);
}

static uint64_t blk_stuck_threshold(const void *knobs)
{
	return ((const struct aod_blk_knob_set *)knobs)->k.emergency_ns;
}

static void blk_inflight_entry(const void *key, const void *value, struct aod_op_id *id,
			       struct aod_raw_event *rec)
{
	const struct aod_blk_start *v = value;

	(void)key; /* a kernel pointer: never leaves this function */
	id->a = v->dev;
	id->b = v->sector;
	id->start_ns = v->ts_ns;
	probe_rec_for_task(rec, AOD_RAW_BLK_STUCK, v->pid, v->tgid, v->comm);
	rec->blk.dev = v->dev;
	rec->blk.sector = v->sector;
	rec->blk.op = v->op;
	rec->blk.bytes = v->bytes;
}

static void blk_record_id(const struct aod_raw_event *rec, struct aod_op_id *id)
{
	id->a = rec->blk.dev;
	id->b = rec->blk.sector;
	id->start_ns = rec->blk.latency_ns ? rec->h.ts_ns - rec->blk.latency_ns : 0;
}

static void blk_fill_late(struct aod_raw_event *rec, const struct aod_raw_event *start)
{
	probe_rec_task_from(rec, start);
	rec->blk.op = start->blk.op;
	if (!rec->blk.bytes)
		rec->blk.bytes = start->blk.bytes;
}

static void blk_hist_key(const struct aod_raw_event *rec, uint32_t *a, uint32_t *b)
{
	*a = rec->blk.dev;
	*b = rec->blk.op;
}

const struct probe_ops aod_blk_probe_ops = {
	.name = "block",
	.force_env = "AOD_BLK_ATTACH",
	.modes = aod_blk_modes,
	.refresh_each_tick = true, /* devices appear and get their threshold */
	.enable_offset = offsetof(struct aod_config, probes.block),
	.knobs_size = sizeof(struct aod_blk_knob_set),
	.compute_knobs = blk_compute_knobs,
	.knobs_needed = blk_knobs_needed,
	.knobs_equal = blk_knobs_equal,
	.stuck_threshold_ns = blk_stuck_threshold,
	.load = blk_probe_load,
	.write_knobs = blk_probe_write_knobs,
	.destroy = blk_probe_destroy,
	.kind_slow = AOD_RAW_BLK_SLOW,
	.kind_err = AOD_RAW_BLK_ERR,
	.kind_unmatched = AOD_RAW_BLK_UNMATCHED,
	.kind_stuck = AOD_RAW_BLK_STUCK,
	.inflight_entry = blk_inflight_entry,
	.record_id = blk_record_id,
	.fill_late = blk_fill_late,
	.hist_key = blk_hist_key,
};
