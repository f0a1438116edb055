// SPDX-License-Identifier: MIT
/*
 * System-wide figures from /proc: parsers for stat, meminfo, pressure,
 * diskstats, net/dev and loadavg, and one sample of all of them. Disk bytes
 * count whole physical disks only (not partitions, loop, ram or devices
 * stacked on others), so that nothing is counted twice.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/timeutil.h"
#include "health/procfs.h"

#define FOR_LINES(p, len, text) \
	for (const char *p = (text); *p; p += len + (p[len] == '\n')) \
		if ((len = strcspn(p, "\n")), 1)

int aod_parse_proc_stat(const char *text, struct aod_cpu_times *t, unsigned *ncpus)
{
	bool found = false;
	size_t len;

	*ncpus = 0;
	FOR_LINES(p, len, text) {
		if (!strncmp(p, "cpu ", 4)) {
			memset(t, 0, sizeof(*t));
			found = sscanf(p + 4, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
					" %" SCNu64 " %" SCNu64 " %" SCNu64, &t->user, &t->nice, &t->system,
				       &t->idle, &t->iowait, &t->irq, &t->softirq, &t->steal) >= 4;
		} else if (!strncmp(p, "cpu", 3) && p[3] >= '0' && p[3] <= '9') {
			(*ncpus)++;
		}
	}
	return found ? 0 : -ENOENT;
}

static uint64_t cpu_total(const struct aod_cpu_times *t)
{
	return t->user + t->nice + t->system + t->idle + t->iowait + t->irq + t->softirq + t->steal;
}

double aod_cpu_busy_percent(const struct aod_cpu_times *a, const struct aod_cpu_times *b)
{
	uint64_t ta = cpu_total(a), tb = cpu_total(b);
	uint64_t ia = a->idle + a->iowait, ib = b->idle + b->iowait;

	if (tb <= ta)
		return -1;
	if (ib < ia)
		ib = ia;
	return 100.0 * (double)((tb - ta) - (ib - ia)) / (double)(tb - ta);
}

int aod_parse_meminfo(const char *text, struct aod_meminfo *m)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "MemTotal:", offsetof(struct aod_meminfo, total) },
		{ "MemAvailable:", offsetof(struct aod_meminfo, available) },
		{ "SwapTotal:", offsetof(struct aod_meminfo, swap_total) },
		{ "SwapFree:", offsetof(struct aod_meminfo, swap_free) },
	};
	unsigned found = 0;
	size_t len;

	memset(m, 0, sizeof(*m));
	FOR_LINES(p, len, text) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			uint64_t kb;

			if (strncmp(p, keys[i].key, kl) || sscanf(p + kl, "%" SCNu64, &kb) != 1)
				continue;
			*(uint64_t *)((char *)m + keys[i].off) = kb * 1024;
			found |= 1u << i;
		}
	}
	return (found & 3) == 3 ? 0 : -ENOENT;
}

static bool parse_psi_line(const char *p, struct aod_psi_line *l)
{
	if (sscanf(p, "avg10=%lf avg60=%lf avg300=%lf total=%" SCNu64, &l->avg10, &l->avg60,
		   &l->avg300, &l->total_usec) != 4)
		return false;
	l->present = true;
	return true;
}

int aod_parse_psi(const char *text, struct aod_psi *psi)
{
	size_t len;

	memset(psi, 0, sizeof(*psi));
	FOR_LINES(p, len, text) {
		if (!strncmp(p, "some ", 5))
			parse_psi_line(p + 5, &psi->some);
		else if (!strncmp(p, "full ", 5))
			parse_psi_line(p + 5, &psi->full);
	}
	return psi->some.present ? 0 : -ENOENT;
}

int aod_parse_diskstats(const char *text, bool (*is_disk)(const char *name, void *arg), void *arg,
			uint64_t *read_bytes, uint64_t *write_bytes)
{
	bool any = false;
	size_t len;

	*read_bytes = *write_bytes = 0;
	FOR_LINES(p, len, text) {
		uint64_t rd_sec, wr_sec, skip;
		char name[64];
		unsigned maj, min;

		/* maj min name reads merged sectors ms writes merged sectors ... */
		if (sscanf(p, "%u %u %63s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			      " %" SCNu64 " %" SCNu64, &maj, &min, name, &skip, &skip, &rd_sec, &skip,
			   &skip, &skip, &wr_sec) != 10)
			continue;
		if (is_disk && !is_disk(name, arg))
			continue;
		*read_bytes += rd_sec * 512;
		*write_bytes += wr_sec * 512;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

int aod_parse_netdev(const char *text, uint64_t *rx_bytes, uint64_t *tx_bytes)
{
	bool any = false;
	size_t len;

	*rx_bytes = *tx_bytes = 0;
	FOR_LINES(p, len, text) {
		const char *colon = memchr(p, ':', len);
		uint64_t rx, tx, skip;
		char name[64];
		size_t nl;

		if (!colon)
			continue;
		while (*p == ' ')
			p++, len--;
		nl = (size_t)(colon - p);
		if (nl == 0 || nl >= sizeof(name))
			continue;
		memcpy(name, p, nl);
		name[nl] = '\0';
		if (sscanf(colon + 1, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
				      " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &rx, &skip, &skip,
			   &skip, &skip, &skip, &skip, &skip, &tx) != 9 || !strcmp(name, "lo"))
			continue;
		*rx_bytes += rx;
		*tx_bytes += tx;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

int aod_parse_loadavg(const char *text, double load[3])
{
	return sscanf(text, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3 ? 0 : -EINVAL;
}

/* A whole physical disk: in /sys/block, not loop/ram/zram, nothing beneath it. */
static bool sys_block_disk(const char *name, void *arg)
{
	char path[320];
	DIR *d;
	struct dirent *de;
	bool stacked = false;

	(void)arg;
	if (!strncmp(name, "loop", 4) || !strncmp(name, "ram", 3) || !strncmp(name, "zram", 4))
		return false;
	snprintf(path, sizeof(path), "/sys/block/%s/slaves", name);
	d = opendir(path);
	if (!d) {
		snprintf(path, sizeof(path), "/sys/block/%s", name);
		return access(path, F_OK) == 0;
	}
	while ((de = readdir(d)))
		stacked |= de->d_name[0] != '.';
	closedir(d);
	return !stacked;
}

static char *proc_text(const char *path)
{
	char *text = NULL;

	return aod_read_text(path, 0, &text, NULL) < 0 ? NULL : text;
}

void aod_sys_sample(struct aod_sys_sample *s)
{
	static const char *const psi_files[AOD_PSI_N] = {
		"/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
	};
	char *t;

	memset(s, 0, sizeof(*s));
	s->mono_ns = aod_mono_ns();
	if ((t = proc_text("/proc/stat")))
		s->has_cpu = !aod_parse_proc_stat(t, &s->cpu, &s->ncpus);
	free(t);
	if ((t = proc_text("/proc/meminfo")))
		s->has_mem = !aod_parse_meminfo(t, &s->mem);
	free(t);
	for (int i = 0; i < AOD_PSI_N; i++) {
		if ((t = proc_text(psi_files[i])))
			s->has_psi[i] = !aod_parse_psi(t, &s->psi[i]);
		free(t);
	}
	if ((t = proc_text("/proc/diskstats")))
		s->has_disk = !aod_parse_diskstats(t, sys_block_disk, NULL, &s->disk_read_bytes,
						   &s->disk_write_bytes);
	free(t);
	if ((t = proc_text("/proc/net/dev")))
		s->has_net = !aod_parse_netdev(t, &s->net_rx_bytes, &s->net_tx_bytes);
	free(t);
	if ((t = proc_text("/proc/loadavg")))
		s->has_load = !aod_parse_loadavg(t, s->load);
	free(t);
}
