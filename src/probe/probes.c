// SPDX-License-Identifier: MIT
/*
 * Probe lifecycle: the shared ring, which probes are needed, attaching
 * with fallbacks (now or when the kernel side appears), knob updates,
 * in-flight sweeps, status. One mutex guards everything except the ring
 * consumer, which only the poll thread touches and which never changes
 * after start.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "probe/probe_int.h"

#define SMB_ATTACH_RETRIES 3   /* ticks with cifs present before FAILED */
#define DEFAULT_RINGBUF_MB 8
#define MAX_RINGBUF_MB 1024
#define MAX_WAKEUP_BYTES (64 * 1024)
#define DEFAULT_INFLIGHT_TIMEOUT_NS (30 * AOD_NSEC_PER_SEC)
#define SYSFS_CLASS_BLOCK "/sys/class/block"

struct probe_slot {
	enum aod_probe_state state;
	char mode[16];
	char reason[256];
	uint64_t attach_ns;
	uint64_t inflight_expired;
	unsigned failed_attempts;
	bool loaded;
	struct probe_obj po;
};

struct aod_probes {
	pthread_mutex_t lock;
	aod_raw_event_fn fn;
	void *fn_ctx;
	struct aod_probes_opts opts;
	uint64_t inflight_timeout_ns;
	struct aod_config *cfg;
	struct aod_smb_knob_set *smb_k;
	struct aod_blk_knob_set *blk_k;
	const char *force[AOD_PROBE_COUNT]; /* from the environment, or NULL */
	int ring_fd;
	size_t ring_bytes;
	struct ring_buffer *rb;
	bool started;
	struct probe_slot slot[AOD_PROBE_COUNT];
};

static const char *const probe_names[AOD_PROBE_COUNT] = {
	[AOD_PROBE_SMB] = "smb", [AOD_PROBE_BLOCK] = "block",
};

const char *aod_probe_name(enum aod_probe_id id)
{
	return (unsigned)id < AOD_PROBE_COUNT ? probe_names[id] : "?";
}

const char *aod_probe_state_name(enum aod_probe_state state)
{
	switch (state) {
	case AOD_PROBE_DISABLED: return "disabled";
	case AOD_PROBE_WAITING: return "waiting";
	case AOD_PROBE_ATTACHED: return "attached";
	case AOD_PROBE_FAILED: return "failed";
	}
	return "?";
}

const char *aod_blk_op_name(enum aod_blk_op op)
{
	switch (op) {
	case AOD_BLK_READ: return "read";
	case AOD_BLK_WRITE: return "write";
	case AOD_BLK_FLUSH: return "flush";
	case AOD_BLK_DISCARD: return "discard";
	case AOD_BLK_OTHER: return "other";
	}
	return "?";
}

static const char *const *probe_modes(enum aod_probe_id id)
{
	return id == AOD_PROBE_SMB ? aod_smb_modes : aod_blk_modes;
}

static bool probe_needed(const struct aod_probes *p, enum aod_probe_id id)
{
	return id == AOD_PROBE_SMB ? p->smb_k->needed : p->blk_k->needed;
}

static void set_state(struct probe_slot *s, enum aod_probe_state state,
		      const char *reason)
{
	s->state = state;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* ---- configuration ------------------------------------------------------ */

static void compute_knobs(struct aod_probes *p)
{
	aod_knobs_smb(p->cfg, p->opts.record_all, p->smb_k);
	aod_knobs_blk(p->cfg, p->opts.record_all, SYSFS_CLASS_BLOCK, p->blk_k);
}

static const char *env_mode(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

struct aod_probes *aod_probes_new(const struct aod_config *cfg,
				  const struct aod_probes_opts *opts,
				  aod_raw_event_fn fn, void *ctx)
{
	struct aod_probes *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->ring_fd = -1;
	p->cfg = malloc(sizeof(*p->cfg));
	p->smb_k = malloc(sizeof(*p->smb_k));
	p->blk_k = malloc(sizeof(*p->blk_k));
	if (!p->cfg || !p->smb_k || !p->blk_k) {
		aod_probes_free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->fn = fn;
	p->fn_ctx = ctx;
	if (opts)
		p->opts = *opts;
	memcpy(p->cfg, cfg, sizeof(*cfg));
	p->inflight_timeout_ns = p->opts.inflight_timeout_ns;
	if (!p->inflight_timeout_ns)
		p->inflight_timeout_ns = cfg->agent.smb_inflight_timeout_sec * AOD_NSEC_PER_SEC;
	if (!p->inflight_timeout_ns)
		p->inflight_timeout_ns = DEFAULT_INFLIGHT_TIMEOUT_NS;
	p->force[AOD_PROBE_SMB] = env_mode("AOD_SMB_ATTACH");
	p->force[AOD_PROBE_BLOCK] = env_mode("AOD_BLK_ATTACH");
	probe_libbpf_log_init();
	compute_knobs(p);
	return p;
}

/* ---- ring --------------------------------------------------------------- */

static int on_sample(void *ctx, void *data, size_t size)
{
	struct aod_probes *p = ctx;

	if (size < sizeof(struct aod_raw_event)) {
		log_debug("probe: short ring record (%zu bytes) skipped", size);
		return 0;
	}
	if (p->fn)
		p->fn(p->fn_ctx, data);
	return 0;
}

static size_t ring_size(const struct aod_probes *p)
{
	uint32_t mb = p->opts.ringbuf_mb ? p->opts.ringbuf_mb : p->cfg->agent.ringbuf_mb;
	uint32_t pow = 1;

	if (!mb)
		mb = DEFAULT_RINGBUF_MB;
	if (mb > MAX_RINGBUF_MB)
		mb = MAX_RINGBUF_MB;
	while (pow < mb)
		pow <<= 1; /* the kernel wants a power-of-2 size */
	return (size_t)pow << 20;
}

static int ring_create(struct aod_probes *p)
{
	int err;

	p->ring_bytes = ring_size(p);
	p->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "aod_events", 0, 0,
				    (__u32)p->ring_bytes, NULL);
	if (p->ring_fd < 0) {
		err = -errno;
		log_err("probe: creating the %zu MiB event ring: %s",
			p->ring_bytes >> 20, strerror(-err));
		return err;
	}
	p->rb = ring_buffer__new(p->ring_fd, on_sample, p, NULL);
	if (!p->rb) {
		err = -errno;
		log_err("probe: ring consumer: %s", strerror(-err));
		close(p->ring_fd);
		p->ring_fd = -1;
		return err;
	}
	return 0;
}

int aod_probes_poll(struct aod_probes *p, int timeout_ms)
{
	int n, m;

	if (!p->rb)
		return -EINVAL;
	n = ring_buffer__poll(p->rb, timeout_ms);
	if (n < 0 && n != -EINTR)
		return n;
	/* records submitted without a wakeup: epoll did not report them */
	m = ring_buffer__consume(p->rb);
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
}

/* ---- attach ------------------------------------------------------------- */

static int load_mode(struct aod_probes *p, enum aod_probe_id id, const char *mode,
		     char *err, size_t len)
{
	struct probe_load_env env = {
		.ring_fd = p->ring_fd,
		.wakeup_bytes = p->ring_bytes / 8 < MAX_WAKEUP_BYTES
					? p->ring_bytes / 8 : MAX_WAKEUP_BYTES,
	};
	struct probe_obj *po = &p->slot[id].po;

	if (id == AOD_PROBE_SMB)
		return smb_probe_load(po, mode, &env, p->smb_k, err, len);
	return blk_probe_load(po, mode, &env, p->blk_k, err, len);
}

/* Tries each mode in order (or the forced one). On failure the slot's
 * reason lists what every mode said; the caller decides the state. */
static int probe_attach(struct aod_probes *p, enum aod_probe_id id)
{
	struct probe_slot *s = &p->slot[id];
	const char *force = p->force[id];
	uint64_t t0 = aod_mono_ns();
	char all[sizeof(s->reason)] = "", one[PROBE_ERR_LEN];
	size_t used = 0;
	int err = -ENOENT;

	if (force && !probe_mode_valid(force, probe_modes(id))) {
		snprintf(s->reason, sizeof(s->reason), "%s=%s: unknown attach mode",
			 id == AOD_PROBE_SMB ? "AOD_SMB_ATTACH" : "AOD_BLK_ATTACH", force);
		return -EINVAL;
	}
	for (const char *const *m = probe_modes(id); *m; m++) {
		if (force && strcmp(force, *m))
			continue;
		err = load_mode(p, id, *m, one, sizeof(one));
		if (!err) {
			s->loaded = true;
			s->attach_ns = aod_mono_ns() - t0;
			snprintf(s->mode, sizeof(s->mode), "%s", *m);
			set_state(s, AOD_PROBE_ATTACHED, "");
			log_info("probe %s: attached (%s) in %.1f ms", aod_probe_name(id),
				 *m, (double)s->attach_ns / 1e6);
			return 0;
		}
		log_debug("probe %s: %s: %s", aod_probe_name(id), *m, one);
		if (used < sizeof(all))
			used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s: %s",
						 used ? "; " : "", *m, one);
	}
	s->mode[0] = '\0';
	snprintf(s->reason, sizeof(s->reason), "%s", all);
	return err;
}

static void attach_or_fail(struct aod_probes *p, enum aod_probe_id id)
{
	struct probe_slot *s = &p->slot[id];

	if (probe_attach(p, id)) {
		s->state = AOD_PROBE_FAILED;
		log_warn("probe %s: failed: %s", aod_probe_name(id), s->reason);
	}
}

static void smb_try_attach(struct aod_probes *p, bool from_tick)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	char why[128];

	if (!smb_kernel_side_present(why, sizeof(why))) {
		set_state(s, AOD_PROBE_WAITING, why);
		return;
	}
	if (!from_tick) {
		attach_or_fail(p, AOD_PROBE_SMB);
		return;
	}
	log_info("probe smb: cifs appeared (%s); attaching", why);
	if (!probe_attach(p, AOD_PROBE_SMB))
		return;
	/* the module may still be initialising: retry a few ticks */
	if (++s->failed_attempts >= SMB_ATTACH_RETRIES) {
		s->state = AOD_PROBE_FAILED;
		log_warn("probe smb: failed: %s", s->reason);
	} else {
		s->state = AOD_PROBE_WAITING;
	}
}

int aod_probes_start(struct aod_probes *p)
{
	int err;

	pthread_mutex_lock(&p->lock);
	if (p->started) {
		pthread_mutex_unlock(&p->lock);
		return -EALREADY;
	}
	probe_raise_memlock();
	err = ring_create(p);
	if (err) {
		pthread_mutex_unlock(&p->lock);
		return err;
	}
	p->started = true;
	for (int id = 0; id < AOD_PROBE_COUNT; id++) {
		if (!probe_needed(p, id)) {
			set_state(&p->slot[id], AOD_PROBE_DISABLED, "no rule needs it");
			continue;
		}
		if (id == AOD_PROBE_SMB)
			smb_try_attach(p, false);
		else
			attach_or_fail(p, id);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- reload, tick ------------------------------------------------------- */

static int write_knobs(struct aod_probes *p, enum aod_probe_id id)
{
	struct probe_obj *po = &p->slot[id].po;

	if (id == AOD_PROBE_SMB)
		return smb_probe_write_knobs(po, p->smb_k);
	return blk_probe_write_knobs(po, p->blk_k);
}

int aod_probes_apply_config(struct aod_probes *p, const struct aod_config *cfg)
{
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	memcpy(p->cfg, cfg, sizeof(*cfg));
	compute_knobs(p);
	for (int id = 0; id < AOD_PROBE_COUNT && p->started; id++) {
		struct probe_slot *s = &p->slot[id];
		int err;

		if (s->loaded) {
			err = write_knobs(p, id);
			if (err) {
				log_err("probe %s: writing knobs: %s", aod_probe_name(id),
					strerror(-err));
				if (!ret)
					ret = err;
			}
		} else if (probe_needed(p, id) && s->state == AOD_PROBE_DISABLED) {
			s->failed_attempts = 0;
			set_state(s, AOD_PROBE_WAITING, "needed by the new config; "
				  "attaching at the next tick");
		} else if (!probe_needed(p, id)) {
			set_state(s, AOD_PROBE_DISABLED, "no rule needs it");
		}
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Device names may appear after start (hotplug): re-resolve them. */
static int refresh_blk_devices(struct aod_probes *p)
{
	struct aod_blk_knob_set *k = malloc(sizeof(*k));
	int err = 0;

	if (!k)
		return -ENOMEM;
	aod_knobs_blk(p->cfg, p->opts.record_all, SYSFS_CLASS_BLOCK, k);
	if (!aod_knobs_blk_equal(k, p->blk_k)) {
		memcpy(p->blk_k, k, sizeof(*k));
		err = write_knobs(p, AOD_PROBE_BLOCK);
	}
	free(k);
	return err;
}

static int sweep(struct aod_probes *p, enum aod_probe_id id, uint64_t now)
{
	struct probe_slot *s = &p->slot[id];

	if (!s->loaded || now < p->inflight_timeout_ns)
		return 0;
	return probe_sweep(s->po.inflight_fd, s->po.inflight_key_size,
			   s->po.inflight_value_size, now - p->inflight_timeout_ns,
			   &s->inflight_expired);
}

int aod_probes_tick(struct aod_probes *p, uint64_t now_mono_ns)
{
	struct probe_slot *smb = &p->slot[AOD_PROBE_SMB];
	struct probe_slot *blk = &p->slot[AOD_PROBE_BLOCK];
	int ret = 0, err;

	pthread_mutex_lock(&p->lock);
	if (!p->started)
		goto out;
	if (smb->state == AOD_PROBE_WAITING && !smb->loaded)
		smb_try_attach(p, true);
	if (blk->state == AOD_PROBE_WAITING && !blk->loaded)
		attach_or_fail(p, AOD_PROBE_BLOCK);
	if (blk->loaded && (err = refresh_blk_devices(p)) && !ret)
		ret = err;
	for (int id = 0; id < AOD_PROBE_COUNT; id++)
		if ((err = sweep(p, id, now_mono_ns)) && !ret)
			ret = err;
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- status, histograms ------------------------------------------------- */

void aod_probes_status(struct aod_probes *p, enum aod_probe_id id,
		       struct aod_probe_status *out)
{
	struct probe_slot *s;

	memset(out, 0, sizeof(*out));
	if ((unsigned)id >= AOD_PROBE_COUNT)
		return;
	s = &p->slot[id];
	pthread_mutex_lock(&p->lock);
	out->state = s->state;
	if (!p->started && out->state == AOD_PROBE_DISABLED)
		snprintf(out->reason, sizeof(out->reason), "not started");
	else
		snprintf(out->reason, sizeof(out->reason), "%s", s->reason);
	snprintf(out->mode, sizeof(out->mode), "%s", s->mode);
	out->inflight_expired = s->inflight_expired;
	out->attach_ns = s->attach_ns;
	if (s->loaded) {
		probe_sum_counters(s->po.counters_fd, out->counters);
		out->recursion_misses = probe_recursion_misses(s->po.obj);
	}
	pthread_mutex_unlock(&p->lock);
}

int aod_probes_prog_stats(struct aod_probes *p, enum aod_probe_id id,
			  struct aod_prog_stats *out, int max)
{
	int n = 0;

	if ((unsigned)id >= AOD_PROBE_COUNT)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (p->slot[id].loaded)
		n = probe_prog_stats(p->slot[id].po.obj, out, max);
	pthread_mutex_unlock(&p->lock);
	return n;
}

int aod_probes_smb_hist(struct aod_probes *p, unsigned cmd, struct aod_hist *out)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_SMB];
	int err;

	if (cmd >= AOD_SMB_NCMDS)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	err = s->loaded ? smb_probe_hist(&s->po, cmd, out) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	return err;
}

struct blk_hist_entry {
	struct aod_blk_hist_key key;
	struct aod_hist hist;
};

/* Copies every histogram out of the map; returns the count or -errno. */
static int blk_hist_copy(int fd, struct blk_hist_entry **out)
{
	struct aod_blk_hist_key key, next;
	struct blk_hist_entry *v = NULL;
	int n = 0, cap = 0, err;

	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		key = next;
		if (n == cap) {
			struct blk_hist_entry *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].key = key;
		if (!bpf_map_lookup_elem(fd, &key, &v[n].hist))
			n++;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	*out = v;
	return n;
}

int aod_probes_blk_hist_foreach(struct aod_probes *p, aod_blk_hist_fn fn, void *ctx)
{
	struct probe_slot *s = &p->slot[AOD_PROBE_BLOCK];
	struct blk_hist_entry *v = NULL;
	int n, i;

	pthread_mutex_lock(&p->lock);
	n = s->loaded ? blk_hist_copy(blk_probe_hist_map_fd(&s->po), &v) : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (fn(ctx, v[i].key.dev, (enum aod_blk_op)v[i].key.op, &v[i].hist)) {
			i++;
			break;
		}
	free(v);
	return i;
}

/* ---- teardown ----------------------------------------------------------- */

void aod_probes_free(struct aod_probes *p)
{
	if (!p)
		return;
	if (p->slot[AOD_PROBE_SMB].loaded)
		smb_probe_destroy(&p->slot[AOD_PROBE_SMB].po);
	if (p->slot[AOD_PROBE_BLOCK].loaded)
		blk_probe_destroy(&p->slot[AOD_PROBE_BLOCK].po);
	ring_buffer__free(p->rb);
	if (p->ring_fd >= 0)
		close(p->ring_fd);
	pthread_mutex_destroy(&p->lock);
	free(p->cfg);
	free(p->smb_k);
	free(p->blk_k);
	free(p);
}
