// SPDX-License-Identifier: MIT
/*
 * The probes on the running kernel, through the public API: the block
 * probe attaches, real O_DIRECT I/O produces slow-op events, histograms
 * and counters; reloads change what is sent; the emergency path wakes the
 * consumer at once; each forced attach mode attaches its own programs, of
 * its type, and nothing else (an unknown one fails with its reason); the
 * SMB probe waits for cifs; freeing leaves none of this process's links.
 * Links are this process's own (its fds), never a count of the host's.
 * Skipped (visibly) without root or kernel BTF.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/inflight.bpf.h"
#include "common/timeutil.h"
#include "config/config.h"
#include "probe/blkdev.h"
#include "bpf/hist.bpf.h"
#include "probe/hist.h"
#include "probe/knobs.h"
#include "probe/probe_int.h"
#include "probe/probes.h"

#define MS 1000000ULL
#define IO_COUNT 32
#define IO_BS 4096
#define MAX_EVENTS 8192
#define TMPFS_MAGIC_NR 0x01021994

struct seen {
	pthread_mutex_t lock;
	unsigned n, dropped;
	struct aod_raw_event ev[MAX_EVENTS];
};

static void on_event(void *ctx, const struct aod_raw_event *ev)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	if (s->n < MAX_EVENTS)
		s->ev[s->n++] = *ev;
	else
		s->dropped++;
	pthread_mutex_unlock(&s->lock);
}

static struct seen *seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void seen_reset(struct seen *s)
{
	pthread_mutex_lock(&s->lock);
	s->n = s->dropped = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- environment ---- */

static char io_path[256];
static uint32_t io_disk;   /* kernel dev_t of the disk under io_path */
static char skip_reason[512];  /* the machine lacks something: the tests skip */
static char setup_error[512];  /* it has all, yet the setup failed: the tests fail */

/* The whole disk a file lives on (requests carry the disk, not the partition). */
static int disk_of(dev_t st_dev, uint32_t *out)
{
	char path[128];
	unsigned maj = major(st_dev), min = minor(st_dev);
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", maj, min);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", maj, min);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%u:%u", &maj, &min) != 2) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", maj, min);
	if (access(path, F_OK))
		return -1;  /* not a block device (overlay, 9p, ...) */
	*out = aod_mkdev(maj, min);
	return 0;
}

/* Ground truth for a request's sector: where the filesystem put byte off
 * of the file (FIEMAP), in 512-byte sectors from the start of the whole
 * disk (plus the partition's start). */
static int disk_sector_of(const char *path, off_t off, uint64_t *sector)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[1];
	} m;
	unsigned long long start = 0;
	struct stat st;
	char sys[128];
	FILE *f;
	int fd = open(path, O_RDONLY), rc;

	if (fd < 0)
		return -1;
	memset(&m, 0, sizeof(m));
	m.fm.fm_start = (uint64_t)off;
	m.fm.fm_length = IO_BS;
	m.fm.fm_flags = FIEMAP_FLAG_SYNC;
	m.fm.fm_extent_count = 1;
	rc = ioctl(fd, FS_IOC_FIEMAP, &m.fm) || m.fm.fm_mapped_extents != 1 || fstat(fd, &st);
	close(fd);
	if (rc)
		return -1;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/start", major(st.st_dev), minor(st.st_dev));
	f = fopen(sys, "r"); /* only a partition has one */
	if (f) {
		rc = fscanf(f, "%llu", &start) != 1;
		fclose(f);
		if (rc)
			return -1;
	}
	*sector = (m.ext[0].fe_physical + ((uint64_t)off - m.ext[0].fe_logical)) / 512 + start;
	return 0;
}

/* Each block of the test file was written and read once by this process
 * (do_io): for each, a write and a read event must carry the block's sector
 * and size as issued (read at issue, as a request that never completes
 * needs them). The filesystem's own writes from this process (journal,
 * metadata at fsync) are elsewhere and ignored. Returns the matches. */
static unsigned check_sectors(struct seen *s, unsigned count)
{
	uint64_t want[IO_COUNT];
	unsigned reads[IO_COUNT] = { 0 }, writes[IO_COUNT] = { 0 }, matched = 0;

	assert_true(count <= IO_COUNT);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(disk_sector_of(io_path, (off_t)i * IO_BS, &want[i]), 0);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		const struct aod_raw_event *e = &s->ev[i];

		if (e->h.kind != AOD_RAW_BLK_SLOW || e->blk.dev != io_disk ||
		    e->h.tgid != (uint32_t)getpid() || e->blk.bytes != IO_BS)
			continue;
		for (unsigned j = 0; j < count; j++) {
			if (e->blk.sector != want[j])
				continue;
			reads[j] += e->blk.op == AOD_BLK_READ;
			writes[j] += e->blk.op == AOD_BLK_WRITE;
			matched++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	for (unsigned j = 0; j < count; j++)
		if (reads[j] != 1 || writes[j] != 1)
			fail_msg("block %u of the file (sector %llu): %u reads, %u writes of %d bytes "
				 "seen, want 1 and 1", j, (unsigned long long)want[j], reads[j],
				 writes[j], IO_BS);
	return matched;
}

static int group_setup(void **state)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	(void)state;
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "needs root (BPF)");
		return 0;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(skip_reason, sizeof(skip_reason), "kernel has no BTF");
		return 0;
	}
	snprintf(io_path, sizeof(io_path), "/var/tmp/aod-probes-live.%d", (int)getpid());
	fd = open(io_path, O_CREAT | O_RDWR, 0600);
	if (fd < 0 || fstat(fd, &st) || fstatfs(fd, &sfs)) {
		snprintf(setup_error, sizeof(setup_error), "%s: %s", io_path, strerror(errno));
		return 0;
	}
	close(fd);
	if (sfs.f_type == TMPFS_MAGIC_NR || disk_of(st.st_dev, &io_disk)) {
		snprintf(skip_reason, sizeof(skip_reason),
			 "/var/tmp is not on a block device: no block I/O to observe");
		return 0;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (io_path[0])
		unlink(io_path);
	return 0;
}

#define NEED_KERNEL()                                                   \
	do {                                                            \
		if (skip_reason[0]) {                                   \
			printf("SKIP: %s: %s\n", __func__, skip_reason); \
			skip();                                         \
		}                                                       \
		if (setup_error[0])                                     \
			fail_msg("setup: %s", setup_error);             \
	} while (0)

/* O_DIRECT writes, fsync, O_DIRECT reads: every block a request. */
static void do_io(unsigned count)
{
	void *buf = NULL;
	int fd = open(io_path, O_RDWR | O_DIRECT);

	assert_true(fd >= 0);
	assert_int_equal(posix_memalign(&buf, 4096, IO_BS), 0);
	memset(buf, 0x5a, IO_BS);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(pwrite(fd, buf, IO_BS, (off_t)i * IO_BS), IO_BS);
	assert_int_equal(fsync(fd), 0);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(pread(fd, buf, IO_BS, (off_t)i * IO_BS), IO_BS);
	free(buf);
	close(fd);
}

/* ---- configs ---- */

static struct aod_config *make_cfg(const char *rules_yaml)
{
	struct aod_config *cfg = aod_config_new_shared();
	struct aod_config_error err;
	char yaml[4096];

	assert_non_null(cfg);
	snprintf(yaml, sizeof(yaml),
		 "watch_interval_sec: 1\n"
		 "aod_output_dir: /var/tmp/aod-probes-live-out\n"
		 "guardian:\n  anomalies:\n%s", rules_yaml);
	if (aod_config_load_buffer(cfg, "live.yaml", yaml, strlen(yaml), &err)) {
		fprintf(stderr, "config: %s\n", err.msg);
		fail();
	}
	return cfg;
}

static struct aod_config *block_cfg(unsigned threshold_ms, unsigned emergency_ms, bool smb)
{
	char rules[2048];

	snprintf(rules, sizeof(rules),
		 "    blk:\n"
		 "      type: Latency\n"
		 "      tool: biolatency\n"
		 "      acceptable_count: 1000\n"
		 "      default_threshold_ms: %u\n"
		 "      emergency_threshold_ms: %u\n"
		 "    blkerr: {type: Error, tool: bioerror, acceptable_count: 1}\n"
		 "%s",
		 threshold_ms, emergency_ms,
		 smb ? "    smb: {type: Latency, tool: smbslower, acceptable_count: 5, "
		       "default_threshold_ms: 20}\n" : "");
	return make_cfg(rules);
}

/* ---- helpers ---- */

static void prctl_comm(char comm[16])
{
	FILE *f = fopen("/proc/thread-self/comm", "r");

	assert_non_null(f);
	assert_non_null(fgets(comm, 16, f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
}

static struct aod_probe_status status_of(struct aod_probes *p, enum aod_probe_id id)
{
	struct aod_probe_status st;

	aod_probes_status(p, id, &st);
	printf("# %s: %s mode=%s reason='%s' attach=%.2f ms ops=%llu events=%llu "
	       "drops=%llu full=%llu unmatched=%llu expired=%llu recursion_misses=%llu\n",
	       aod_probe_name(id), aod_probe_state_name(st.state), st.mode, st.reason,
	       (double)st.attach_ns / 1e6, (unsigned long long)st.counters[AOD_CNT_OPS],
	       (unsigned long long)st.counters[AOD_CNT_EVENTS],
	       (unsigned long long)st.counters[AOD_CNT_RB_DROPS],
	       (unsigned long long)st.counters[AOD_CNT_INFLIGHT_FULL],
	       (unsigned long long)st.counters[AOD_CNT_UNMATCHED],
	       (unsigned long long)st.inflight_expired,
	       (unsigned long long)st.recursion_misses);
	return st;
}

struct io_count {
	unsigned reads, writes, ours, other_kinds;
};

static struct io_count count_disk_events(struct seen *s)
{
	struct io_count c = { 0 };

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		const struct aod_raw_event *e = &s->ev[i];

		if (e->h.kind != AOD_RAW_BLK_SLOW) {
			c.other_kinds++;
			continue;
		}
		if (e->blk.dev != io_disk)
			continue;
		assert_true(e->blk.latency_ns > 0);
		assert_true(e->h.ts_ns > 0);
		c.reads += e->blk.op == AOD_BLK_READ;
		c.writes += e->blk.op == AOD_BLK_WRITE;
		c.ours += e->h.tgid == (uint32_t)getpid();
	}
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* Polls until cond holds or timeout_ms passes. */
static void poll_until(struct aod_probes *p, struct seen *s, unsigned min_reads,
		       unsigned min_writes, unsigned timeout_ms)
{
	uint64_t end = aod_mono_ns() + timeout_ms * MS;

	while (aod_mono_ns() < end) {
		struct io_count c;

		assert_true(aod_probes_poll(p, 50) >= 0);
		c = count_disk_events(s);
		if (c.reads >= min_reads && c.writes >= min_writes)
			return;
	}
}

static void drain(struct aod_probes *p, unsigned ms)
{
	uint64_t end = aod_mono_ns() + ms * MS;

	while (aod_mono_ns() < end)
		assert_true(aod_probes_poll(p, 20) >= 0);
}

/* IDs of the BPF links this process holds: its own fds, not the host's links, which
 * other agents and tests running meanwhile change. */
struct link_ids {
	unsigned n;
	__u32 id[64];
};

static bool has_id(const struct link_ids *l, __u32 id)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->id[i] == id)
			return true;
	return false;
}

static void own_links(struct link_ids *out)
{
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;

	assert_non_null(d);
	out->n = 0;
	while ((de = readdir(d))) {
		char path[300], line[256];
		unsigned id;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "link_id: %u", &id) == 1 && !has_id(out, id)) {
				assert_true(out->n < 64);
				out->id[out->n++] = id;
			}
		if (f)
			fclose(f);
	}
	closedir(d);
}

/* The links this process holds now that it did not hold at `before` (a test that failed
 * earlier may have left its own behind). */
static void new_own_links(const struct link_ids *before, struct link_ids *out)
{
	struct link_ids now;

	own_links(&now);
	out->n = 0;
	for (unsigned i = 0; i < now.n; i++)
		if (!has_id(before, now.id[i]))
			out->id[out->n++] = now.id[i];
}

static bool link_exists(__u32 id)
{
	int fd = bpf_link_get_fd_by_id(id);

	if (fd < 0)
		return errno != ENOENT; /* any other error: not proven gone */
	close(fd);
	return true;
}

/* A link as the kernel sees it, with the program it runs. */
struct link_desc {
	__u32 link_type, prog_type, attach_btf_id;
	char prog[BPF_OBJ_NAME_LEN];
	char tp[64];                /* the tracepoint of a raw_tp link */
};

static void describe_link(__u32 id, struct link_desc *d)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len = sizeof(li);
	int lfd = bpf_link_get_fd_by_id(id), pfd;

	memset(d, 0, sizeof(*d));
	assert_true(lfd >= 0);
	memset(&li, 0, sizeof(li));
	li.raw_tracepoint.tp_name = (__u64)(uintptr_t)d->tp;
	li.raw_tracepoint.tp_name_len = sizeof(d->tp);
	assert_int_equal(bpf_obj_get_info_by_fd(lfd, &li, &len), 0);
	close(lfd);
	d->link_type = li.type;
	if (li.type != BPF_LINK_TYPE_RAW_TRACEPOINT)
		d->tp[0] = '\0';
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	assert_true(pfd >= 0);
	memset(&pi, 0, sizeof(pi));
	len = sizeof(pi);
	assert_int_equal(bpf_obj_get_info_by_fd(pfd, &pi, &len), 0);
	close(pfd);
	d->prog_type = pi.type;
	d->attach_btf_id = pi.attach_btf_id;
	memcpy(d->prog, pi.name, sizeof(d->prog));
	d->prog[sizeof(d->prog) - 1] = '\0';
}

struct hist_find {
	uint64_t reads, writes;
};

static int on_hist(void *ctx, uint32_t dev, enum aod_blk_op op, const struct aod_hist *h)
{
	struct hist_find *f = ctx;

	if (dev != io_disk)
		return 0;
	if (op == AOD_BLK_READ)
		f->reads += aod_hist_total(h);
	if (op == AOD_BLK_WRITE)
		f->writes += aod_hist_total(h);
	if (op == AOD_BLK_WRITE && aod_hist_total(h)) {
		char name[32];

		aod_blk_dev_name(dev, name, sizeof(name));
		printf("# %s writes: p50 %.0f us, p99 %.0f us\n", name,
		       aod_hist_percentile_us(h, 50), aod_hist_percentile_us(h, 99));
		aod_hist_print(h, "usecs", stdout);
	}
	return 0;
}

/* ---- tests ---- */

static void test_block_events_hist_counters(void **state)
{
	struct aod_config *cfg;
	struct seen *s = seen_new();
	struct aod_probes *p;
	struct aod_probe_status st;
	struct io_count c;
	struct hist_find hf = { 0 };
	struct aod_hist h;
	struct link_ids before, ours, left;

	(void)state;
	NEED_KERNEL();
	unsetenv("AOD_BLK_ATTACH");
	unsetenv("AOD_SMB_ATTACH");
	own_links(&before);
	cfg = block_cfg(0, 1000, true);
	p = aod_probes_new(cfg, NULL, on_event, s);
	assert_non_null(p);
	assert_int_equal(aod_probes_start(p), 0);
	assert_int_equal(aod_probes_start(p), -EALREADY);

	st = status_of(p, AOD_PROBE_BLOCK);
	assert_int_equal(st.state, AOD_PROBE_ATTACHED);
	assert_string_equal(st.mode, "tp_btf");
	assert_true(st.attach_ns > 0);
	printf("# block attach: %.2f ms\n", (double)st.attach_ns / 1e6);
	new_own_links(&before, &ours);
	assert_int_equal(ours.n, 2); /* block issue + complete; smb waits for cifs */

	st = status_of(p, AOD_PROBE_SMB);
	if (access("/sys/module/cifs", F_OK)) {
		assert_int_equal(st.state, AOD_PROBE_WAITING);
		assert_non_null(strstr(st.reason, "cifs"));
		assert_int_equal(aod_probes_smb_hist(p, 8, &h), -ENOENT);
		assert_int_equal(aod_probes_tick(p, aod_mono_ns()), 0);
		assert_int_equal(status_of(p, AOD_PROBE_SMB).state, AOD_PROBE_WAITING);
	}
	assert_int_equal(aod_probes_smb_hist(p, AOD_SMB_NCMDS, &h), -EINVAL);

	drain(p, 100);
	seen_reset(s);
	do_io(IO_COUNT);
	poll_until(p, s, IO_COUNT, IO_COUNT, 5000);
	c = count_disk_events(s);
	printf("# events for the disk: %u reads, %u writes, %u from this process\n",
	       c.reads, c.writes, c.ours);
	assert_true(c.writes >= IO_COUNT);
	assert_true(c.reads >= IO_COUNT);
	assert_true(c.ours >= 1);
	assert_int_equal(s->dropped, 0);
	c.ours = check_sectors(s, IO_COUNT);
	printf("# %u requests with the sector (FIEMAP) and size of a block of the file\n", c.ours);
	assert_int_equal(c.ours, 2 * IO_COUNT);

	assert_true(aod_probes_blk_hist_foreach(p, on_hist, &hf) > 0);
	assert_true(hf.writes >= IO_COUNT);
	assert_true(hf.reads >= IO_COUNT);

	st = status_of(p, AOD_PROBE_BLOCK);
	assert_true(st.counters[AOD_CNT_OPS] >= 2 * IO_COUNT);
	assert_true(st.counters[AOD_CNT_EVENTS] >= 2 * IO_COUNT);
	assert_true(st.counters[AOD_CNT_RB_DROPS] == 0);
	assert_int_equal(aod_probes_tick(p, aod_mono_ns()), 0);

	aod_probes_free(p);
	new_own_links(&before, &left);
	assert_int_equal(left.n, 0);
	for (unsigned i = 0; i < ours.n; i++)
		assert_false(link_exists(ours.id[i]));  /* nothing of ours left */
	aod_config_unref(cfg);
	free(s);
}

static void test_reload_changes_thresholds(void **state)
{
	struct aod_config *cfg0, *cfg_high;
	struct seen *s = seen_new();
	struct aod_probes *p;
	struct io_count c;

	(void)state;
	NEED_KERNEL();
	cfg0 = block_cfg(0, 1000, false);
	cfg_high = block_cfg(600000, 600000, false);
	p = aod_probes_new(cfg_high, NULL, on_event, s);
	assert_non_null(p);
	assert_int_equal(aod_probes_start(p), 0);
	assert_int_equal(status_of(p, AOD_PROBE_SMB).state, AOD_PROBE_DISABLED);

	/* threshold 10 min: nothing for our I/O */
	do_io(8);
	drain(p, 300);
	c = count_disk_events(s);
	assert_int_equal(c.reads + c.writes, 0);

	/* reload to 0: every request is sent, same programs */
	assert_int_equal(aod_probes_apply_config(p, cfg0), 0);
	assert_string_equal(status_of(p, AOD_PROBE_BLOCK).mode, "tp_btf");
	seen_reset(s);
	do_io(8);
	poll_until(p, s, 8, 8, 5000);
	c = count_disk_events(s);
	assert_true(c.reads >= 8 && c.writes >= 8);

	/* and back */
	assert_int_equal(aod_probes_apply_config(p, cfg_high), 0);
	drain(p, 100);
	seen_reset(s);
	do_io(8);
	drain(p, 300);
	c = count_disk_events(s);
	assert_int_equal(c.reads + c.writes, 0);

	aod_probes_free(p);
	aod_config_unref(cfg0);
	aod_config_unref(cfg_high);
	free(s);
}

struct io_thread {
	uint64_t done_ns;
};

static void *one_write(void *arg)
{
	struct io_thread *t = arg;
	void *buf;
	int fd = open(io_path, O_RDWR | O_DIRECT);

	usleep(200 * 1000);
	if (fd >= 0 && !posix_memalign(&buf, 4096, IO_BS)) {
		memset(buf, 1, IO_BS);
		if (pwrite(fd, buf, IO_BS, 0) == IO_BS)
			t->done_ns = aod_mono_ns();
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Time from a write's completion to poll returning with its event; *n gets
 * the records drained with it. */
static double wakeup_delay_ms(struct aod_probes *p, struct seen *s, int timeout_ms,
			      unsigned *n)
{
	struct io_thread t = { 0 };
	pthread_t th;
	uint64_t ret_ns = 0, end;

	drain(p, 100);
	seen_reset(s);
	assert_int_equal(pthread_create(&th, NULL, one_write, &t), 0);
	end = aod_mono_ns() + 3000 * MS;
	while (aod_mono_ns() < end) {
		int n = aod_probes_poll(p, timeout_ms);

		assert_true(n >= 0);
		if (count_disk_events(s).writes) {
			ret_ns = aod_mono_ns();
			break;
		}
	}
	pthread_join(th, NULL);
	*n = s->n;
	assert_true(t.done_ns && ret_ns);
	return ret_ns > t.done_ns ? (double)(ret_ns - t.done_ns) / 1e6 : 0.0;
}

static void test_emergency_wakes_at_once(void **state)
{
	struct aod_config *cfg_em, *cfg_batched;
	struct seen *s = seen_new();
	struct aod_probes *p;
	double em, batched;
	unsigned n_em, n_batched;

	(void)state;
	NEED_KERNEL();
	cfg_em = block_cfg(0, 1000, false);
	cfg_em->rules[0].emergency_threshold_ns = 1; /* every op is an emergency */
	cfg_batched = block_cfg(0, 600000, false);   /* none is */
	p = aod_probes_new(cfg_em, NULL, on_event, s);
	assert_non_null(p);
	assert_int_equal(aod_probes_start(p), 0);
	em = wakeup_delay_ms(p, s, 1500, &n_em);
	assert_int_equal(aod_probes_apply_config(p, cfg_batched), 0);
	batched = wakeup_delay_ms(p, s, 1500, &n_batched);
	printf("# emergency record -> poll return: %.2f ms; batched record: %.2f ms "
	       "(poll timeout 1500 ms, %u records drained)\n", em, batched, n_batched);
	assert_true(em < 100.0);
	/* no wakeup: it waited for the poll timeout, unless other I/O filled
	 * the wakeup threshold (64 KiB of records) meanwhile */
	if (n_batched * sizeof(struct aod_raw_event) < 65536)
		assert_true(batched > 200.0);
	aod_probes_free(p);
	aod_config_unref(cfg_em);
	aod_config_unref(cfg_batched);
	free(s);
}

/* Probes started with VAR=MODE forcing an attach mode; VAR is unset again at once (a
 * failing probe does not make the start fail). */
static struct aod_probes *start_forced(const struct aod_config *cfg, const char *var,
				       const char *mode, struct seen *s)
{
	struct aod_probes *p;

	setenv(var, mode, 1);
	p = aod_probes_new(cfg, NULL, on_event, s);
	unsetenv(var);
	assert_non_null(p);
	assert_int_equal(aod_probes_start(p), 0);
	return p;
}

/* AOD_BLK_ATTACH=MODE: that mode and no other is attached, through its own two
 * programs of the mode's type on block_rq_issue / block_rq_complete, and they see I/O. */
static void forced_block_mode(const char *mode, __u32 prog_type)
{
	const char *sfx = !strcmp(mode, "tp_btf") ? "bt" : "rt";
	struct aod_config *cfg = block_cfg(0, 1000, false);
	struct seen *s = seen_new();
	struct link_ids before, links, after;
	struct aod_probe_status st;
	struct aod_probes *p;
	struct io_count c;
	char iss[32], done[32];
	bool seen_iss = false, seen_done = false;

	snprintf(iss, sizeof(iss), "aod_blk_iss_%s", sfx);
	snprintf(done, sizeof(done), "aod_blk_done_%s", sfx);
	own_links(&before);
	p = start_forced(cfg, "AOD_BLK_ATTACH", mode, s);
	st = status_of(p, AOD_PROBE_BLOCK);
	assert_int_equal(st.state, AOD_PROBE_ATTACHED);
	assert_string_equal(st.mode, mode);
	assert_string_equal(st.reason, "");

	new_own_links(&before, &links);
	assert_int_equal(links.n, 2);
	for (unsigned i = 0; i < links.n; i++) {
		struct link_desc d;

		describe_link(links.id[i], &d);
		printf("# %s: link %u type %u, prog %s type %u btf %u, tracepoint %s\n", mode,
		       links.id[i], d.link_type, d.prog, d.prog_type, d.attach_btf_id, d.tp);
		assert_int_equal(d.link_type, BPF_LINK_TYPE_RAW_TRACEPOINT);
		assert_int_equal(d.prog_type, prog_type);
		if (prog_type == BPF_PROG_TYPE_TRACING)
			assert_true(d.attach_btf_id != 0); /* tp_btf: typed by the kernel's BTF */
		if (!strcmp(d.prog, iss)) {
			assert_string_equal(d.tp, "block_rq_issue");
			seen_iss = true;
		} else {
			assert_string_equal(d.prog, done);
			assert_string_equal(d.tp, "block_rq_complete");
			seen_done = true;
		}
	}
	assert_true(seen_iss && seen_done);

	do_io(8);
	poll_until(p, s, 8, 8, 10000);
	c = count_disk_events(s);
	assert_true(c.reads >= 8 && c.writes >= 8);
	assert_int_equal(check_sectors(s, 8), 16); /* each mode reads the request its own way */
	assert_true(status_of(p, AOD_PROBE_BLOCK).counters[AOD_CNT_OPS] >= 16);
	aod_probes_free(p);
	new_own_links(&before, &after);
	assert_int_equal(after.n, 0);
	for (unsigned i = 0; i < links.n; i++)
		assert_false(link_exists(links.id[i]));
	aod_config_unref(cfg);
	free(s);
}

static void test_forced_tp_btf(void **state)
{
	(void)state;
	NEED_KERNEL();
	forced_block_mode("tp_btf", BPF_PROG_TYPE_TRACING);
}

static void test_forced_raw_tp(void **state)
{
	(void)state;
	NEED_KERNEL();
	forced_block_mode("raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT);
}

/* An unknown mode, or another probe's mode: FAILED with the documented reason, nothing
 * attached, and the rest goes on. */
static void test_bad_mode_fails_visibly(void **state)
{
	static const char *const bad[] = { "bogus", "fentry", "TP_BTF", NULL };
	struct aod_config *cfg;
	struct link_ids before, links;

	(void)state;
	NEED_KERNEL();
	cfg = block_cfg(0, 1000, false);
	own_links(&before);
	for (const char *const *m = bad; *m; m++) {
		struct aod_probe_status st;
		struct aod_probes *p;
		char want[96];

		p = start_forced(cfg, "AOD_BLK_ATTACH", *m, NULL);
		st = status_of(p, AOD_PROBE_BLOCK);
		assert_int_equal(st.state, AOD_PROBE_FAILED);
		snprintf(want, sizeof(want), "AOD_BLK_ATTACH=%s: unknown attach mode", *m);
		assert_string_equal(st.reason, want);
		assert_string_equal(st.mode, "");
		new_own_links(&before, &links);
		assert_int_equal(links.n, 0);
		assert_int_equal(aod_probes_blk_hist_foreach(p, on_hist, NULL), -ENOENT);
		assert_int_equal(aod_probes_tick(p, aod_mono_ns()), 0); /* no retry into a mode */
		assert_int_equal(status_of(p, AOD_PROBE_BLOCK).state, AOD_PROBE_FAILED);
		aod_probes_free(p);
	}
	aod_config_unref(cfg);
}

static void test_enable_on_reload_and_record_all(void **state)
{
	struct aod_config *smb_only, *with_block;
	struct aod_probes_opts ro = { .record_all = true, .ringbuf_mb = 3 };
	struct seen *s = seen_new();
	struct aod_probes *p;
	struct io_count c;

	(void)state;
	NEED_KERNEL();
	smb_only = make_cfg("    smb: {type: Latency, tool: smbslower, acceptable_count: 5, "
			    "default_threshold_ms: 20}\n");
	with_block = block_cfg(0, 1000, true);
	p = aod_probes_new(smb_only, NULL, on_event, s);
	assert_int_equal(aod_probes_start(p), 0);
	assert_int_equal(status_of(p, AOD_PROBE_BLOCK).state, AOD_PROBE_DISABLED);
	assert_int_equal(aod_probes_apply_config(p, with_block), 0);
	assert_int_equal(status_of(p, AOD_PROBE_BLOCK).state, AOD_PROBE_WAITING);
	assert_int_equal(aod_probes_tick(p, aod_mono_ns()), 0);
	assert_int_equal(status_of(p, AOD_PROBE_BLOCK).state, AOD_PROBE_ATTACHED);
	do_io(4);
	poll_until(p, s, 4, 4, 5000);
	c = count_disk_events(s);
	assert_true(c.reads >= 4 && c.writes >= 4);
	aod_probes_free(p);

	/* record_all: no rule at all, everything on, thresholds 0 */
	smb_only->nrules = 0;
	seen_reset(s);
	p = aod_probes_new(smb_only, &ro, on_event, s);
	assert_int_equal(aod_probes_start(p), 0);
	assert_int_equal(status_of(p, AOD_PROBE_BLOCK).state, AOD_PROBE_ATTACHED);
	assert_true(status_of(p, AOD_PROBE_SMB).state != AOD_PROBE_DISABLED);
	do_io(4);
	poll_until(p, s, 4, 4, 5000);
	c = count_disk_events(s);
	assert_true(c.reads >= 4 && c.writes >= 4);
	aod_probes_free(p);
	aod_config_unref(smb_only);
	aod_config_unref(with_block);
	free(s);
}

struct scan_ctx {
	int fd;
	unsigned seen;
};

/* Delete every entry; re-stamp key 2 first, as if it had been reused. */
static bool scan_delete_all(void *ctx, const void *key, const void *value)
{
	struct scan_ctx *c = ctx;
	struct aod_blk_start v = *(const struct aod_blk_start *)value;
	uint64_t k = *(const uint64_t *)key;

	c->seen++;
	if (k == 2) {
		v.ts_ns = 12345;
		assert_int_equal(bpf_map_update_elem(c->fd, &k, &v, BPF_EXIST), 0);
	}
	return true;
}

static void test_scan_map_deletes_unchanged_only(void **state)
{
	struct aod_blk_start v = { 0 };
	struct scan_ctx c = { 0 };
	struct probe_scan_buf sb = { 0 };
	uint64_t key, next;
	int left = 0;

	(void)state;
	NEED_KERNEL();
	c.fd = bpf_map_create(BPF_MAP_TYPE_HASH, "aod_test_scan", sizeof(key), sizeof(v), 16, NULL);
	assert_true(c.fd >= 0);
	for (key = 1; key <= 3; key++) {
		v.ts_ns = key * 100;
		assert_int_equal(bpf_map_update_elem(c.fd, &key, &v, BPF_ANY), 0);
	}
	assert_int_equal(probe_scan_map(&sb, c.fd, sizeof(key), sizeof(v), scan_delete_all, &c), 3);
	probe_scan_buf_free(&sb);
	assert_int_equal(c.seen, 3);
	/* 1 and 3 are gone; 2 was reused (a new ts) before the delete: it stays */
	for (int err = bpf_map_get_next_key(c.fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(c.fd, &key, &next)) {
		key = next;
		assert_int_equal(key, 2);
		left++;
	}
	assert_int_equal(left, 1);
	close(c.fd);
}

/* ---- the SMB programs, driven with BPF_PROG_TEST_RUN (no cifs needed) ---- */

struct smb_rig {
	struct probe_obj po;
	int ring_fd;
	struct ring_buffer *rb;
	struct seen *s;
	int enter_fd, done_fd, err_fd;
};

static int rig_sample(void *ctx, void *data, size_t size)
{
	assert_true(size >= sizeof(struct aod_raw_event));
	on_event(ctx, data);
	return 0;
}

static struct aod_smb_knob_set *smb_knobs_for(const char *rules_yaml)
{
	struct aod_config *cfg = make_cfg(rules_yaml);
	struct aod_smb_knob_set *k = malloc(sizeof(*k));

	assert_non_null(k);
	aod_knobs_smb(cfg, false, k);
	aod_config_unref(cfg);
	return k;
}

static int prog_fd(struct probe_obj *po, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(po->obj, name);

	assert_non_null(prog);
	return bpf_program__fd(prog);
}

static void rig_init(struct smb_rig *r, const struct aod_smb_knob_set *k)
{
	struct probe_load_env env = { .wakeup_bytes = 65536 };
	char err[PROBE_ERR_LEN];

	memset(r, 0, sizeof(*r));
	r->s = seen_new();
	r->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "aod_test_rb", 0, 0, 1 << 20, NULL);
	assert_true(r->ring_fd >= 0);
	r->rb = ring_buffer__new(r->ring_fd, rig_sample, r->s, NULL);
	assert_non_null(r->rb);
	env.ring_fd = r->ring_fd;
	if (smb_probe_prepare(&r->po, "raw_tp", &env, k, err, sizeof(err)))
		fail_msg("smb raw_tp load: %s", err);
	r->enter_fd = prog_fd(&r->po, "aod_smb_ent_rt");
	r->done_fd = prog_fd(&r->po, "aod_smb_done_rt");
	r->err_fd = prog_fd(&r->po, "aod_smb_err_rt");
}

static void rig_free(struct smb_rig *r)
{
	smb_probe_destroy(&r->po);
	ring_buffer__free(r->rb);
	close(r->ring_fd);
	free(r->s);
}

static void run(int fd, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	__u64 args[6] = { a0, a1, a2, a3, a4, a5 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));

	assert_int_equal(bpf_prog_test_run_opts(fd, &o), 0);
}

/* TP_PROTO(u32 tid, u64 sesid, u16 cmd, u64 mid[, u32 status, int rc]) */
#define ENTER(r, tid, ses, cmd, mid) run((r)->enter_fd, tid, ses, cmd, mid, 0, 0)
#define DONE(r, tid, ses, cmd, mid) run((r)->done_fd, tid, ses, cmd, mid, 0, 0)
#define ERR(r, tid, ses, cmd, mid, st, rc) \
	run((r)->err_fd, tid, ses, cmd, mid, st, (__u64)(__u32)(int32_t)(rc))

static unsigned rig_collect(struct smb_rig *r)
{
	assert_true(ring_buffer__consume(r->rb) >= 0);
	return r->s->n;
}

static const char smb_rules[] =
	"    lat:\n"
	"      type: Latency\n"
	"      tool: smbslower\n"
	"      acceptable_count: 1\n"
	"      default_threshold_ms: 2\n"
	"      exclude_commands: [SMB2_WRITE]\n"
	"    err: {type: Error, tool: smbiosnoop, acceptable_count: 1}\n";

static void test_smb_programs(void **state)
{
	struct aod_smb_knob_set *k, *quiet;
	struct smb_rig r;
	const struct aod_raw_event *e;
	struct aod_hist h;
	uint64_t cnt[AOD_CNT_MAX];
	char comm[16] = "";

	(void)state;
	NEED_KERNEL();
	k = smb_knobs_for(smb_rules);
	rig_init(&r, k);
	prctl_comm(comm);

	/* slow READ: reported with the enter's tid, pid and comm */
	ENTER(&r, 5, 0x1234, 8, 42);
	usleep(3000);
	DONE(&r, 0, 0x1234, 8, 42);
	assert_int_equal(rig_collect(&r), 1);
	e = &r.s->ev[0];
	assert_int_equal(e->h.kind, AOD_RAW_SMB_SLOW);
	assert_int_equal(e->smb.cmd, 8);
	assert_int_equal(e->smb.tid, 5);
	assert_true(e->smb.sesid == 0x1234 && e->smb.mid == 42);
	assert_true(e->smb.latency_ns >= 3 * MS);
	assert_int_equal(e->smb.status, 0);
	assert_int_equal(e->h.tgid, (uint32_t)getpid());
	assert_int_equal(e->h.pid, (uint32_t)gettid());
	assert_string_equal(e->h.comm, comm);

	/* slow WRITE: excluded; fast READ: under threshold. Both in the histograms */
	ENTER(&r, 5, 0x1234, 9, 43);
	usleep(3000);
	DONE(&r, 5, 0x1234, 9, 43);
	ENTER(&r, 5, 0x1234, 8, 44);
	DONE(&r, 5, 0x1234, 8, 44);
	assert_int_equal(rig_collect(&r), 1);
	assert_int_equal(smb_probe_hist(&r.po, 8, &h), 0);
	assert_int_equal(aod_hist_total(&h), 2);
	assert_true(h.slots[aod_hist_slot(3000)] + h.slots[aod_hist_slot(3000) + 1] >= 1);
	assert_int_equal(smb_probe_hist(&r.po, 9, &h), 0);
	assert_int_equal(aod_hist_total(&h), 1);

	/* a real error: reported, and its in-flight entry is gone */
	ENTER(&r, 7, 0x1234, 5, 45);
	ERR(&r, 7, 0x1234, 5, 45, 0xC0000022, -13);
	DONE(&r, 7, 0x1234, 5, 45);                 /* unmatched now */
	assert_int_equal(rig_collect(&r), 2);
	e = &r.s->ev[1];
	assert_int_equal(e->h.kind, AOD_RAW_SMB_ERR);
	assert_true(e->smb.status == 0xC0000022);
	assert_int_equal(e->smb.rc, -13);
	assert_int_equal(e->smb.cmd, 5);
	assert_true(e->smb.latency_ns > 0);

	/* benign status: filtered in the kernel */
	ENTER(&r, 7, 0x1234, 5, 46);
	ERR(&r, 7, 0x1234, 5, 46, 0xC0000034, -2);
	ENTER(&r, 7, 0x1234, 1, 47);
	ERR(&r, 7, 0x1234, 1, 47, 0xC0000016, -5);
	assert_int_equal(rig_collect(&r), 2);

	/* an error whose enter was missed: reported with latency 0 */
	ERR(&r, 7, 0x1234, 5, 99, 0xC000007F, -28);
	assert_int_equal(rig_collect(&r), 3);
	e = &r.s->ev[2];
	assert_int_equal(e->h.kind, AOD_RAW_SMB_ERR);
	assert_true(e->smb.latency_ns == 0 && e->smb.status == 0xC000007F);

	assert_int_equal(probe_sum_counters(r.po.counters_fd, cnt), 0);
	assert_true(cnt[AOD_CNT_OPS] == 7);
	assert_true(cnt[AOD_CNT_UNMATCHED] == 2);
	assert_true(cnt[AOD_CNT_EVENTS] == 3);
	assert_true(cnt[AOD_CNT_RB_DROPS] == 0);

	/* new knobs (a reload): nothing is slow, no error tracked */
	quiet = smb_knobs_for("    blk: {type: Latency, tool: biolatency, acceptable_count: 1}\n");
	assert_int_equal(smb_probe_write_knobs(&r.po, quiet, false), 0);
	ENTER(&r, 5, 0x1234, 8, 50);
	usleep(3000);
	DONE(&r, 5, 0x1234, 8, 50);
	ENTER(&r, 5, 0x1234, 8, 51);
	ERR(&r, 5, 0x1234, 8, 51, 0xC0000022, -13);
	assert_int_equal(rig_collect(&r), 3);
	assert_int_equal(smb_probe_write_knobs(&r.po, k, false), 0);

	/* a completion without its enter: silent, unless user space holds
	 * expired entries (late_watch), which it then needs to measure */
	DONE(&r, 5, 0x1234, 8, 60);
	assert_int_equal(rig_collect(&r), 3);
	assert_int_equal(smb_probe_write_knobs(&r.po, k, true), 0);
	DONE(&r, 5, 0x1234, 8, 61);
	assert_int_equal(rig_collect(&r), 4);
	e = &r.s->ev[3];
	assert_int_equal(e->h.kind, AOD_RAW_SMB_UNMATCHED);
	assert_true(e->smb.sesid == 0x1234 && e->smb.mid == 61 && e->smb.cmd == 8);
	assert_true(e->h.flags == 0 && e->h.batch == 0);
	/* an untracked error without its enter goes out too while watching */
	ERR(&r, 7, 0x1234, 5, 62, 0xC0000034, -2);
	assert_int_equal(rig_collect(&r), 5);
	assert_int_equal(r.s->ev[4].h.kind, AOD_RAW_SMB_ERR);
	assert_int_equal(smb_probe_write_knobs(&r.po, k, false), 0);
	ERR(&r, 7, 0x1234, 5, 63, 0xC0000034, -2);
	assert_int_equal(rig_collect(&r), 5);

	rig_free(&r);
	free(k);
	free(quiet);
}

static bool expire_all(void *ctx, const void *key, const void *value)
{
	(void)key;
	(void)value;
	(*(uint64_t *)ctx)++;
	return true;
}

static void test_smb_inflight_bounded_and_swept(void **state)
{
	struct aod_smb_knob_set *k;
	struct smb_rig r;
	uint64_t cnt[AOD_CNT_MAX], expired = 0;
	struct probe_scan_buf sb = { 0 };
	int n;

	(void)state;
	NEED_KERNEL();
	k = smb_knobs_for(smb_rules);
	rig_init(&r, k);
	for (unsigned mid = 1; mid <= AOD_SMB_INFLIGHT_MAX + 3; mid++)
		ENTER(&r, 1, 0x77, 8, mid);
	assert_int_equal(probe_sum_counters(r.po.counters_fd, cnt), 0);
	assert_true(cnt[AOD_CNT_INFLIGHT_FULL] >= 3);
	n = probe_scan_map(&sb, r.po.inflight_fd, r.po.inflight_key_size, r.po.inflight_value_size,
			   expire_all, &expired);
	printf("# %llu in-flight entries seen and expired by one scan\n",
	       (unsigned long long)expired);
	assert_int_equal(n, (int)expired);
	assert_true(expired >= AOD_SMB_INFLIGHT_MAX - 64 && expired <= AOD_SMB_INFLIGHT_MAX);
	expired = 0;
	assert_int_equal(probe_scan_map(&sb, r.po.inflight_fd, r.po.inflight_key_size,
					r.po.inflight_value_size, expire_all, &expired), 0);
	assert_int_equal(expired, 0); /* the map is empty */
	probe_scan_buf_free(&sb);
	rig_free(&r);
	free(k);
}

/* What each SMB mode loads: exactly its programs, of its program type, in the documented
 * order of fallback. Attaching needs cifs: the VM test attaches every mode. */
static const struct smb_mode_want {
	const char *mode;
	__u32 prog_type;
	bool needs_cifs_btf;    /* tp_btf and fentry resolve their targets in cifs's BTF */
	const char *progs[5];
} smb_want[] = {
	{ "raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, false,
	  { "aod_smb_ent_rt", "aod_smb_done_rt", "aod_smb_err_rt", "aod_smb_rcn_rt" } },
	{ "tp_btf", BPF_PROG_TYPE_TRACING, true,
	  { "aod_smb_ent_bt", "aod_smb_done_bt", "aod_smb_err_bt", "aod_smb_rcn_bt" } },
	{ "fentry", BPF_PROG_TYPE_TRACING, true, { "aod_smb_ent_fx", "aod_smb_end_fx" } },
	{ "kprobe", BPF_PROG_TYPE_KPROBE, false,
	  { "aod_smb_ent_kp", "aod_smb_end_kp", "aod_smb_end_krp" } },
};

static bool wanted(const struct smb_mode_want *w, const char *name)
{
	for (const char *const *n = w->progs; *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

static void test_smb_fallback_modes_load(void **state)
{
	bool cifs_btf = !access("/sys/kernel/btf/cifs", F_OK);
	struct aod_smb_knob_set *k;
	struct probe_load_env env = { .wakeup_bytes = 65536 };
	char err[PROBE_ERR_LEN];
	size_t nmodes = sizeof(smb_want) / sizeof(smb_want[0]);

	(void)state;
	NEED_KERNEL();
	for (size_t i = 0; i <= nmodes; i++) /* the order tried, and nothing else */
		assert_true(i < nmodes ? aod_smb_modes[i] && !strcmp(aod_smb_modes[i], smb_want[i].mode)
				       : !aod_smb_modes[i]);
	k = smb_knobs_for(smb_rules);
	env.ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "aod_test_rb", 0, 0, 1 << 20, NULL);
	assert_true(env.ring_fd >= 0);
	for (const struct smb_mode_want *w = smb_want; w < smb_want + nmodes; w++) {
		struct bpf_program *prog;
		struct bpf_prog_info pi;
		struct probe_obj po;
		unsigned loaded = 0, want = 0;
		__u32 len;
		int rc = smb_probe_prepare(&po, w->mode, &env, k, err, sizeof(err));

		printf("# smb %s: %s\n", w->mode, rc ? err : "loads (attach needs the cifs module)");
		if (w->needs_cifs_btf && !cifs_btf) {
			assert_int_equal(rc, -ESRCH);
			assert_string_equal(err, "load: attach target not found in kernel BTF");
			continue;
		}
		if (rc)
			fail_msg("smb %s: %s", w->mode, err);
		bpf_object__for_each_program(prog, po.obj) {
			const char *name = bpf_program__name(prog);
			int fd = bpf_program__fd(prog);

			if (!wanted(w, name)) {
				assert_true(fd < 0); /* another mode's program: not loaded */
				continue;
			}
			assert_true(fd >= 0);
			memset(&pi, 0, sizeof(pi));
			len = sizeof(pi);
			assert_int_equal(bpf_obj_get_info_by_fd(fd, &pi, &len), 0);
			assert_int_equal(pi.type, w->prog_type);
			loaded++;
		}
		for (const char *const *n = w->progs; *n; n++)
			want++;
		assert_int_equal(loaded, want);
		smb_probe_destroy(&po);
	}
	close(env.ring_fd);
	free(k);
}

/* AOD_SMB_ATTACH=MODE: with cifs, that mode or a failure naming only it (no fallback);
 * without cifs, waiting, and nothing attached whatever the mode. */
static void test_smb_forced_mode(void **state)
{
	struct aod_config *cfg;
	struct link_ids before;

	(void)state;
	NEED_KERNEL();
	cfg = make_cfg("    smb: {type: Latency, tool: smbslower, acceptable_count: 5, "
		       "default_threshold_ms: 20}\n");
	own_links(&before);
	for (const struct smb_mode_want *w = smb_want; w < smb_want + 4; w++) {
		struct aod_probe_status st;
		struct aod_probes *p;
		struct link_ids links;

		p = start_forced(cfg, "AOD_SMB_ATTACH", w->mode, NULL);
		st = status_of(p, AOD_PROBE_SMB);
		new_own_links(&before, &links);
		if (access("/sys/module/cifs", F_OK)) {
			assert_int_equal(st.state, AOD_PROBE_WAITING);
			assert_string_equal(st.mode, "");
			assert_int_equal(links.n, 0);
		} else if (st.state == AOD_PROBE_ATTACHED) {
			assert_string_equal(st.mode, w->mode);
			assert_true(links.n >= 2);
		} else {
			char head[32];

			assert_int_equal(st.state, AOD_PROBE_FAILED);
			snprintf(head, sizeof(head), "%s: ", w->mode);
			assert_int_equal(strncmp(st.reason, head, strlen(head)), 0);
			assert_null(strstr(st.reason, "; ")); /* one mode tried */
		}
		aod_probes_free(p);
	}
	aod_config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_events_hist_counters),
		cmocka_unit_test(test_reload_changes_thresholds),
		cmocka_unit_test(test_emergency_wakes_at_once),
		cmocka_unit_test(test_forced_tp_btf),
		cmocka_unit_test(test_forced_raw_tp),
		cmocka_unit_test(test_bad_mode_fails_visibly),
		cmocka_unit_test(test_enable_on_reload_and_record_all),
		cmocka_unit_test(test_scan_map_deletes_unchanged_only),
		cmocka_unit_test(test_smb_programs),
		cmocka_unit_test(test_smb_inflight_bounded_and_swept),
		cmocka_unit_test(test_smb_fallback_modes_load),
		cmocka_unit_test(test_smb_forced_mode),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
