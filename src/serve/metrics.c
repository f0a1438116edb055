// SPDX-License-Identifier: MIT
/*
 * The metrics snapshot (sampled by the http worker) and its exposition
 * (rendered by the HTTP server thread): see metrics.h for the threading,
 * docs/metrics.md for each series' definition.
 */
#include "serve/metrics.h"
#include "upload/upload.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/anomaly_queue.h"
#include "agent/collector.h"
#include "agent/event_queue.h"
#include "agent/flight_recorder.h"
#include "common/log.h"
#include "common/series.h"
#include "common/timeutil.h"
#include "probe/probes.h"
#include "serve/log2hist.h"

#define BLK_SERIES_MAX 64 /* (device, operation) histograms exported */
#define BPF_STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

struct probe_snap {
	struct aod_probe_status st;
	int nprogs;
	struct aod_prog_stats progs[AOD_PROBE_MAX_PROGS];
};

struct blk_snap {
	char device[AOD_DISK_NAME_LEN];
	enum aod_blk_op op;
	struct aod_hist h;
};

struct snapshot {
	struct probe_snap probes[AOD_PROBE_COUNT];
	bool bpf_stats;
	bool smb_loaded;
	struct aod_hist smb[AOD_SMB_NCMDS];
	unsigned nblk;
	struct blk_snap blk[BLK_SERIES_MAX];
	uint64_t blk_dropped;
	uint64_t events_bad, event_queue_overflows, anomaly_queue_overflows, window_drops, late_drops,
		recorder_overwritten, reloads_ok, reloads_failed, output_bytes, budget_bytes;
	struct aod_bundle_counts bundles;
	bool upload;
	struct aod_upload_counts uploads;
	size_t nanomalies, nactions;
	struct aod_series anomalies[AOD_SERIES_MAX], actions[AOD_SERIES_MAX];
	uint64_t anomalies_dropped, actions_dropped;
	char *status_json;
};

struct aod_metrics {
	pthread_mutex_t lock;      /* cur, and reading snap[cur] */
	struct snapshot snap[2];
	int cur;                   /* -1 before the first sample */
	struct aod_series_table blk_admitted; /* which (device, op) get a series */
	int stats_fd;              /* bpf_enable_stats(), held while metrics.bpf_stats */
	int stats_err;             /* last enable failure, logged once */
	char kernel[65];
};

struct aod_metrics *aod_metrics_new(void)
{
	struct aod_metrics *m = calloc(1, sizeof(*m));
	struct utsname u;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	aod_series_init(&m->blk_admitted, BLK_SERIES_MAX);
	m->cur = -1;
	m->stats_fd = -1;
	snprintf(m->kernel, sizeof(m->kernel), "%s", uname(&u) ? "unknown" : u.release);
	return m;
}

void aod_metrics_free(struct aod_metrics *m)
{
	if (!m)
		return;
	if (m->stats_fd >= 0)
		close(m->stats_fd);
	free(m->snap[0].status_json);
	free(m->snap[1].status_json);
	aod_series_destroy(&m->blk_admitted);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- sampling (http worker thread) -------------------------------------- */

static bool sysctl_bpf_stats_on(void)
{
	char c = '0';
	int fd = open(BPF_STATS_SYSCTL, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return c == '1';
}

/* metrics.bpf_stats: hold a BPF_ENABLE_STATS fd (the kernel counts run
 * time while any such fd is open) exactly while the config asks for it. */
static bool bpf_stats_enabled(struct aod_metrics *m, const struct aod_config *cfg)
{
	if (cfg->metrics.bpf_stats && m->stats_fd < 0) {
		m->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (m->stats_fd < 0 && m->stats_err != -errno) {
			m->stats_err = -errno;
			log_warn("metrics.bpf_stats: cannot enable BPF run-time stats: %s",
				 strerror(errno));
		} else if (m->stats_fd >= 0) {
			m->stats_err = 0;
			log_info("metrics: BPF run-time stats enabled while aod runs");
		}
	} else if (!cfg->metrics.bpf_stats && m->stats_fd >= 0) {
		close(m->stats_fd);
		m->stats_fd = -1;
	}
	return m->stats_fd >= 0 || sysctl_bpf_stats_on();
}

struct blk_walk {
	struct aod_metrics *m;
	struct aod_agent *agent;
	struct snapshot *s;
};

/* Device names come from the dispatcher's decoder table (one sysfs scan). */
static const char *blk_device_label(struct aod_agent *agent, uint32_t dev, char *buf,
				    size_t len)
{
	aod_decoder_disk_name(&agent->decoder, dev, aod_mono_ns(), buf, len);
	if (!buf[0])
		snprintf(buf, len, "%u:%u", dev >> 20, dev & ((1u << 20) - 1));
	return buf;
}

static int blk_one(void *ctx, uint32_t dev, enum aod_blk_op op, const struct aod_hist *h)
{
	struct blk_walk *w = ctx;
	struct blk_snap *b;
	char name[AOD_DISK_NAME_LEN];

	blk_device_label(w->agent, dev, name, sizeof(name));
	if (aod_series_add(&w->m->blk_admitted, name, aod_blk_op_name(op), NULL, 0) ||
	    w->s->nblk == BLK_SERIES_MAX)
		return 0;
	b = &w->s->blk[w->s->nblk++];
	memcpy(b->device, name, sizeof(name));
	b->op = op;
	b->h = *h;
	return 0;
}

static void sample_probes(struct aod_metrics *m, struct aod_agent *agent, struct snapshot *s)
{
	struct blk_walk walk = { .m = m, .agent = agent, .s = s };

	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		struct probe_snap *p = &s->probes[id];

		aod_probes_status(agent->probes, (enum aod_probe_id)id, &p->st);
		p->nprogs = aod_probes_prog_stats(agent->probes, (enum aod_probe_id)id, p->progs,
						  AOD_PROBE_MAX_PROGS);
	}
	s->smb_loaded = true;
	for (unsigned cmd = 0; cmd < AOD_SMB_NCMDS && s->smb_loaded; cmd++)
		s->smb_loaded = !aod_probes_smb_hist(agent->probes, cmd, &s->smb[cmd]);
	s->nblk = 0;
	aod_probes_blk_hist_foreach(agent->probes, blk_one, &walk);
	s->blk_dropped = aod_series_dropped(&m->blk_admitted);
}

static void sample_agent(struct aod_agent *agent, const struct aod_config *cfg,
			 struct snapshot *s)
{
	struct aod_agent_counters *c = &agent->counters;

	s->events_bad = atomic_load(&c->events_bad);
	s->event_queue_overflows = aod_event_queue_overflows(agent->events);
	s->anomaly_queue_overflows = aod_anomaly_queue_overflows(agent->anomalies);
	s->window_drops = atomic_load(&agent->det_stats.events_dropped);
	s->late_drops = atomic_load(&agent->det_stats.events_late);
	s->recorder_overwritten = aod_flight_recorder_overwritten(agent->recorder);
	s->reloads_ok = atomic_load(&c->reloads_ok);
	s->reloads_failed = atomic_load(&c->reloads_failed);
	s->output_bytes = atomic_load(&c->output_bytes);
	s->budget_bytes = (uint64_t)(cfg->cleanup.max_total_log_size_mb * 1048576.0);
	aod_collector_bundle_counts(agent->collector, &s->bundles);
	s->upload = agent->uploader != NULL;
	aod_uploader_counts(agent->uploader, &s->uploads);
	s->nanomalies = aod_series_copy(&agent->series.anomalies, s->anomalies, AOD_SERIES_MAX,
					&s->anomalies_dropped);
	s->nactions = aod_series_copy(&agent->series.actions_timed_out, s->actions,
				      AOD_SERIES_MAX, &s->actions_dropped);
}

int aod_metrics_sample(struct aod_metrics *m, struct aod_agent *agent,
		       const struct aod_config *cfg)
{
	int next = m->cur == 0 ? 1 : 0; /* the renderer only reads snap[cur] */
	struct snapshot *s = &m->snap[next];

	free(s->status_json);
	s->bpf_stats = bpf_stats_enabled(m, cfg);
	sample_probes(m, agent, s);
	sample_agent(agent, cfg, s);
	s->status_json = aod_agent_status_json(agent);
	pthread_mutex_lock(&m->lock);
	m->cur = next;
	pthread_mutex_unlock(&m->lock);
	return s->status_json ? 0 : -ENOMEM;
}

char *aod_metrics_status_json(struct aod_metrics *m)
{
	char *copy = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->cur >= 0 && m->snap[m->cur].status_json)
		copy = strdup(m->snap[m->cur].status_json);
	pthread_mutex_unlock(&m->lock);
	return copy;
}

/* ---- rendering (HTTP server thread) ------------------------------------- */

#define LABELS(...) ((const char *[]){ __VA_ARGS__, NULL })

/* The share of an SMB histogram. The kernel keys them by command only, so
 * "unknown" until the tree id -> \\server\share resolver exists. */
static const char *smb_share_label(unsigned cmd)
{
	(void)cmd;
	return "unknown";
}

static void render_build(struct aod_metrics *m, struct aod_prom *w)
{
	aod_prom_family(w, "aod_build_info", "gauge",
			"Always 1; the labels say which aod and which kernel.");
	aod_prom_u64(w, "aod_build_info", LABELS("version", AOD_VERSION, "kernel", m->kernel), 1);
}

static void render_probe_state(const struct snapshot *s, struct aod_prom *w)
{
	aod_prom_family(w, "aod_probe_attached", "gauge",
			"1 if the probe is attached (mode: how), 0 if it is waiting, failed or "
			"disabled.");
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		const struct aod_probe_status *st = &s->probes[id].st;

		aod_prom_u64(w, "aod_probe_attached",
			     LABELS("probe", aod_probe_name((enum aod_probe_id)id), "mode", st->mode),
			     st->state == AOD_PROBE_ATTACHED);
	}
}

static void lost(struct aod_prom *w, const char *probe, const char *reason, uint64_t v)
{
	aod_prom_u64(w, "aod_probe_events_lost_total", LABELS("probe", probe, "reason", reason), v);
}

static void render_loss(const struct snapshot *s, struct aod_prom *w)
{
	aod_prom_family(w, "aod_probe_events_lost_total", "counter",
			"Events lost, by where: per probe in the kernel (ring buffer full, "
			"in-flight map full, completions without a start, BPF recursion misses) "
			"and in user space (ops that outlived the in-flight timeout and were "
			"forgotten before they completed); probe=\"all\" for the agent's own stages.");
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		const struct aod_probe_status *st = &s->probes[id].st;
		const char *p = aod_probe_name((enum aod_probe_id)id);

		if (st->state != AOD_PROBE_ATTACHED)
			continue;
		lost(w, p, "ringbuf_full", st->counters[AOD_CNT_RB_DROPS]);
		lost(w, p, "inflight_full", st->counters[AOD_CNT_INFLIGHT_FULL]);
		lost(w, p, "expired_forgotten", st->tracked_evicted);
		lost(w, p, "unmatched", st->counters[AOD_CNT_UNMATCHED]);
		lost(w, p, "recursion_miss", st->recursion_misses);
	}
	lost(w, "all", "undecodable", s->events_bad);
	lost(w, "all", "event_queue_full", s->event_queue_overflows);
	lost(w, "all", "detector_window_full", s->window_drops);
	lost(w, "all", "detector_late", s->late_drops);
	lost(w, "all", "flight_recorder_overwritten", s->recorder_overwritten);
	lost(w, "all", "anomaly_queue_full", s->anomaly_queue_overflows);
}

static void render_bpf_stats(const struct snapshot *s, struct aod_prom *w)
{
	static const char *const fam[2][2] = {
		{ "aod_bpf_program_runs_total", "Times the kernel ran the program, counted while "
		  "kernel.bpf_stats_enabled is on (metrics.bpf_stats)." },
		{ "aod_bpf_program_run_seconds_total", "Time the kernel spent in the program, "
		  "counted while kernel.bpf_stats_enabled is on (metrics.bpf_stats)." },
	};

	if (!s->bpf_stats)
		return;
	for (int f = 0; f < 2; f++) {
		aod_prom_family(w, fam[f][0], "counter", fam[f][1]);
		for (int id = 0; id < AOD_PROBE_COUNT; id++)
			for (int i = 0; i < s->probes[id].nprogs; i++) {
				const struct aod_prog_stats *ps = &s->probes[id].progs[i];
				const char *const *l = LABELS("probe",
					aod_probe_name((enum aod_probe_id)id), "program", ps->name);

				if (f == 0)
					aod_prom_u64(w, fam[f][0], l, ps->run_cnt);
				else
					aod_prom_double(w, fam[f][0], l, (double)ps->run_time_ns / 1e9);
			}
	}
}

static void render_smb(const struct snapshot *s, struct aod_prom *w)
{
	bool header = false;

	for (unsigned cmd = 0; cmd < AOD_SMB_NCMDS && s->smb_loaded; cmd++) {
		struct aod_prom_hist ph;

		aod_log2hist_to_prom(&s->smb[cmd], &ph);
		if (!ph.count)
			continue; /* a command never seen has no series */
		if (!header)
			aod_prom_family(w, "aod_smb_command_latency_seconds", "histogram",
					"SMB2 command latency, cifs smb3_cmd_enter to done/err, "
					"from the kernel's log2 histograms. _sum is an estimate "
					"(each sample at its bucket's midpoint).");
		header = true;
		aod_prom_histogram(w, "aod_smb_command_latency_seconds",
				   LABELS("share", smb_share_label(cmd), "command",
					  aod_smb_cmd_name(cmd)), &ph);
	}
}

static void render_block(const struct snapshot *s, struct aod_prom *w)
{
	if (s->nblk)
		aod_prom_family(w, "aod_block_io_latency_seconds", "histogram",
				"Block I/O latency, block_rq_issue to block_rq_complete, from the "
				"kernel's log2 histograms. _sum is an estimate (each sample at "
				"its bucket's midpoint).");
	for (unsigned i = 0; i < s->nblk; i++) {
		struct aod_prom_hist ph;

		aod_log2hist_to_prom(&s->blk[i].h, &ph);
		aod_prom_histogram(w, "aod_block_io_latency_seconds",
				   LABELS("device", s->blk[i].device, "operation",
					  aod_blk_op_name(s->blk[i].op)), &ph);
	}
}

static void render_events(const struct snapshot *s, struct aod_prom *w)
{
	if (s->nanomalies)
		aod_prom_family(w, "aod_anomalies_total", "counter",
				"Anomalies the detector reported, by rule.");
	for (size_t i = 0; i < s->nanomalies; i++)
		aod_prom_u64(w, "aod_anomalies_total",
			     LABELS("rule", s->anomalies[i].v[0], "source", s->anomalies[i].v[1],
				    "type", s->anomalies[i].v[2]), s->anomalies[i].value);
	aod_prom_family(w, "aod_bundles_total", "counter",
			"Diagnostics bundles: complete, partial (cut short because aod was "
			"stopping) or failed.");
	aod_prom_u64(w, "aod_bundles_total", LABELS("result", "complete"),
		     s->bundles.written - s->bundles.partial);
	aod_prom_u64(w, "aod_bundles_total", LABELS("result", "partial"), s->bundles.partial);
	aod_prom_u64(w, "aod_bundles_total", LABELS("result", "failed"), s->bundles.failed);
	if (s->nactions)
		aod_prom_family(w, "aod_actions_timed_out_total", "counter",
				"Quick actions killed at their timeout, by action.");
	for (size_t i = 0; i < s->nactions; i++)
		aod_prom_u64(w, "aod_actions_timed_out_total", LABELS("action", s->actions[i].v[0]),
			     s->actions[i].value);
}

static void render_output(const struct snapshot *s, struct aod_prom *w)
{
	aod_prom_family(w, "aod_output_bytes", "gauge",
			"Bytes of finished bundles in aod_output_dir/batches (the space "
			"watcher's last check, plus bundles written since).");
	aod_prom_u64(w, "aod_output_bytes", NULL, s->output_bytes);
	aod_prom_family(w, "aod_output_budget_bytes", "gauge",
			"cleanup.max_total_log_size_mb in bytes: the space watcher keeps "
			"aod_output_bytes below it.");
	aod_prom_u64(w, "aod_output_budget_bytes", NULL, s->budget_bytes);
	aod_prom_family(w, "aod_config_reloads_total", "counter",
			"Config reloads (SIGHUP): ok, or failed (the running config stayed).");
	aod_prom_u64(w, "aod_config_reloads_total", LABELS("result", "ok"), s->reloads_ok);
	aod_prom_u64(w, "aod_config_reloads_total", LABELS("result", "failed"), s->reloads_failed);
	aod_prom_family(w, "aod_metrics_series_dropped_total", "counter",
			"Label sets refused because the metric's cap was reached, each "
			"distinct set counted once.");
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_block_io_latency_seconds"), s->blk_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total", LABELS("metric", "aod_anomalies_total"),
		     s->anomalies_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_actions_timed_out_total"), s->actions_dropped);
}

/* Only with an upload: section (no zero series for a feature not in use). */
static void render_uploads(const struct snapshot *s, struct aod_prom *w)
{
	if (!s->upload)
		return;
	aod_prom_family(w, "aod_uploads_total", "counter",
			"Bundles the uploader finished, by result: uploaded, already_there "
			"(found by HEAD, not sent again), failed, dropped (queue full).");
	aod_prom_u64(w, "aod_uploads_total", LABELS("result", "uploaded"), s->uploads.uploaded);
	aod_prom_u64(w, "aod_uploads_total", LABELS("result", "already_there"),
		     s->uploads.already_there);
	aod_prom_u64(w, "aod_uploads_total", LABELS("result", "failed"), s->uploads.failed);
	aod_prom_u64(w, "aod_uploads_total", LABELS("result", "dropped"), s->uploads.dropped);
	aod_prom_family(w, "aod_upload_retries_total", "counter",
			"Upload attempts that failed and were retried after a backoff.");
	aod_prom_u64(w, "aod_upload_retries_total", NULL, s->uploads.retries);
}

int aod_metrics_render(struct aod_metrics *m, struct aod_prom *w)
{
	const struct snapshot *s;

	pthread_mutex_lock(&m->lock);
	if (m->cur < 0) {
		pthread_mutex_unlock(&m->lock);
		return -EAGAIN;
	}
	s = &m->snap[m->cur];
	render_build(m, w);
	render_probe_state(s, w);
	render_loss(s, w);
	render_bpf_stats(s, w);
	render_smb(s, w);
	render_block(s, w);
	render_events(s, w);
	render_output(s, w);
	render_uploads(s, w);
	pthread_mutex_unlock(&m->lock);
	return aod_prom_error(w);
}
