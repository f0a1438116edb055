/* SPDX-License-Identifier: MIT */
/*
 * Ring-buffer record -> struct aod_event: monotonic time to wall time,
 * dev_t to disk name. The disk-name table is read from /sys/class/block
 * once and re-read when an unknown device shows up (at most once a second).
 * The table has its own lock, so the metrics sampler names devices with
 * the same table the dispatcher uses; decoding is otherwise one thread's.
 */
#ifndef AOD_AGENT_DECODE_H
#define AOD_AGENT_DECODE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/events_user.h"
#include "detect/event.h"

#define AOD_MAX_DISKS 256

struct aod_decoder {
	int64_t wall_minus_mono_ns; /* refreshed by aod_decoder_sync_clock() */
	pthread_mutex_t disks_lock;  /* the three fields below */
	uint64_t disks_read_mono_ns;
	unsigned ndisks;
	struct aod_disk_name {
		uint32_t dev;
		char name[AOD_DISK_NAME_LEN];
	} disks[AOD_MAX_DISKS];
};

void aod_decoder_init(struct aod_decoder *d);
void aod_decoder_destroy(struct aod_decoder *d);
void aod_decoder_sync_clock(struct aod_decoder *d);
/* Returns 0, or -EINVAL for a record of unknown kind (counted by the caller). */
int aod_decode_event(struct aod_decoder *d, const struct aod_raw_event *raw, struct aod_event *ev);
/* Name of dev into buf ("" if unknown); thread-safe. */
void aod_decoder_disk_name(struct aod_decoder *d, uint32_t dev, uint64_t now_mono, char *buf,
			   size_t len);

#endif /* AOD_AGENT_DECODE_H */
