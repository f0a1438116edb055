// SPDX-License-Identifier: MIT
/*
 * The process probe as an entry of the probe table (probes.c): loaded when
 * probes.proc is on (or auto with a procexit rule), its ring added to the table's consumer, so that its
 * records reach the agent from the same poll thread as every probe's
 * (through aod_probes_opts.proc_fn: a separate callback, since an exec
 * record has a variable size). The running processes are seeded right
 * after attach. Its counters follow enum aod_counter (proc.h), so status
 * and loss metrics read them like any probe's. No in-flight sweep.
 * probes.proc.failed_execs picks the programs loaded (the sys_exit hook):
 * a reload keeps its running value (a restart key, cfg_restart.c).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/log.h"
#include "probe/probe_int.h"
#include "probe/proc_probe.h"

/* The agent's process ring: its pages become resident as records wrap
 * through it, and the kernel maps it twice (8 MiB would cost 16 MiB of
 * RSS); 2 MiB holds ~5000 execs with short argv between two 50 ms polls. */
#define AGENT_RING_MB 2

struct proc_knob_set {
	bool needed;
	bool failed_execs; /* at load only (aod_proc_probe_open) */
	uint32_t argv_cap;
	uint32_t ncomm, nexe;
	char comm[AOD_PROC_CFG_COMM_MAX][16];
	char exe[AOD_PROC_CFG_EXE_MAX][AOD_PROC_CFG_EXE_LEN];
};

static void proc_compute_knobs(const struct aod_config *cfg, bool record_all, void *knobs)
{
	const struct aod_proc_config *pc = &cfg->probes.proc;
	struct proc_knob_set *k = knobs;

	(void)record_all; /* aod record does not decode process records */
	memset(k, 0, sizeof(*k));
	k->needed = aod_config_proc_needed(cfg); /* on, or auto with a procexit rule */
	k->failed_execs = pc->failed_execs;
	k->argv_cap = pc->argv_cap;
	k->ncomm = pc->ncomm;
	k->nexe = pc->nexe;
	memcpy(k->comm, pc->ignore_comm, sizeof(k->comm));
	memcpy(k->exe, pc->ignore_exe, sizeof(k->exe));
}

/* The probe's options from the knobs; lists point into k. */
static void opts_of(const struct proc_knob_set *k, struct aod_proc_probe_opts *o,
		    const char *comm[AOD_PROC_CFG_COMM_MAX + 1],
		    const char *exe[AOD_PROC_CFG_EXE_MAX + 1])
{
	for (uint32_t i = 0; i < k->ncomm; i++)
		comm[i] = k->comm[i];
	comm[k->ncomm] = NULL;
	for (uint32_t i = 0; i < k->nexe; i++)
		exe[i] = k->exe[i];
	exe[k->nexe] = NULL;
	*o = (struct aod_proc_probe_opts){
		.argv_cap = k->argv_cap, .ignore_comm = comm, .ignore_exe = exe,
		.ring_mb = AGENT_RING_MB, .failed_execs = k->failed_execs,
	};
}

static int proc_load(struct probe_obj *po, const char *mode, const struct probe_load_env *env,
		     const void *knobs, char *err, size_t len)
{
	const char *comm[AOD_PROC_CFG_COMM_MAX + 1], *exe[AOD_PROC_CFG_EXE_MAX + 1];
	struct aod_proc_probe_opts o;
	struct aod_proc_probe *pp;
	int e, n;

	memset(po, 0, sizeof(*po));
	if (!env->proc_fn) {
		snprintf(err, len, "no consumer for process records");
		return -EINVAL;
	}
	opts_of(knobs, &o, comm, exe);
	e = aod_proc_probe_open_mode(mode, &o, env->proc_fn, env->proc_ctx, env->rb, &pp, err, len);
	if (e)
		return e;
	po->skel = pp;
	po->obj = aod_proc_probe_object(pp);
	po->counters_fd = aod_proc_probe_counters_fd(pp);
	po->inflight_fd = -1;
	n = aod_proc_probe_seed(pp);
	if (n < 0)
		log_warn("probe proc: seeding the running processes: %s (their exits count as "
			 "without state)", strerror(-n));
	else
		log_debug("probe proc: %d running processes seeded", n);
	return 0;
}

static int proc_write_knobs(struct probe_obj *po, const void *knobs, bool late_watch)
{
	const char *comm[AOD_PROC_CFG_COMM_MAX + 1], *exe[AOD_PROC_CFG_EXE_MAX + 1];
	struct aod_proc_probe_opts o;
	char err[PROBE_ERR_LEN];
	int e;

	(void)late_watch;
	opts_of(knobs, &o, comm, exe);
	e = aod_proc_probe_configure(po->skel, &o, err, sizeof(err));
	if (e)
		log_err("probe proc: %s", err);
	return e;
}

static void proc_destroy(struct probe_obj *po)
{
	aod_proc_probe_close(po->skel);
	memset(po, 0, sizeof(*po));
}

static bool proc_knobs_needed(const void *knobs)
{
	return ((const struct proc_knob_set *)knobs)->needed;
}

static bool proc_knobs_equal(const void *a, const void *b)
{
	return !memcmp(a, b, sizeof(struct proc_knob_set));
}

static uint64_t proc_stuck_threshold(const void *knobs)
{
	(void)knobs;
	return AOD_THRESH_OFF;
}

static const char *const proc_table_modes[] = { "tp_btf", "raw_tp", NULL };

const struct probe_ops aod_proc_probe_ops = {
	.name = "proc",
	.force_env = "AOD_PROC_ATTACH",
	.modes = proc_table_modes,
	.enable_offset = offsetof(struct aod_config, probes.proc.enable),
	.knobs_size = sizeof(struct proc_knob_set),
	.compute_knobs = proc_compute_knobs,
	.knobs_needed = proc_knobs_needed,
	.knobs_equal = proc_knobs_equal,
	.stuck_threshold_ns = proc_stuck_threshold,
	.load = proc_load,
	.write_knobs = proc_write_knobs,
	.destroy = proc_destroy,
	/* records go to proc_fn, never through the fixed-size path */
	.kind_slow = 0, .kind_err = 0, .kind_unmatched = 0, .kind_stuck = 0,
};
