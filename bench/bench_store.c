// SPDX-License-Identifier: MIT
/*
 * Store throughput: events per second through the agent's StoreWriter
 * thread (queue, batched transactions, WAL) into a real file, and bytes
 * per event on disk. The producer hands over batches as the dispatcher
 * does and never waits; it paces itself on the queue's depth so that the
 * figure is the writer's, and any overflow is reported. Figures only.
 *
 *   bench_store DIR [EVENTS]     (DIR on a real file system, not tmpfs)
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/store_writer.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "probe/smb_shares.h"
#include "store/store.h"

#define BATCH 4096
#define QUEUE 16384

/* A realistic mix: block slow ops on three disks, SMB slow ops and errors. */
static void make_event(struct aod_event *ev, uint64_t i, uint64_t t0)
{
	memset(ev, 0, sizeof(*ev));
	ev->mono_ns = i * 1000;
	ev->wall_ns = t0 + i * 1000;
	ev->pid = ev->tgid = 1000 + (uint32_t)(i % 13);
	memcpy(ev->comm, "fio", 4);
	if (i % 4) {
		ev->kind = AOD_EVENT_BLK_SLOW;
		ev->blk.dev = (253u << 20) | (uint32_t)(i % 3);
		snprintf(ev->blk.disk, sizeof(ev->blk.disk), "vd%c", (char)('a' + i % 3));
		ev->blk.op = (uint32_t)(i % 2);
		ev->blk.sector = i * 8;
		ev->blk.bytes = 4096;
		ev->blk.latency_ns = 20000000 + i % 997;
	} else {
		ev->kind = i % 8 ? AOD_EVENT_SMB_SLOW : AOD_EVENT_SMB_ERR;
		ev->smb.cmd = 9;
		ev->smb.sesid = 0x1234;
		ev->smb.tid = 5;
		ev->smb.mid = i;
		ev->smb.latency_ns = 30000000 + i % 991;
		ev->smb.status = i % 8 ? 0 : 0xC0000022;
		ev->smb.rc = i % 8 ? 0 : -13;
	}
}

static int agent_setup(struct aod_agent *agent, const char *path)
{
	struct aod_config_error err;

	agent->cfg = malloc(sizeof(*agent->cfg));
	if (!agent->cfg || aod_config_load(agent->cfg, NULL, &err))
		return -1;
	snprintf(agent->cfg->store.path, sizeof(agent->cfg->store.path), "%s", path);
	agent->cfg->store.queue_size = QUEUE;
	agent->cfg->store.max_mb = 1e6; /* no retention during the run */
	agent->cfg->cleanup.cleanup_interval_sec = 86400;
	pthread_mutex_init(&agent->cfg_lock, NULL);
	atomic_store(&agent->cfg_gen, 1);
	agent->stop_eventfd = eventfd(0, EFD_CLOEXEC);
	agent->start_wall_ns = aod_wall_ns();
	agent->shares = aod_smb_shares_new("/nonexistent");
	agent->store = aod_store_writer_new(agent);
	return agent->store && agent->shares && agent->stop_eventfd >= 0 ? 0 : -1;
}

static void *writer(void *arg)
{
	aod_store_writer_main(arg);
	return NULL;
}

static json_int_t stat_of(struct aod_agent *agent, const char *key)
{
	json_t *o = aod_store_writer_status_json(agent->store);
	json_int_t v = json_integer_value(json_object_get(o, key));

	json_decref(o);
	return v;
}

int main(int argc, char **argv)
{
	struct aod_agent agent = { 0 };
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 500000, t0, t1, sent = 0;
	struct aod_event *batch = calloc(BATCH, sizeof(*batch));
	char path[4096];
	pthread_t th;

	if (argc < 2 || !batch) {
		fprintf(stderr, "usage: bench_store DIR [EVENTS]\n");
		return 2;
	}
	aod_log_init(AOD_LOG_WARN);
	snprintf(path, sizeof(path), "%s/bench-store.db", argv[1]);
	unlink(path);
	if (agent_setup(&agent, path) || pthread_create(&th, NULL, writer, &agent)) {
		fprintf(stderr, "bench_store: setup failed\n");
		return 1;
	}
	t0 = aod_mono_ns();
	while (sent < n) {
		size_t m = n - sent < BATCH ? (size_t)(n - sent) : BATCH;

		if (stat_of(&agent, "queue_depth") > QUEUE - BATCH) {
			usleep(200);
			continue;
		}
		for (size_t i = 0; i < m; i++)
			make_event(&batch[i], sent + i, agent.start_wall_ns);
		aod_store_writer_events(agent.store, batch, m);
		sent += m;
	}
	while ((uint64_t)stat_of(&agent, "events_written") + (uint64_t)stat_of(&agent, "lost") < n)
		usleep(1000);
	t1 = aod_mono_ns();
	aod_store_writer_finish(agent.store);
	pthread_join(th, NULL);
	printf("store throughput: %.0f events/s through the StoreWriter thread into %s "
	       "(%llu events, %lld batches, %lld lost); %.1f bytes per event on disk "
	       "(file + WAL after close, indexes included)\n",
	       (double)n * 1e9 / (double)(t1 - t0), argv[1], (unsigned long long)n,
	       (long long)stat_of(&agent, "batches"), (long long)stat_of(&agent, "lost"),
	       (double)aod_store_disk_bytes(path) / (double)n);
	aod_store_writer_free(agent.store);
	aod_smb_shares_free(agent.shares);
	free(agent.cfg);
	free(batch);
	unlink(path);
	return 0;
}
