// SPDX-License-Identifier: MIT
/*
 * Keys a running agent cannot change: what was sized or bound at start (the
 * control socket, the BPF ring, the action pool, the flight recorder, the
 * in-flight sweep, the process probe's sys_exit hook). A reload that changes them keeps their running values
 * and says which keys need a restart.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"

struct restart_key {
	const char *name;
	bool (*differ)(const struct aod_config *a, const struct aod_config *b);
	void (*keep)(struct aod_config *fresh, const struct aod_config *running);
};

#define SCALAR_KEY(name, field)                                                         \
	static bool differ_##name(const struct aod_config *a, const struct aod_config *b) \
	{                                                                               \
		return a->field != b->field;                                            \
	}                                                                               \
	static void keep_##name(struct aod_config *f, const struct aod_config *r)      \
	{                                                                               \
		f->field = r->field;                                                    \
	}

SCALAR_KEY(ringbuf, agent.ringbuf_mb)
SCALAR_KEY(inflight, agent.smb_inflight_timeout_sec)
SCALAR_KEY(sweep, agent.stuck_sweep_ms)
SCALAR_KEY(tasks, watcher.max_concurrent_tasks)
SCALAR_KEY(fr_events, watcher.flight_recorder_max_events)
SCALAR_KEY(fr_sec, watcher.flight_recorder_sec)
SCALAR_KEY(store_on, store.enabled)
SCALAR_KEY(store_queue, store.queue_size)
SCALAR_KEY(upload_queue, upload.queue_size)
SCALAR_KEY(failed_execs, probes.proc.failed_execs) /* which programs the probe loads */

static bool differ_store_path(const struct aod_config *a, const struct aod_config *b)
{
	return strcmp(a->store.path, b->store.path) != 0;
}

static void keep_store_path(struct aod_config *f, const struct aod_config *r)
{
	memcpy(f->store.path, r->store.path, sizeof(f->store.path));
}

/* Adding or removing upload: the uploader exists or not from the start: the
 * whole running section stays (not only the flag: its endpoint and bucket). */
static bool differ_upload_on(const struct aod_config *a, const struct aod_config *b)
{
	return a->upload.enabled != b->upload.enabled;
}

static void keep_upload_on(struct aod_config *f, const struct aod_config *r)
{
	memcpy(&f->upload, &r->upload, sizeof(f->upload));
}

static bool differ_socket(const struct aod_config *a, const struct aod_config *b)
{
	return strcmp(a->agent.control_socket, b->agent.control_socket) != 0;
}

static void keep_socket(struct aod_config *f, const struct aod_config *r)
{
	memcpy(f->agent.control_socket, r->agent.control_socket, sizeof(f->agent.control_socket));
}

static const struct restart_key restart_keys[] = {
	{ "agent.control_socket", differ_socket, keep_socket },
	{ "agent.ringbuf_mb", differ_ringbuf, keep_ringbuf },
	{ "agent.smb_inflight_timeout_sec", differ_inflight, keep_inflight },
	{ "agent.stuck_sweep_ms", differ_sweep, keep_sweep },
	{ "watcher.max_concurrent_tasks", differ_tasks, keep_tasks },
	{ "watcher.flight_recorder_max_events", differ_fr_events, keep_fr_events },
	{ "watcher.flight_recorder_sec", differ_fr_sec, keep_fr_sec },
	{ "store.enabled", differ_store_on, keep_store_on },
	{ "store.path", differ_store_path, keep_store_path },
	{ "store.queue_size", differ_store_queue, keep_store_queue },
	{ "upload", differ_upload_on, keep_upload_on },
	{ "upload.queue_size", differ_upload_queue, keep_upload_queue },
	{ "probes.proc.failed_execs", differ_failed_execs, keep_failed_execs },
};

size_t aod_config_keep_restart_keys(struct aod_config *fresh, const struct aod_config *running,
				    char *keys, size_t len)
{
	size_t n = 0, off = 0;

	if (len)
		keys[0] = '\0';
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const struct restart_key *k = &restart_keys[i];

		if (!k->differ(fresh, running))
			continue;
		k->keep(fresh, running);
		if (off < len)
			off += (size_t)snprintf(keys + off, len - off, "%s%s", n ? ", " : "", k->name);
		n++;
	}
	return n;
}
