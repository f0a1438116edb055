// SPDX-License-Identifier: MIT
/* Decoding ring records into events; the shared dev_t -> disk name table. */
#include "agent/decode.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

#define DISK_REREAD_NS AOD_NSEC_PER_SEC

void aod_decoder_sync_clock(struct aod_decoder *d)
{
	uint64_t mono = aod_mono_ns();
	uint64_t wall = aod_wall_ns();

	__atomic_store_n(&d->wall_minus_mono_ns, (int64_t)(wall - mono), __ATOMIC_RELAXED);
}

/* Scans /sys/class/block into disks[]; returns how many (no lock held). */
static unsigned scan_disks(struct aod_disk_name *disks)
{
	DIR *dir = opendir("/sys/class/block");
	struct dirent *de;
	unsigned n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < AOD_MAX_DISKS) {
		char path[512];
		unsigned major, minor;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/dev", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%u:%u", &major, &minor) == 2) {
			size_t len = strnlen(de->d_name, AOD_DISK_NAME_LEN - 1);

			disks[n].dev = major << 20 | minor;
			memcpy(disks[n].name, de->d_name, len);
			disks[n].name[len] = '\0';
			n++;
		}
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* Under disks_lock. */
static const char *find_disk(const struct aod_decoder *d, uint32_t dev)
{
	for (unsigned i = 0; i < d->ndisks; i++)
		if (d->disks[i].dev == dev)
			return d->disks[i].name;
	return NULL;
}

/* Rescans without the lock held, then swaps the table in. */
static void read_disks(struct aod_decoder *d, uint64_t now_mono)
{
	struct aod_disk_name *fresh = malloc(sizeof(d->disks));
	unsigned n = fresh ? scan_disks(fresh) : 0;

	pthread_mutex_lock(&d->disks_lock);
	d->disks_read_mono_ns = now_mono ? now_mono : 1;
	if (fresh) {
		memcpy(d->disks, fresh, n * sizeof(*fresh));
		d->ndisks = n;
	}
	pthread_mutex_unlock(&d->disks_lock);
	free(fresh);
}

void aod_decoder_init(struct aod_decoder *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->disks_lock, NULL);
	aod_decoder_sync_clock(d);
	read_disks(d, aod_mono_ns());
}

void aod_decoder_destroy(struct aod_decoder *d)
{
	pthread_mutex_destroy(&d->disks_lock);
}

void aod_decoder_disk_name(struct aod_decoder *d, uint32_t dev, uint64_t now_mono, char *buf,
			   size_t len)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *name;
		bool reread;

		pthread_mutex_lock(&d->disks_lock);
		name = find_disk(d, dev);
		if (name)
			snprintf(buf, len, "%s", name);
		/* A device that appeared after start: re-read, but not on every event. */
		reread = !name && !pass && now_mono - d->disks_read_mono_ns >= DISK_REREAD_NS;
		pthread_mutex_unlock(&d->disks_lock);
		if (name)
			return;
		if (!reread)
			break;
		read_disks(d, now_mono);
	}
	snprintf(buf, len, "%s", "");
}

static void decode_tcp(const struct aod_raw_event *raw, struct aod_event *ev)
{
	const struct aod_raw_tcp *t = &raw->tcp;

	ev->kind = raw->h.kind == AOD_RAW_TCP_CONNECT   ? AOD_EVENT_TCP_CONNECT
		   : raw->h.kind == AOD_RAW_TCP_RETRANS ? AOD_EVENT_TCP_RETRANS
							: AOD_EVENT_TCP_RESET;
	ev->tcp.family = t->family;
	memcpy(ev->tcp.laddr, t->laddr, sizeof(ev->tcp.laddr));
	memcpy(ev->tcp.raddr, t->raddr, sizeof(ev->tcp.raddr));
	ev->tcp.lport = t->lport;
	ev->tcp.rport = t->rport;
	ev->tcp.state = t->state;
	ev->tcp.dir = t->dir;
	ev->tcp.segs = t->segs;
	ev->tcp.latency_ns = t->latency_ns;
}

int aod_decode_event(struct aod_decoder *d, const struct aod_raw_event *raw, struct aod_event *ev)
{
	int64_t offset = __atomic_load_n(&d->wall_minus_mono_ns, __ATOMIC_RELAXED);

	memset(ev, 0, sizeof(*ev));
	ev->mono_ns = raw->h.ts_ns;
	ev->wall_ns = (uint64_t)((int64_t)raw->h.ts_ns + offset);
	ev->pid = raw->h.pid;
	ev->tgid = raw->h.tgid;
	memcpy(ev->comm, raw->h.comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = '\0';
	if (raw->h.flags & AOD_RAWF_WAS_STUCK)
		ev->flags |= AOD_EVF_WAS_STUCK;
	if (raw->h.flags & AOD_RAWF_LATE)
		ev->flags |= AOD_EVF_LATE;

	if (raw->h.kind == AOD_RAW_SMB_STUCK || raw->h.kind == AOD_RAW_BLK_STUCK)
		ev->batch = raw->h.batch;
	switch (raw->h.kind) {
	case AOD_RAW_SMB_SLOW:
	case AOD_RAW_SMB_ERR:
	case AOD_RAW_SMB_STUCK:
		ev->kind = raw->h.kind == AOD_RAW_SMB_SLOW  ? AOD_EVENT_SMB_SLOW
			   : raw->h.kind == AOD_RAW_SMB_ERR ? AOD_EVENT_SMB_ERR
							    : AOD_EVENT_SMB_STUCK;
		ev->smb.cmd = raw->smb.cmd;
		ev->smb.tid = raw->smb.tid;
		ev->smb.status = raw->smb.status;
		ev->smb.rc = raw->smb.rc;
		ev->smb.sesid = raw->smb.sesid;
		ev->smb.mid = raw->smb.mid;
		ev->smb.latency_ns = raw->smb.latency_ns;
		return 0;
	case AOD_RAW_BLK_SLOW:
	case AOD_RAW_BLK_ERR:
	case AOD_RAW_BLK_STUCK:
		ev->kind = raw->h.kind == AOD_RAW_BLK_SLOW  ? AOD_EVENT_BLK_SLOW
			   : raw->h.kind == AOD_RAW_BLK_ERR ? AOD_EVENT_BLK_ERR
							    : AOD_EVENT_BLK_STUCK;
		ev->blk.dev = raw->blk.dev;
		aod_decoder_disk_name(d, raw->blk.dev, raw->h.ts_ns, ev->blk.disk,
				      sizeof(ev->blk.disk));
		ev->blk.op = raw->blk.op;
		ev->blk.sector = raw->blk.sector;
		ev->blk.bytes = raw->blk.bytes;
		ev->blk.error = raw->blk.error;
		ev->blk.latency_ns = raw->blk.latency_ns;
		return 0;
	case AOD_RAW_SMB_RECONNECT:
		ev->kind = AOD_EVENT_SMB_RECONNECT;
		ev->conn.conn_id = raw->conn.conn_id;
		ev->conn.currmid = raw->conn.currmid;
		memcpy(ev->conn.server, raw->conn.server, sizeof(ev->conn.server));
		ev->conn.server[sizeof(ev->conn.server) - 1] = '\0';
		return 0;
	case AOD_RAW_TCP_CONNECT:
	case AOD_RAW_TCP_RETRANS:
	case AOD_RAW_TCP_RESET:
		decode_tcp(raw, ev);
		return 0;
	default:
		return -EINVAL;
	}
}
