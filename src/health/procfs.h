/* SPDX-License-Identifier: MIT */
/*
 * System-wide figures from /proc: CPU times, memory and swap, pressure
 * (PSI), disk and network byte counters, load. Parsers take the file's
 * text; aod_sys_sample() reads them all once, and two samples make rates.
 */
#ifndef AOD_HEALTH_PROCFS_H
#define AOD_HEALTH_PROCFS_H

#include <stdbool.h>
#include <stdint.h>

struct aod_cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

struct aod_meminfo {
	uint64_t total, available, swap_total, swap_free; /* bytes */
};

struct aod_psi_line {
	bool present;
	double avg10, avg60, avg300;
	uint64_t total_usec;
};

struct aod_psi {
	struct aod_psi_line some, full;
};

enum { AOD_PSI_CPU, AOD_PSI_MEMORY, AOD_PSI_IO, AOD_PSI_N };

struct aod_sys_sample {
	uint64_t mono_ns;
	bool has_cpu, has_mem, has_disk, has_net, has_load;
	bool has_psi[AOD_PSI_N];
	struct aod_cpu_times cpu;
	unsigned ncpus;
	struct aod_meminfo mem;
	struct aod_psi psi[AOD_PSI_N];
	uint64_t disk_read_bytes, disk_write_bytes;
	uint64_t net_rx_bytes, net_tx_bytes;
	double load[3];
};

int aod_parse_proc_stat(const char *text, struct aod_cpu_times *t, unsigned *ncpus);
/* Busy share of the CPU time between two samples, 0..100; -1 if no time passed. */
double aod_cpu_busy_percent(const struct aod_cpu_times *a, const struct aod_cpu_times *b);
int aod_parse_meminfo(const char *text, struct aod_meminfo *m);
int aod_parse_psi(const char *text, struct aod_psi *p);
/* Sum of sectors*512 over devices for which is_disk(name) is true. */
int aod_parse_diskstats(const char *text, bool (*is_disk)(const char *name, void *arg), void *arg,
			uint64_t *read_bytes, uint64_t *write_bytes);
/* Sum over interfaces except lo. */
int aod_parse_netdev(const char *text, uint64_t *rx_bytes, uint64_t *tx_bytes);
int aod_parse_loadavg(const char *text, double load[3]);

/* Read every /proc source once (missing ones leave has_* false). */
void aod_sys_sample(struct aod_sys_sample *s);

#endif /* AOD_HEALTH_PROCFS_H */
