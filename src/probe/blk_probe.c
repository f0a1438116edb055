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

int blk_probe_write_knobs(struct probe_obj *po, const struct aod_blk_knob_set *k)
{
	struct aod_block *skel = po->skel;
	__u32 zero = 0;
	int err;

	err = probe_sync_hash(bpf_map__fd(skel->maps.blk_dev_thresh), k->dev,
			      sizeof(k->dev[0]), sizeof(__u32),
			      offsetof(struct aod_knob_dev, thresh_ns), k->ndev);
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.blk_knobs), &zero, &k->k, BPF_ANY))
		return -errno;
	return 0;
}

int blk_probe_load(struct probe_obj *po, const char *mode,
		   const struct probe_load_env *env,
		   const struct aod_blk_knob_set *k, char *err, size_t len)
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
	po->obj = skel->obj;
	e = probe_select_programs(skel->obj, progs, err, len);
	if (e < 0)
		goto fail;
	e = bpf_map__reuse_fd(skel->maps.events, env->ring_fd);
	if (e) {
		snprintf(err, len, "reuse ring fd: %s", strerror(-e));
		goto fail;
	}
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
	e = blk_probe_write_knobs(po, k);
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

void blk_probe_destroy(struct probe_obj *po)
{
	probe_detach(po);
	aod_block__destroy(po->skel);
	memset(po, 0, sizeof(*po));
}
