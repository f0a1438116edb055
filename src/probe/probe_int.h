/* SPDX-License-Identifier: MIT */
/*
 * Internals of src/probe shared by the lifecycle code (probes.c) and the
 * per-probe loaders (smb_probe.c, blk_probe.c). Not for other rooms.
 */
#ifndef AOD_PROBE_INT_H
#define AOD_PROBE_INT_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/knobs.h"
#include "probe/probes.h"

#define PROBE_MAX_LINKS 4
#define PROBE_ERR_LEN 256

/* One loaded BPF object (either skeleton) and its links. */
struct probe_obj {
	void *skel;                 /* struct aod_smb * or struct aod_block * */
	struct bpf_object *obj;
	struct bpf_link *links[PROBE_MAX_LINKS];
	int nlinks;
	int counters_fd;            /* per-CPU enum aod_counter */
	int inflight_fd;            /* swept by tick; values start with ts_ns */
	size_t inflight_key_size;
	size_t inflight_value_size;
};

/* What every loader needs from the lifecycle code. */
struct probe_load_env {
	int ring_fd;                /* the shared ring buffer */
	uint64_t wakeup_bytes;
};

/* ---- probe_util.c */
void probe_libbpf_log_init(void);
void probe_raise_memlock(void);
bool probe_mode_valid(const char *mode, const char *const *modes);
/* Autoload only the named programs (NULL-terminated); attach them after
 * load with probe_attach_named(). */
int probe_select_programs(struct bpf_object *obj, const char *const *names,
			  char *err, size_t len);
int probe_attach_named(struct probe_obj *po, const char *const *names,
		       char *err, size_t len);
void probe_detach(struct probe_obj *po);
const char *probe_load_error(int err); /* text for an object load error */
int probe_sum_counters(int fd, uint64_t out[AOD_CNT_MAX]);
uint64_t probe_recursion_misses(struct bpf_object *obj);
int probe_prog_stats(struct bpf_object *obj, struct aod_prog_stats *out, int max);
int probe_sweep(int fd, size_t key_size, size_t value_size,
		uint64_t cutoff_ns, uint64_t *expired);
/* Make a hash map hold exactly these entries (key at offset 0 of each,
 * value at value_off): new ones are written first, stale ones deleted
 * after, so no key that stays is ever missing mid-update. */
int probe_sync_hash(int fd, const void *entries, size_t entry_size, size_t key_size,
		    size_t value_off, uint32_t n);

/* ---- smb_probe.c */
extern const char *const aod_smb_modes[];  /* in the order tried */
bool smb_kernel_side_present(char *why, size_t len);
/* Open, load and write knobs, without attaching (tests drive the loaded
 * programs with BPF_PROG_TEST_RUN); smb_probe_load also attaches. */
int smb_probe_prepare(struct probe_obj *po, const char *mode,
		      const struct probe_load_env *env,
		      const struct aod_smb_knob_set *k, char *err, size_t len);
int smb_probe_load(struct probe_obj *po, const char *mode,
		   const struct probe_load_env *env,
		   const struct aod_smb_knob_set *k, char *err, size_t len);
int smb_probe_write_knobs(struct probe_obj *po, const struct aod_smb_knob_set *k);
int smb_probe_hist(struct probe_obj *po, unsigned cmd, struct aod_hist *out);
void smb_probe_destroy(struct probe_obj *po);

/* ---- blk_probe.c */
extern const char *const aod_blk_modes[];
int blk_probe_load(struct probe_obj *po, const char *mode,
		   const struct probe_load_env *env,
		   const struct aod_blk_knob_set *k, char *err, size_t len);
int blk_probe_write_knobs(struct probe_obj *po, const struct aod_blk_knob_set *k);
int blk_probe_hist_map_fd(struct probe_obj *po);
void blk_probe_destroy(struct probe_obj *po);

#endif /* AOD_PROBE_INT_H */
