// SPDX-License-Identifier: MIT
/*
 * cgroup files: where the hierarchies are mounted (unified, hybrid, legacy)
 * and one group's CPU, memory, I/O and task figures, v2 first and v1 where
 * a hybrid host keeps a controller there. io.stat is summed over every
 * device line (the seed skipped every line, since each starts with MAJ:MIN).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "health/cgroup.h"

const char *aod_cg_mode_name(enum aod_cg_mode m)
{
	static const char *const names[] = { "none", "unified", "hybrid", "legacy" };

	return m <= AOD_CG_LEGACY ? names[m] : "?";
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(const char *in, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (in[i] == '\\' && i + 3 < n && in[i + 1] >= '0' && in[i + 1] <= '3') {
			out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

static bool has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, name, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static void set_if_empty(char *dst, const char *src)
{
	if (!dst[0])
		snprintf(dst, PATH_MAX, "%s", src);
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE SRC SUPEROPTS". */
static void parse_mount_line(const char *line, size_t len, struct aod_cg_hier *h)
{
	char mnt[PATH_MAX], fstype[32], super[512];
	const char *f = line, *sep = NULL;
	size_t field = 0;

	for (const char *p = line; p + 2 < line + len; p++)
		if (p[0] == ' ' && p[1] == '-' && p[2] == ' ') {
			sep = p + 3;
			break;
		}
	if (!sep)
		return;
	while (field < 4 && (f = memchr(f, ' ', (size_t)(line + len - f))))
		f++, field++;
	if (!f)
		return;
	unescape_octal(f, strcspn(f, " "), mnt, sizeof(mnt));
	if (sscanf(sep, "%31s %*s %511s", fstype, super) != 2)
		return;
	if (!strcmp(fstype, "cgroup2")) {
		set_if_empty(h->v2, mnt);
	} else if (!strcmp(fstype, "cgroup")) {
		if (has_option(super, "memory"))
			set_if_empty(h->v1_memory, mnt);
		if (has_option(super, "blkio"))
			set_if_empty(h->v1_blkio, mnt);
		if (has_option(super, "cpuacct"))
			set_if_empty(h->v1_cpuacct, mnt);
		if (has_option(super, "pids"))
			set_if_empty(h->v1_pids, mnt);
	}
}

int aod_cg_parse_mountinfo(const char *text, struct aod_cg_hier *h)
{
	bool v1;

	memset(h, 0, sizeof(*h));
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");

		parse_mount_line(p, len, h);
		p += len + (p[len] == '\n');
	}
	v1 = h->v1_memory[0] || h->v1_blkio[0] || h->v1_cpuacct[0] || h->v1_pids[0];
	h->mode = h->v2[0] ? (v1 ? AOD_CG_HYBRID : AOD_CG_UNIFIED) : (v1 ? AOD_CG_LEGACY : AOD_CG_NONE);
	return 0;
}

int aod_cg_detect(struct aod_cg_hier *h)
{
	char *text;
	int err = aod_read_text("/proc/self/mountinfo", 0, &text, NULL);

	if (err) {
		memset(h, 0, sizeof(*h));
		return err;
	}
	aod_cg_parse_mountinfo(text, h);
	free(text);
	return 0;
}

/* "key value" lines: the value of key, or false. */
static bool keyed_u64(const char *text, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");

		if (len > n && !strncmp(p, key, n) && p[n] == ' ')
			return sscanf(p + n + 1, "%" SCNu64, v) == 1;
		p += len + (p[len] == '\n');
	}
	return false;
}

int aod_cg_parse_cpu_stat(const char *text, struct aod_cg_stats *s)
{
	if (!keyed_u64(text, "usage_usec", &s->cpu_usage_usec))
		return -ENOENT;
	if (!keyed_u64(text, "user_usec", &s->cpu_user_usec))
		s->cpu_user_usec = 0;
	if (!keyed_u64(text, "system_usec", &s->cpu_system_usec))
		s->cpu_system_usec = 0;
	s->has_cpu = true;
	s->cpu_source = "v2";
	return 0;
}

/* One io.stat line: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void add_io_line(const char *p, size_t len, struct aod_cg_stats *s)
{
	const char *end = p + len, *f = memchr(p, ' ', len);

	while (f && f < end) {
		uint64_t v;
		char key[16];

		f += strspn(f, " ");
		if (sscanf(f, "%15[a-z]=%" SCNu64, key, &v) == 2) {
			if (!strcmp(key, "rbytes"))
				s->io_rbytes += v;
			else if (!strcmp(key, "wbytes"))
				s->io_wbytes += v;
			else if (!strcmp(key, "rios"))
				s->io_rios += v;
			else if (!strcmp(key, "wios"))
				s->io_wios += v;
		}
		f = memchr(f, ' ', (size_t)(end - f));
	}
}

int aod_cg_parse_io_stat(const char *text, struct aod_cg_stats *s)
{
	s->io_rbytes = s->io_wbytes = s->io_rios = s->io_wios = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		unsigned maj, min;

		if (sscanf(p, "%u:%u ", &maj, &min) == 2)
			add_io_line(p, len, s);
		p += len + (p[len] == '\n');
	}
	s->has_io = true;
	s->io_source = "v2";
	return 0;
}

int aod_cg_parse_blkio_bytes(const char *text, struct aod_cg_stats *s)
{
	s->io_rbytes = s->io_wbytes = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		unsigned maj, min;
		char op[16];
		uint64_t v;

		if (sscanf(p, "%u:%u %15s %" SCNu64, &maj, &min, op, &v) == 4) {
			if (!strcmp(op, "Read"))
				s->io_rbytes += v;
			else if (!strcmp(op, "Write"))
				s->io_wbytes += v;
		}
		p += len + (p[len] == '\n');
	}
	s->has_io = true;
	s->io_source = "v1";
	return 0;
}

int aod_cg_parse_u64(const char *text, uint64_t *v, bool *is_max)
{
	char *end;

	if (is_max)
		*is_max = false;
	while (*text == ' ')
		text++;
	if (!strncmp(text, "max", 3) && (!text[3] || text[3] == '\n')) {
		*v = UINT64_MAX;
		if (is_max)
			*is_max = true;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(text, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

size_t aod_cg_count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");

		n += len > 0;
		p += len + (p[len] == '\n');
	}
	return n;
}

/* The text of root/path/file, or NULL. */
static char *group_file(const char *root, const char *path, const char *file)
{
	char full[PATH_MAX * 2];
	char *text = NULL;

	if (!root[0])
		return NULL;
	snprintf(full, sizeof(full), "%s%s%s/%s", root, path[0] == '/' ? "" : "/",
		 strcmp(path, "/") ? path : "", file);
	if (aod_read_text(full, 0, &text, NULL) < 0)
		return NULL;
	return text;
}

static bool group_u64(const char *root, const char *path, const char *file, uint64_t *v)
{
	char *text = group_file(root, path, file);
	bool is_max, ok = text && !aod_cg_parse_u64(text, v, &is_max) && !is_max;

	free(text);
	return ok;
}

static void read_cpu(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	char *text = group_file(h->v2, path, "cpu.stat");
	uint64_t ns;

	if (text && !aod_cg_parse_cpu_stat(text, s)) {
		free(text);
		return;
	}
	free(text);
	if (group_u64(h->v1_cpuacct, path, "cpuacct.usage", &ns)) {
		s->cpu_usage_usec = ns / 1000;
		s->has_cpu = true;
		s->cpu_source = "v1";
	}
}

static void read_io(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	char *text = group_file(h->v2, path, "io.stat");

	if (text) {
		aod_cg_parse_io_stat(text, s);
		free(text);
		return;
	}
	text = group_file(h->v1_blkio, path, "blkio.throttle.io_service_bytes_recursive");
	if (!text)
		text = group_file(h->v1_blkio, path, "blkio.throttle.io_service_bytes");
	if (text)
		aod_cg_parse_blkio_bytes(text, s);
	free(text);
}

static void read_memory(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	if (group_u64(h->v2, path, "memory.current", &s->mem_current)) {
		s->has_mem = true;
		s->mem_source = "v2";
		s->has_mem_peak = group_u64(h->v2, path, "memory.peak", &s->mem_peak);
	} else if (group_u64(h->v1_memory, path, "memory.usage_in_bytes", &s->mem_current)) {
		s->has_mem = true;
		s->mem_source = "v1";
		s->has_mem_peak = group_u64(h->v1_memory, path, "memory.max_usage_in_bytes", &s->mem_peak);
	}
}

static void read_tasks(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	char *text = group_file(h->v2, path, "cgroup.procs");

	if (!text)
		text = group_file(h->v1_pids[0] ? h->v1_pids : h->v1_memory, path, "cgroup.procs");
	if (text) {
		s->tasks = aod_cg_count_lines(text);
		s->has_tasks = true;
	}
	free(text);
}

int aod_cg_read_counters(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	memset(s, 0, sizeof(*s));
	read_cpu(h, path, s);
	read_io(h, path, s);
	return s->has_cpu || s->has_io ? 0 : -ENOENT;
}

int aod_cg_read(const struct aod_cg_hier *h, const char *path, struct aod_cg_stats *s)
{
	aod_cg_read_counters(h, path, s);
	read_memory(h, path, s);
	read_tasks(h, path, s);
	return s->has_cpu || s->has_mem || s->has_io || s->has_tasks ? 0 : -ENOENT;
}
