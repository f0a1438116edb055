// SPDX-License-Identifier: MIT
/*
 * The metrics snapshot (sampled by the http worker) and its exposition
 * (rendered by the HTTP server thread): see metrics.h for the threading,
 * docs/metrics.md for each series' definition.
 */
#include "serve/metrics.h"
#include "upload/upload.h"

#include <bpf/bpf.h>
#include <jansson.h>
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
#include "probe/hist.h"
#include "probe/probes.h"
#include "probe/smb_shares.h"
#include "probe/tcp_listen.h"
#include "probe/tcp_status.h"
#include "serve/log2hist.h"

#define BLK_SERIES_MAX 64 /* (device, operation) histograms exported */
#define SMB_SERIES_MAX 64 /* (share, command) histograms, besides share="unknown" */
#define SMB_ERR_SERIES_MAX 64 /* (share, command, status) error counters */
#define TCP_HIST_SERIES_MAX (AOD_TCP_NHISTS * AOD_TCP_PORTS_MAX)
#define TCP_LISTENERS_MAX 64
#define COMPAT_BIO_SLOTS 28 /* ebpf_exporter biolatency: exp2 buckets 0..27 */
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

struct smb_snap {
	char share[AOD_SERIES_VALUE_LEN];
	unsigned cmd;
	struct aod_hist h;
};

struct smb_err_snap {
	char share[AOD_SERIES_VALUE_LEN];
	unsigned cmd;
	uint32_t status;
	uint64_t count;
};

struct tcp_hist_snap {
	enum aod_tcp_hist_kind kind;
	uint32_t port;
	struct aod_hist h; /* with the kernel's sum_ns */
};

struct snapshot {
	struct probe_snap probes[AOD_PROBE_COUNT];
	bool bpf_stats;
	bool compat;
	bool smb_loaded;
	struct aod_hist smb[AOD_SMB_NCMDS];       /* per command, every share */
	unsigned nsmb;
	struct smb_snap smb_share[SMB_SERIES_MAX + AOD_SMB_NCMDS];
	unsigned nsmb_err;
	struct smb_err_snap smb_err[SMB_ERR_SERIES_MAX];
	uint64_t smb_dropped, smb_err_dropped;
	unsigned ninflight;
	struct smb_err_snap inflight[AOD_SMB_INFLIGHT_TREES]; /* share, count (cmd unused) */
	uint64_t inflight_untallied;
	size_t nreconnects, nstuck;
	struct aod_series reconnects[AOD_SERIES_MAX], stuck[AOD_SERIES_MAX];
	uint64_t reconnects_dropped, stuck_dropped;
	bool tcp_loaded;
	uint64_t tcp_cnt[AOD_TCP_CNT_MAX];
	unsigned ntcp;
	struct tcp_hist_snap tcp[TCP_HIST_SERIES_MAX];
	int nlisteners;           /* < 0: the sock_diag dump failed */
	size_t listeners_total;
	struct aod_tcp_listener listeners[TCP_LISTENERS_MAX];
	bool netstat_ok;
	struct aod_tcp_netstat netstat;
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
	struct aod_series_table smb_admitted; /* which (share, command) */
	struct aod_series_table smb_err_admitted; /* which (share, command, status) */
	struct aod_smb_share_hist *share_buf;  /* scratch for the sampler */
	struct aod_smb_err_count *err_buf;
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
	aod_series_init(&m->smb_admitted, SMB_SERIES_MAX);
	aod_series_init(&m->smb_err_admitted, SMB_ERR_SERIES_MAX);
	m->share_buf = calloc(AOD_SMB_SHARE_HISTS_MAX, sizeof(*m->share_buf));
	m->err_buf = calloc(AOD_SMB_ERR_COUNTS_MAX, sizeof(*m->err_buf));
	if (!m->share_buf || !m->err_buf) {
		aod_metrics_free(m);
		return NULL;
	}
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
	aod_series_destroy(&m->smb_admitted);
	aod_series_destroy(&m->smb_err_admitted);
	free(m->share_buf);
	free(m->err_buf);
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

static void share_label(struct aod_agent *agent, uint64_t sesid, uint32_t tid, char *buf,
			size_t len)
{
	char name[AOD_SHARE_NAME_LEN];
	size_t n;

	if (aod_smb_share_name(agent->shares, sesid, tid, name, sizeof(name)) || !name[0])
		snprintf(name, sizeof(name), "unknown");
	n = strnlen(name, len - 1); /* a longer name is cut, as series values are */
	memcpy(buf, name, n);
	buf[n] = '\0';
}

static struct smb_snap *smb_series(struct snapshot *s, const char *share, unsigned cmd)
{
	for (unsigned i = 0; i < s->nsmb; i++)
		if (s->smb_share[i].cmd == cmd && !strcmp(s->smb_share[i].share, share))
			return &s->smb_share[i];
	if (s->nsmb == SMB_SERIES_MAX + AOD_SMB_NCMDS)
		return NULL;
	s->smb_share[s->nsmb].cmd = cmd;
	snprintf(s->smb_share[s->nsmb].share, AOD_SERIES_VALUE_LEN, "%s", share);
	memset(&s->smb_share[s->nsmb].h, 0, sizeof(struct aod_hist));
	return &s->smb_share[s->nsmb++];
}

/* Commands in flight per share: the probe's last sweep, merged by name. */
static void sample_smb_inflight(struct aod_agent *agent, struct snapshot *s)
{
	struct aod_smb_inflight v[AOD_SMB_INFLIGHT_TREES];
	char share[AOD_SERIES_VALUE_LEN];
	int n = aod_probes_smb_inflight(agent->probes, v, AOD_SMB_INFLIGHT_TREES,
					&s->inflight_untallied);

	s->ninflight = 0;
	for (int i = 0; i < n; i++) {
		unsigned j;

		share_label(agent, v[i].sesid, v[i].tid, share, sizeof(share));
		for (j = 0; j < s->ninflight && strcmp(s->inflight[j].share, share); j++)
			;
		if (j == s->ninflight) {
			memset(&s->inflight[j], 0, sizeof(s->inflight[j]));
			memcpy(s->inflight[j].share, share, sizeof(share));
			s->ninflight++;
		}
		s->inflight[j].count += v[i].count;
	}
}

/*
 * Per-share SMB histograms: the kernel's (session, tree id, command) maps,
 * merged by share name; what is left of each command's total (tree ids not
 * resolved, series over the cap, a full kernel map, late completions
 * measured in user space) goes to share="unknown". The share maps are read
 * before the totals, and both only grow, so the rest is never negative.
 */
static void sample_smb(struct aod_metrics *m, struct aod_agent *agent, struct snapshot *s)
{
	int n = aod_probes_smb_share_hists(agent->probes, m->share_buf, AOD_SMB_SHARE_HISTS_MAX);
	int ne = aod_probes_smb_err_counts(agent->probes, m->err_buf, AOD_SMB_ERR_COUNTS_MAX);
	struct aod_hist known[AOD_SMB_NCMDS];
	char share[AOD_SERIES_VALUE_LEN];

	s->nsmb = 0;
	s->nsmb_err = 0;
	s->ninflight = 0;
	s->smb_loaded = n >= 0;
	for (unsigned cmd = 0; cmd < AOD_SMB_NCMDS && s->smb_loaded; cmd++)
		s->smb_loaded = !aod_probes_smb_hist(agent->probes, cmd, &s->smb[cmd]);
	if (!s->smb_loaded)
		return;
	memset(known, 0, sizeof(known));
	for (int i = 0; i < n; i++) {
		const struct aod_smb_share_hist *e = &m->share_buf[i];
		struct smb_snap *ss;

		if (e->key.cmd >= AOD_SMB_NCMDS)
			continue;
		share_label(agent, e->key.sesid, e->key.tid, share, sizeof(share));
		if (!strcmp(share, "unknown") ||
		    aod_series_add(&m->smb_admitted, share, aod_smb_cmd_name(e->key.cmd), NULL, 0))
			continue;
		ss = smb_series(s, share, e->key.cmd);
		if (!ss)
			continue;
		aod_hist_merge(&ss->h, &e->hist);
		aod_hist_merge(&known[e->key.cmd], &e->hist);
	}
	for (unsigned cmd = 0; cmd < AOD_SMB_NCMDS; cmd++) {
		struct aod_hist rest = s->smb[cmd];
		struct smb_snap *ss;

		for (unsigned i = 0; i < AOD_HIST_SLOTS; i++)
			rest.slots[i] -= rest.slots[i] >= known[cmd].slots[i] ? known[cmd].slots[i]
									     : rest.slots[i];
		rest.sum_ns -= rest.sum_ns >= known[cmd].sum_ns ? known[cmd].sum_ns : rest.sum_ns;
		if (aod_hist_total(&rest) && (ss = smb_series(s, "unknown", cmd)))
			ss->h = rest;
	}
	s->smb_dropped = aod_series_dropped(&m->smb_admitted);
	for (int i = 0; i < ne; i++) {
		const struct aod_smb_err_count *e = &m->err_buf[i];
		const char *st = aod_ntstatus_name(e->key.status);
		char hex[16];
		struct smb_err_snap *es = NULL;

		if (e->key.cmd >= AOD_SMB_NCMDS)
			continue;
		if (!st) {
			snprintf(hex, sizeof(hex), "0x%08x", e->key.status);
			st = hex;
		}
		share_label(agent, e->key.sesid, e->key.tid, share, sizeof(share));
		if (aod_series_add(&m->smb_err_admitted, share, aod_smb_cmd_name(e->key.cmd), st, 0))
			continue;
		for (unsigned j = 0; j < s->nsmb_err && !es; j++)
			if (s->smb_err[j].cmd == e->key.cmd && s->smb_err[j].status == e->key.status &&
			    !strcmp(s->smb_err[j].share, share))
				es = &s->smb_err[j];
		if (!es && s->nsmb_err < SMB_ERR_SERIES_MAX) {
			es = &s->smb_err[s->nsmb_err++];
			memset(es, 0, sizeof(*es));
			snprintf(es->share, sizeof(es->share), "%s", share);
			es->cmd = e->key.cmd;
			es->status = e->key.status;
		}
		if (es)
			es->count += e->count;
	}
	s->smb_err_dropped = aod_series_dropped(&m->smb_err_admitted);
	sample_smb_inflight(agent, s);
}

static int tcp_one(void *ctx, enum aod_tcp_hist_kind kind, uint32_t port,
		   const struct aod_tcp_hist *h)
{
	struct snapshot *s = ctx;
	struct tcp_hist_snap *t;

	if (s->ntcp == TCP_HIST_SERIES_MAX)
		return 1;
	t = &s->tcp[s->ntcp++];
	t->kind = kind;
	t->port = port;
	t->h = h->hist;
	t->h.sum_ns = h->sum_ns;
	return 0;
}

static void sample_tcp(struct aod_agent *agent, struct snapshot *s)
{
	s->ntcp = 0;
	s->tcp_loaded = !aod_probes_tcp_counters(agent->probes, s->tcp_cnt);
	if (s->tcp_loaded)
		aod_probes_tcp_hist_foreach(agent->probes, tcp_one, s);
	s->nlisteners = aod_tcp_listeners(s->listeners, TCP_LISTENERS_MAX, &s->listeners_total);
	s->netstat_ok = !aod_tcp_netstat_read(NULL, &s->netstat);
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
	sample_smb(m, agent, s);
	sample_tcp(agent, s);
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
	s->nreconnects = aod_series_copy(&agent->series.smb_reconnects, s->reconnects,
					 AOD_SERIES_MAX, &s->reconnects_dropped);
	s->nstuck = aod_series_copy(&agent->series.smb_stuck, s->stuck, AOD_SERIES_MAX,
				    &s->stuck_dropped);
}

int aod_metrics_sample(struct aod_metrics *m, struct aod_agent *agent,
		       const struct aod_config *cfg)
{
	int next = m->cur == 0 ? 1 : 0; /* the renderer only reads snap[cur] */
	struct snapshot *s = &m->snap[next];

	free(s->status_json);
	s->bpf_stats = bpf_stats_enabled(m, cfg);
	s->compat = cfg->metrics.compat_ebpf_exporter;
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
		lost(w, p, "histogram_map_full", st->counters[AOD_CNT_HIST_FULL]);
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
	if (s->nsmb)
		aod_prom_family(w, "aod_smb_command_latency_seconds", "histogram",
				"SMB2 command latency per share, cifs smb3_cmd_enter to done/err, "
				"from the kernel's log2 histograms.");
	for (unsigned i = 0; i < s->nsmb; i++) {
		struct aod_prom_hist ph;

		aod_log2hist_to_prom(&s->smb_share[i].h, &ph);
		aod_prom_histogram(w, "aod_smb_command_latency_seconds",
				   LABELS("share", s->smb_share[i].share, "command",
					  aod_smb_cmd_name(s->smb_share[i].cmd)), &ph);
	}
	if (!s->smb_loaded)
		return;
	aod_prom_family(w, "aod_smb_command_errors_total", "counter",
			"SMB2 commands the server answered with an error (smb3_cmd_err), by "
			"share, command and NTSTATUS.");
	for (unsigned i = 0; i < s->nsmb_err; i++) {
		const char *st = aod_ntstatus_name(s->smb_err[i].status);
		char hex[16];

		if (!st) {
			snprintf(hex, sizeof(hex), "0x%08x", s->smb_err[i].status);
			st = hex;
		}
		aod_prom_u64(w, "aod_smb_command_errors_total",
			     LABELS("share", s->smb_err[i].share, "command",
				    aod_smb_cmd_name(s->smb_err[i].cmd), "status", st),
			     s->smb_err[i].count);
	}
	aod_prom_family(w, "aod_smb_stuck_commands_total", "counter",
			"SMB commands found in flight past their emergency threshold (each "
			"reported once), by share and command.");
	for (size_t i = 0; i < s->nstuck; i++)
		aod_prom_u64(w, "aod_smb_stuck_commands_total",
			     LABELS("share", s->stuck[i].v[0], "command", s->stuck[i].v[1]),
			     s->stuck[i].value);
	aod_prom_family(w, "aod_smb_reconnects_total", "counter",
			"SMB reconnects of the cifs client (smb3_reconnect), by server.");
	for (size_t i = 0; i < s->nreconnects; i++)
		aod_prom_u64(w, "aod_smb_reconnects_total", LABELS("server", s->reconnects[i].v[0]),
			     s->reconnects[i].value);
	aod_prom_family(w, "aod_smb_commands_in_flight", "gauge",
			"SMB commands sent and not answered yet, per share, at the last sweep "
			"(agent.stuck_sweep_ms).");
	for (unsigned i = 0; i < s->ninflight; i++)
		aod_prom_u64(w, "aod_smb_commands_in_flight", LABELS("share", s->inflight[i].share),
			     s->inflight[i].count);
}

static const char *port_label(uint32_t port, char *buf, size_t len)
{
	if (port == AOD_TCP_PORT_OTHER)
		return "other";
	snprintf(buf, len, "%u", port);
	return buf;
}

static void render_tcp(const struct snapshot *s, struct aod_prom *w)
{
	static const char *const hname[AOD_TCP_NHISTS][2] = {
		[AOD_TCP_HIST_CONNECT] = { "aod_tcp_connect_latency_seconds",
			"Active opens, SYN_SENT to ESTABLISHED, by remote port (other: ports "
			"beyond the cap)." },
		[AOD_TCP_HIST_ACCEPT] = { "aod_tcp_accept_latency_seconds",
			"Passive opens at SYN_RECV to ESTABLISHED (the handshake RTT the server "
			"measured), by local port." },
		[AOD_TCP_HIST_RTT] = { "aod_tcp_rtt_seconds",
			"Smoothed RTT of established sockets, one sample per segment received, "
			"by service port." },
	};
	static const struct { const char *name, *help; enum aod_tcp_counter c; } cnt[] = {
		{ "aod_tcp_connect_failures_total", "Sockets that went SYN_SENT to CLOSE.",
		  AOD_TCP_CNT_CONNECT_FAILS },
		{ "aod_tcp_retransmits_total", "Retransmitted segments (as TcpRetransSegs).",
		  AOD_TCP_CNT_RETRANS_SEGS },
		{ "aod_tcp_window_clamps_total",
		  "Receive window clamps (rcv_ssthresh below 32 KiB), see docs/tcp.md.",
		  AOD_TCP_CNT_WINDOW_CLAMPS },
	};
	char pb[16];

	for (int k = 0; k < AOD_TCP_NHISTS && s->tcp_loaded; k++) {
		aod_prom_family(w, hname[k][0], "histogram", hname[k][1]);
		for (unsigned i = 0; i < s->ntcp; i++) {
			struct aod_prom_hist ph;

			if (s->tcp[i].kind != (enum aod_tcp_hist_kind)k)
				continue;
			aod_log2hist_to_prom(&s->tcp[i].h, &ph);
			aod_prom_histogram(w, hname[k][0],
					   LABELS("port", port_label(s->tcp[i].port, pb, sizeof(pb))),
					   &ph);
		}
	}
	if (s->tcp_loaded) {
		for (size_t i = 0; i < sizeof(cnt) / sizeof(cnt[0]); i++) {
			aod_prom_family(w, cnt[i].name, "counter", cnt[i].help);
			aod_prom_u64(w, cnt[i].name, NULL, s->tcp_cnt[cnt[i].c]);
		}
		aod_prom_family(w, "aod_tcp_resets_total", "counter",
				"TCP resets sent (tcp_send_reset) and received (tcp_receive_reset).");
		aod_prom_u64(w, "aod_tcp_resets_total", LABELS("direction", "sent"),
			     s->tcp_cnt[AOD_TCP_CNT_RESETS_SENT]);
		aod_prom_u64(w, "aod_tcp_resets_total", LABELS("direction", "received"),
			     s->tcp_cnt[AOD_TCP_CNT_RESETS_RECEIVED]);
	}
	if (s->nlisteners >= 0) {
		aod_prom_family(w, "aod_tcp_listen_backlog", "gauge",
				"Connections established and waiting for accept(), per listener "
				"(sock_diag), at the last snapshot.");
		for (int i = 0; i < s->nlisteners; i++)
			aod_prom_u64(w, "aod_tcp_listen_backlog",
				     LABELS("listener", s->listeners[i].name), s->listeners[i].backlog);
		aod_prom_family(w, "aod_tcp_listen_backlog_max", "gauge",
				"The listen() backlog of each listener (sk_max_ack_backlog).");
		for (int i = 0; i < s->nlisteners; i++)
			aod_prom_u64(w, "aod_tcp_listen_backlog_max",
				     LABELS("listener", s->listeners[i].name),
				     s->listeners[i].backlog_max);
	}
	if (s->netstat_ok) {
		aod_prom_family(w, "aod_tcp_listen_overflows_total", "counter",
				"TcpExt ListenOverflows: SYNs or ACKs dropped at a full accept queue.");
		aod_prom_u64(w, "aod_tcp_listen_overflows_total", NULL, s->netstat.listen_overflows);
	}
}

/* ebpf_exporter exp2 buckets: le = 2^i * 1e-6 for i in 0..27, bucket i
 * holding log2(us) == i (27 also everything above), sum in seconds. */
static void compat_exp2(const struct aod_hist *h, double mult, struct aod_prom_hist *out)
{
	uint64_t cum = 0;

	out->nbuckets = COMPAT_BIO_SLOTS;
	for (unsigned i = 0; i < COMPAT_BIO_SLOTS; i++) {
		cum += h->slots[i];
		out->le[i] = (double)(1ULL << i) * mult;
		out->le_text[i] = NULL;
		out->cum[i] = cum;
	}
	out->count = aod_hist_total(h);
	out->cum[COMPAT_BIO_SLOTS - 1] = out->count; /* clamped, as biolatency does */
	out->sum = (double)h->sum_ns / 1e3 * mult;
}

static void render_compat(const struct snapshot *s, struct aod_prom *w)
{
	static const char *const tcp_names[AOD_TCP_NHISTS] = {
		[AOD_TCP_HIST_CONNECT] = "ebpf_exporter_tcp_connect_time",
		[AOD_TCP_HIST_ACCEPT] = NULL,
		[AOD_TCP_HIST_RTT] = "ebpf_exporter_tcp_rtt",
	};
	bool header = false;

	if (!s->compat)
		return;
	for (unsigned i = 0; i < s->nblk; i++) {
		struct aod_prom_hist ph;
		enum aod_blk_op op = s->blk[i].op;

		if (op != AOD_BLK_READ && op != AOD_BLK_WRITE && op != AOD_BLK_FLUSH)
			continue; /* LinMonitor's static_map knows these three */
		if (!header)
			aod_prom_family(w, "ebpf_exporter_bio_latency_seconds", "histogram",
					"Block I/O latency (ebpf_exporter biolatency convention).");
		header = true;
		compat_exp2(&s->blk[i].h, 1e-6, &ph);
		aod_prom_histogram(w, "ebpf_exporter_bio_latency_seconds",
				   LABELS("device", s->blk[i].device, "operation",
					  aod_blk_op_name(op)), &ph);
	}
	if (s->nlisteners >= 0) {
		aod_prom_family(w, "ebpf_exporter_tcp_syn_backlog", "gauge",
				"Accept queue length per listener (aod_tcp_listen_backlog).");
		for (int i = 0; i < s->nlisteners; i++)
			aod_prom_u64(w, "ebpf_exporter_tcp_syn_backlog",
				     LABELS("listener", s->listeners[i].name), s->listeners[i].backlog);
	}
	if (!s->tcp_loaded)
		return;
	aod_prom_family(w, "ebpf_exporter_tcp_window_clamps_total", "counter",
			"Receive window clamps (aod_tcp_window_clamps_total).");
	aod_prom_u64(w, "ebpf_exporter_tcp_window_clamps_total", NULL,
		     s->tcp_cnt[AOD_TCP_CNT_WINDOW_CLAMPS]);
	for (int k = 0; k < AOD_TCP_NHISTS; k++) {
		struct aod_hist all;
		struct aod_prom_hist ph;

		if (!tcp_names[k])
			continue;
		memset(&all, 0, sizeof(all));
		for (unsigned i = 0; i < s->ntcp; i++)
			if (s->tcp[i].kind == (enum aod_tcp_hist_kind)k)
				aod_hist_merge(&all, &s->tcp[i].h);
		/* LinMonitor's unit: microseconds (its linear buckets cannot be
		 * derived from log2 ones; these are exp2 in us) */
		compat_exp2(&all, 1.0, &ph);
		aod_prom_family(w, tcp_names[k], "histogram",
				k == AOD_TCP_HIST_CONNECT ? "TCP connect time, microseconds."
							  : "TCP smoothed RTT, microseconds.");
		aod_prom_histogram(w, tcp_names[k], NULL, &ph);
	}
}

static void render_block(const struct snapshot *s, struct aod_prom *w)
{
	if (s->nblk)
		aod_prom_family(w, "aod_block_io_latency_seconds", "histogram",
				"Block I/O latency, block_rq_issue to block_rq_complete, from the "
				"kernel's log2 histograms.");
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
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_smb_command_latency_seconds"), s->smb_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_smb_command_errors_total"), s->smb_err_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_smb_stuck_commands_total"), s->stuck_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_smb_reconnects_total"), s->reconnects_dropped);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_smb_commands_in_flight"), s->inflight_untallied);
	aod_prom_u64(w, "aod_metrics_series_dropped_total",
		     LABELS("metric", "aod_tcp_listen_backlog"),
		     s->nlisteners >= 0 && s->listeners_total > (size_t)s->nlisteners
			     ? s->listeners_total - (size_t)s->nlisteners : 0);
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
	render_tcp(s, w);
	render_compat(s, w);
	render_events(s, w);
	render_output(s, w);
	render_uploads(s, w);
	pthread_mutex_unlock(&m->lock);
	return aod_prom_error(w);
}

/* ---- aod hist (control socket thread) ----------------------------------- */

static json_t *slots_json(const struct aod_hist *h)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < AOD_HIST_SLOTS; i++)
		json_array_append_new(a, json_integer((json_int_t)h->slots[i]));
	return a;
}

static json_t *hist_obj(const char *k1, const char *v1, const char *k2, const char *v2,
			const struct aod_hist *h)
{
	return json_pack("{s:s, s:s, s:o, s:I}", k1, v1, k2, v2, "slots", slots_json(h), "sum_ns",
			 (json_int_t)h->sum_ns);
}

char *aod_metrics_hist_json(struct aod_agent *agent)
{
	struct aod_metrics *m = aod_metrics_new();
	json_t *root, *smb, *blk, *tcp;
	struct snapshot *s;
	char pb[16], *text;

	if (!m)
		return NULL;
	/* a snapshot of our own, read now (not the http worker's, which may be off) */
	s = &m->snap[0];
	sample_probes(m, agent, s);
	smb = json_array();
	blk = json_array();
	tcp = json_array();
	for (unsigned i = 0; i < s->nsmb; i++)
		json_array_append_new(smb, hist_obj("share", s->smb_share[i].share, "command",
						    aod_smb_cmd_name(s->smb_share[i].cmd),
						    &s->smb_share[i].h));
	for (unsigned i = 0; i < s->nblk; i++)
		json_array_append_new(blk, hist_obj("device", s->blk[i].device, "operation",
						    aod_blk_op_name(s->blk[i].op), &s->blk[i].h));
	for (unsigned i = 0; i < s->ntcp; i++)
		json_array_append_new(tcp, hist_obj("histogram", aod_tcp_hist_name(s->tcp[i].kind),
						    "port", port_label(s->tcp[i].port, pb, sizeof(pb)),
						    &s->tcp[i].h));
	root = json_pack("{s:o, s:o, s:o, s:{s:b, s:b, s:b}}", "smb", smb, "block", blk, "tcp", tcp,
			 "loaded", "smb", s->smb_loaded,
			 "block", s->probes[AOD_PROBE_BLOCK].st.state == AOD_PROBE_ATTACHED,
			 "tcp", s->tcp_loaded);
	aod_metrics_free(m);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (text) {
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);

		if (!t) {
			free(text);
			return NULL;
		}
		t[n] = '\n';
		t[n + 1] = '\0';
		text = t;
	}
	return text;
}
