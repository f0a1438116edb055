// SPDX-License-Identifier: MIT
/*
 * Config -> BPF knob values: thresholds (minimum over rules), the SMB
 * error verdict maps (checked against aod_rule_error_tracked() by
 * emulating the kernel's lookup order), block devices through a fake
 * /sys/class/block.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "probe/blkdev.h"
#include "probe/knobs.h"

#define MS 1000000ULL

#define STATUS_ACCESS_DENIED 0xC0000022
#define STATUS_OBJECT_NAME_NOT_FOUND 0xC0000034
#define STATUS_MORE_PROCESSING_REQUIRED 0xC0000016
#define STATUS_END_OF_FILE 0xC0000011
#define STATUS_NO_MORE_FILES 0x80000006
#define STATUS_DISK_FULL 0xC000007F
#define STATUS_IO_TIMEOUT 0xC00000B5

static struct aod_config *load(const char *yaml)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_config_error err;

	assert_non_null(cfg);
	if (aod_config_load_buffer(cfg, "test.yaml", yaml, strlen(yaml), &err)) {
		fprintf(stderr, "config: %s\n", err.msg);
		fail();
	}
	return cfg;
}

/* The kernel's decision (src/bpf/smb.bpf.c err_tracked). */
static bool kernel_tracks(const struct aod_smb_knob_set *k, uint32_t status, int32_t rc)
{
	for (uint32_t i = 0; i < k->npair; i++)
		if (k->pair[i].key.status == status && k->pair[i].key.rc == rc)
			return k->pair[i].verdict == AOD_ERR_TRACK;
	for (uint32_t i = 0; i < k->nstatus; i++)
		if (k->status[i].status == status && k->status[i].verdict != AOD_ERR_UNSET)
			return k->status[i].verdict == AOD_ERR_TRACK;
	for (uint32_t i = 0; i < k->nrc; i++)
		if (k->rc[i].rc == rc && k->rc[i].verdict != AOD_ERR_UNSET)
			return k->rc[i].verdict == AOD_ERR_TRACK;
	return k->k.err_default == AOD_ERR_TRACK;
}

static bool rules_track(const struct aod_config *cfg, uint32_t status, int32_t rc)
{
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].source == AOD_SOURCE_SMB &&
		    aod_rule_error_tracked(&cfg->rules[i], status, rc))
			return true;
	return false;
}

static const uint32_t some_statuses[] = {
	STATUS_ACCESS_DENIED, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_MORE_PROCESSING_REQUIRED,
	STATUS_END_OF_FILE, STATUS_NO_MORE_FILES, STATUS_DISK_FULL, STATUS_IO_TIMEOUT,
	0xC0000001, 0xC000000D, 0xC0000043, 0xC00000CC, 0x80000005, 0xE0AD0001,
};
static const int32_t some_rcs[] = { -1, -2, -5, -11, -13, -22, -28, -61, -110, -4000, -4001, 0 };

/* The kernel passes exactly what some rule counts. */
static void check_exact(const struct aod_config *cfg, const struct aod_smb_knob_set *k)
{
	for (size_t i = 0; i < sizeof(some_statuses) / sizeof(some_statuses[0]); i++)
		for (size_t j = 0; j < sizeof(some_rcs) / sizeof(some_rcs[0]); j++) {
			bool want = rules_track(cfg, some_statuses[i], some_rcs[j]);
			bool got = kernel_tracks(k, some_statuses[i], some_rcs[j]);

			if (want != got)
				fail_msg("status 0x%x rc %d: rules say %d, kernel says %d",
					 some_statuses[i], some_rcs[j], want, got);
		}
}

static void test_default_config(void **state)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_smb_knob_set *k = malloc(sizeof(*k));
	struct aod_config_error err;

	(void)state;
	assert_int_equal(aod_config_load_buffer(cfg, "<embedded>", aod_default_config_yaml,
						aod_default_config_yaml_len, &err), 0);
	aod_knobs_smb(cfg, false, k);
	assert_true(k->needed);
	assert_int_equal(k->k.enabled_slow, 1);
	assert_int_equal(k->k.enabled_err, 1);
	assert_true(k->thresh_ns[8] == 8 * MS);   /* SMB2_READ */
	assert_true(k->thresh_ns[9] == 12 * MS);  /* SMB2_WRITE */
	assert_true(k->thresh_ns[5] == 10 * MS);  /* SMB2_CREATE: default */
	assert_true(k->k.emergency_ns == 1000 * MS);
	/* trackonly EACCES, EIO: exact, benign statuses never pass */
	assert_true(kernel_tracks(k, STATUS_ACCESS_DENIED, -13));
	assert_true(kernel_tracks(k, STATUS_IO_TIMEOUT, -5));
	assert_false(kernel_tracks(k, STATUS_OBJECT_NAME_NOT_FOUND, -2));
	assert_false(kernel_tracks(k, STATUS_MORE_PROCESSING_REQUIRED, -5));
	assert_false(kernel_tracks(k, STATUS_DISK_FULL, -28));
	check_exact(cfg, k);
	free(k);
	free(cfg);
}

static const char smb_all_yaml[] =
	"watch_interval_sec: 1\n"
	"aod_output_dir: /tmp/aod-knobs-test\n"
	"guardian:\n"
	"  anomalies:\n"
	"    lat1:\n"
	"      type: Latency\n"
	"      tool: smbslower\n"
	"      mode: trackonly\n"
	"      acceptable_count: 1\n"
	"      default_threshold_ms: 50\n"
	"      emergency_threshold_ms: 700\n"
	"      track_commands: [{command: SMB2_READ, threshold: 30}]\n"
	"    lat2:\n"
	"      type: Latency\n"
	"      tool: smbslower\n"
	"      mode: all\n"
	"      acceptable_count: 1\n"
	"      default_threshold_ms: 40\n"
	"      emergency_threshold_ms: 900\n"
	"      exclude_commands: [SMB2_WRITE]\n"
	"    err:\n"
	"      type: Error\n"
	"      tool: smbiosnoop\n"
	"      mode: all\n"
	"      acceptable_count: 1\n"
	"      exclude_codes: [STATUS_ACCESS_DENIED, ENOENT]\n"
	"    err2:\n"
	"      type: Error\n"
	"      tool: smbiosnoop\n"
	"      mode: trackonly\n"
	"      acceptable_count: 1\n"
	"      track_codes: [STATUS_OBJECT_NAME_NOT_FOUND, ETIMEDOUT]\n";

static void test_min_over_rules_and_exclusions(void **state)
{
	struct aod_config *cfg = load(smb_all_yaml);
	struct aod_smb_knob_set *k = malloc(sizeof(*k));

	(void)state;
	aod_knobs_smb(cfg, false, k);
	assert_true(k->thresh_ns[8] == 30 * MS);            /* READ: min(30, 40) */
	assert_true(k->thresh_ns[9] == AOD_THRESH_OFF);     /* WRITE: excluded / untracked */
	assert_true(k->thresh_ns[5] == 40 * MS);            /* CREATE: only lat2 */
	assert_true(k->k.emergency_ns == 700 * MS);
	/* mode all: unknown codes pass, excluded ones do not */
	assert_true(kernel_tracks(k, STATUS_DISK_FULL, -28));
	assert_false(kernel_tracks(k, STATUS_ACCESS_DENIED, -13));
	assert_false(kernel_tracks(k, 0xC0000001, -2));      /* ENOENT excluded */
	assert_false(kernel_tracks(k, STATUS_END_OF_FILE, -61)); /* benign */
	/* err2 asks for STATUS_OBJECT_NAME_NOT_FOUND by name: it passes */
	assert_true(kernel_tracks(k, STATUS_OBJECT_NAME_NOT_FOUND, -2));
	assert_true(kernel_tracks(k, STATUS_IO_TIMEOUT, -110));
	assert_true(kernel_tracks(k, STATUS_ACCESS_DENIED, -110)); /* err2: ETIMEDOUT */
	check_exact(cfg, k);
	assert_true(k->npair > 0); /* STATUS_ACCESS_DENIED tracked only with ETIMEDOUT */
	free(k);
	free(cfg);
}

static void test_no_smb_rules_and_record_all(void **state)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_smb_knob_set *k = malloc(sizeof(*k));
	struct aod_blk_knob_set *b = malloc(sizeof(*b));

	(void)state;
	aod_config_defaults(cfg);
	cfg->nrules = 0;
	aod_knobs_smb(cfg, false, k);
	assert_false(k->needed);
	assert_int_equal(k->k.enabled_slow, 0);
	assert_int_equal(k->k.enabled_err, 0);
	assert_true(k->thresh_ns[0] == AOD_THRESH_OFF);
	aod_knobs_blk(cfg, false, "/nonexistent", b);
	assert_false(b->needed);

	aod_knobs_smb(cfg, true, k);
	assert_true(k->needed);
	for (unsigned c = 0; c < AOD_SMB_NCMDS; c++)
		assert_true(k->thresh_ns[c] == 0);
	assert_int_equal(k->nstatus + k->nrc, 0);
	assert_int_equal(k->k.err_default, AOD_ERR_TRACK);
	assert_true(kernel_tracks(k, STATUS_MORE_PROCESSING_REQUIRED, -5));
	aod_knobs_blk(cfg, true, "/nonexistent", b);
	assert_true(b->needed);
	assert_true(b->k.default_threshold_ns == 0);
	assert_int_equal(b->k.enabled_err, 1);
	free(b);
	free(k);
	free(cfg);
}

/* ---- block, with a fake /sys/class/block ---- */

static void mkdev(const char *dir, const char *name, const char *majmin)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", majmin);
	fclose(f);
}

static void rmdev(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rmdir(path);
}

static const uint64_t *dev_thresh(const struct aod_blk_knob_set *b, uint32_t dev)
{
	for (uint32_t i = 0; i < b->ndev; i++)
		if (b->dev[i].dev == dev)
			return &b->dev[i].thresh_ns;
	return NULL;
}

static const char blk_yaml[] =
	"watch_interval_sec: 1\n"
	"aod_output_dir: /tmp/aod-knobs-test\n"
	"guardian:\n"
	"  anomalies:\n"
	"    blk:\n"
	"      type: Latency\n"
	"      tool: biolatency\n"
	"      mode: %s\n"
	"      acceptable_count: 1\n"
	"      default_threshold_ms: 200\n"
	"      emergency_threshold_ms: 800\n"
	"      track_devices: [{device: vda, threshold: 20}]\n"
	"%s"
	"    blkerr:\n"
	"      type: Error\n"
	"      tool: bioerror\n"
	"      acceptable_count: 1\n";

static void test_block_devices(void **state)
{
	char dir[] = "/tmp/aod-knobs-XXXXXX", yaml[2048];
	struct aod_blk_knob_set *b = malloc(sizeof(*b)), *b2 = malloc(sizeof(*b2));
	struct aod_config *cfg;
	uint32_t dev;

	(void)state;
	assert_non_null(mkdtemp(dir));
	mkdev(dir, "vda", "254:0");
	mkdev(dir, "vdb", "254:16");
	mkdev(dir, "sr0", "11:0");
	assert_int_equal(aod_blk_dev_from_name(dir, "vdb", &dev), 0);
	assert_int_equal(dev, (254u << 20) | 16);
	assert_int_equal(aod_blk_dev_from_name(dir, "nope", &dev), -ENOENT);

	snprintf(yaml, sizeof(yaml), blk_yaml, "all", "      exclude_devices: [sr0]\n");
	cfg = load(yaml);
	aod_knobs_blk(cfg, false, dir, b);
	assert_true(b->needed);
	assert_int_equal(b->k.enabled_err, 1);
	assert_true(b->k.default_threshold_ns == 200 * MS);
	assert_true(b->k.emergency_ns == 800 * MS);
	assert_int_equal(b->ndev, 2);
	assert_non_null(dev_thresh(b, 254u << 20));
	assert_true(*dev_thresh(b, 254u << 20) == 20 * MS);
	assert_true(*dev_thresh(b, 11u << 20) == AOD_THRESH_OFF);   /* excluded */
	assert_null(dev_thresh(b, (254u << 20) | 16));              /* default */
	aod_knobs_blk(cfg, false, dir, b2);
	assert_true(aod_knobs_blk_equal(b, b2));
	free(cfg);

	/* trackonly: only the listed disk, nothing by default */
	snprintf(yaml, sizeof(yaml), blk_yaml, "trackonly", "");
	cfg = load(yaml);
	aod_knobs_blk(cfg, false, dir, b2);
	assert_true(b2->k.default_threshold_ns == AOD_THRESH_OFF);
	assert_int_equal(b2->ndev, 1);
	assert_true(*dev_thresh(b2, 254u << 20) == 20 * MS);
	assert_false(aod_knobs_blk_equal(b, b2));
	free(cfg);

	rmdev(dir, "vda");
	rmdev(dir, "vdb");
	rmdev(dir, "sr0");
	rmdir(dir);
	free(b);
	free(b2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_min_over_rules_and_exclusions),
		cmocka_unit_test(test_no_smb_rules_and_record_all),
		cmocka_unit_test(test_block_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
