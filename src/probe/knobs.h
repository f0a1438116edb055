/* SPDX-License-Identifier: MIT */
/*
 * From the configuration to the values of the BPF knob maps. Pure
 * computation (the block part reads /sys/class/block to resolve device
 * names), so it can be unit tested without a kernel.
 *
 * The kernel side is a pre-filter: it must pass every event some rule
 * counts and should pass little else; the detector re-checks each rule.
 * Hence thresholds are the minimum over the rules, and the error verdict
 * maps are derived from aod_rule_error_tracked() itself (exactly).
 */
#ifndef AOD_PROBE_KNOBS_H
#define AOD_PROBE_KNOBS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf/events.h"
#include "bpf/knobs.bpf.h"
#include "bpf/tcp.h"
#include "config/config.h"

#define AOD_KNOB_MAX_CODES AOD_SMB_VERDICT_MAX     /* status map, rc map */
#define AOD_KNOB_MAX_PAIRS AOD_SMB_PAIR_VERDICT_MAX
#define AOD_KNOB_MAX_DEVS 256   /* = max_entries of blk_dev_thresh */

struct aod_knob_status {
	uint32_t status;
	uint32_t verdict; /* enum aod_err_verdict */
};

struct aod_knob_rc {
	int32_t rc;
	uint32_t verdict;
};

struct aod_knob_pair {
	struct aod_smb_err_key key;
	uint32_t verdict;
};

/*
 * The kernel decides an SMB error in this order: the (status, rc) pair
 * map, the status map, the rc map, k.err_default. Filled this way the
 * decision equals "some SMB error rule tracks it" for every (status, rc).
 */
struct aod_smb_knob_set {
	bool needed;                         /* some rule uses SMB (or record_all) */
	uint64_t thresh_ns[AOD_SMB_NCMDS];   /* AOD_THRESH_OFF: never slow */
	struct aod_smb_knobs k;
	uint32_t nstatus;
	struct aod_knob_status status[AOD_KNOB_MAX_CODES];
	uint32_t nrc;
	struct aod_knob_rc rc[AOD_KNOB_MAX_CODES];
	uint32_t npair;
	struct aod_knob_pair pair[AOD_KNOB_MAX_PAIRS];
};

struct aod_knob_dev {
	uint32_t dev;          /* kernel dev_t */
	uint64_t thresh_ns;
};

struct aod_blk_knob_set {
	bool needed;
	struct aod_blk_knobs k;
	uint32_t ndev;
	struct aod_knob_dev dev[AOD_KNOB_MAX_DEVS];
};

struct aod_knob_port {
	uint32_t port;         /* remote port */
	uint64_t thresh_ns;
};

/*
 * TCP: the connect threshold of a port is the minimum over the tcpconnlat
 * rules; ports whose minimum differs from the unlisted ports' get an entry.
 * Retransmit and reset records are sent only if a rule counts them.
 */
struct aod_tcp_knob_set {
	bool needed;           /* a TCP rule, probes.tcp: on, or record_all */
	struct aod_tcp_knobs k;
	uint32_t nport;
	struct aod_knob_port port[AOD_TCP_THRESH_PORTS_MAX];
};

/* record_all: every op slow (threshold 0) and every error tracked. */
void aod_knobs_smb(const struct aod_config *cfg, bool record_all,
		   struct aod_smb_knob_set *out);

/* sysfs_class_block: normally "/sys/class/block". Devices whose
 * threshold equals the default get no entry. */
void aod_knobs_blk(const struct aod_config *cfg, bool record_all,
		   const char *sysfs_class_block, struct aod_blk_knob_set *out);

bool aod_knobs_blk_equal(const struct aod_blk_knob_set *a,
			 const struct aod_blk_knob_set *b);

void aod_knobs_tcp(const struct aod_config *cfg, bool record_all,
		   struct aod_tcp_knob_set *out);

#endif /* AOD_PROBE_KNOBS_H */
