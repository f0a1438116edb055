// SPDX-License-Identifier: MIT
/*
 * Action containment (see contain.h): choosing between a cgroup v2 per
 * action and the process-tree fallback, creating and killing cells, and
 * the record that lets a restarted agent kill what a dead one left.
 */
#include "collect/contain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define FREEZE_WAIT_MS 200
#define EMPTY_POLL_MS 5
#define CLAIM_GIVE_UP_MS 3000

struct aod_contain {
	enum aod_contain_mode mode;
	int dirfd;		/* the pool's cgroup, -1 in tree mode */
	char mount[128];	/* cgroup2 mount point */
	char rel[2048];		/* the pool's cgroup, relative to the mount */
	char dir[PATH_MAX];	/* ... absolute */
	char record[PATH_MAX];	/* the record this pool wrote, "" if none */
	atomic_uint seq;
};

static const char *const mode_names[] = {"kill", "freeze", "tree"};

const char *aod_contain_mode_name(enum aod_contain_mode mode)
{
	return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

enum aod_contain_mode aod_contain_mode(const struct aod_contain *ct)
{
	return ct->mode;
}

const char *aod_contain_dir(const struct aod_contain *ct)
{
	return ct->mode == AOD_CONTAIN_TREE ? "" : ct->dir;
}

/* ---- small file helpers ---- */

static int write_at(int dirfd, const char *file, const char *text)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Whole small file at dirfd/file, NUL-terminated: length or -errno. */
static ssize_t read_at(int dirfd, const char *file, char *buf, size_t cap)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return n < 0 ? -errno : (ssize_t)got;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* /proc/PID/stat fields after the comm: state, ppid, pgrp, session. */
struct proc_rel {
	pid_t pid, ppid, pgrp, sid;
	char state;
};

static int read_rel(pid_t pid, struct proc_rel *r)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %d %d %d", &r->state, &r->ppid, &r->pgrp, &r->sid) != 4)
		return -EINVAL;
	r->pid = pid;
	return 0;
}

static bool rel_dead(const struct proc_rel *r)
{
	return r->state == 'Z' || r->state == 'X';
}

/* Start time (clock ticks since boot) of pid: with the pid, names a process. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return 0;
	/* field 22; p + 2 is field 3 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			  "%*d %*d %llu",
		   &t) != 1)
		return 0;
	return t;
}

/* ---- cgroup cells ---- */

static bool cgroup_populated(int dirfd)
{
	char buf[256];
	const char *p;

	if (read_at(dirfd, "cgroup.events", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "populated ");
	return p && p[10] == '1';
}

/* Is pid still a member of the cgroup rel ("0::REL")? */
static bool in_cgroup(pid_t pid, const char *rel)
{
	char path[64], buf[4200], *line;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return false;
	line = strstr(buf, "0::");
	if (!line)
		return false;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	return !strcmp(line, rel);
}

/* SIGKILL every member listed in cgroup.procs, each through a pidfd after
 * checking it is still a member (no pid reused in between). Returns how many. */
static int kill_members(int dirfd, const char *rel)
{
	char buf[16384], *save = NULL;
	int killed = 0;

	if (read_at(dirfd, "cgroup.procs", buf, sizeof(buf)) < 0)
		return 0;
	for (char *tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(tok);
		int fd = pid > 0 ? pidfd_open_(pid) : -1;

		if (fd < 0)
			continue;
		if (in_cgroup(pid, rel) && !pidfd_signal(fd, SIGKILL))
			killed++;
		close(fd);
	}
	return killed;
}

static int count_members(int dirfd)
{
	char buf[16384];
	int n = 0;

	if (read_at(dirfd, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return 0;
	for (char *p = buf; *p; p++)
		n += *p == '\n';
	return n;
}

static void cgroup_kill(int dirfd, const char *rel, enum aod_contain_mode mode)
{
	char buf[256];

	if (mode == AOD_CONTAIN_KILL && !write_at(dirfd, "cgroup.kill", "1"))
		return;
	/* Frozen members cannot fork or exit while we read the list; a fatal
	 * signal still ends a frozen process. */
	write_at(dirfd, "cgroup.freeze", "1");
	for (int i = 0; i < FREEZE_WAIT_MS / EMPTY_POLL_MS; i++) {
		if (read_at(dirfd, "cgroup.events", buf, sizeof(buf)) > 0 &&
		    strstr(buf, "frozen 1"))
			break;
		usleep(EMPTY_POLL_MS * 1000);
	}
	kill_members(dirfd, rel);
	write_at(dirfd, "cgroup.freeze", "0");
}

/* ---- tree cells ---- */

static int cmp_pid(const void *a, const void *b)
{
	const struct proc_rel *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every process in /proc, sorted by pid (caller frees). */
static struct proc_rel *scan_procs(size_t *n)
{
	DIR *d = opendir("/proc");
	struct proc_rel *rows = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0)
			continue;
		if (*n == cap) {
			struct proc_rel *bigger = realloc(rows, (cap ? cap * 2 : 512) * sizeof(*rows));

			if (!bigger)
				break;
			rows = bigger;
			cap = cap ? cap * 2 : 512;
		}
		if (!read_rel(pid, &rows[*n]))
			(*n)++;
	}
	closedir(d);
	if (rows)
		qsort(rows, *n, sizeof(*rows), cmp_pid);
	return rows;
}

/*
 * Does r belong to the cell? While the leader's pid still names the leader
 * (own: its pidfd, alive or a zombie not reaped), the leader itself; any
 * other process of its group or session (while one exists, the kernel
 * does not hand its id out again); and while the leader lives (only then is
 * it the subreaper of its orphans), every descendant.
 */
static bool tree_member(const struct proc_rel *r, const struct proc_rel *rows, size_t n,
			const bool *in, pid_t leader, bool own, bool alive)
{
	struct proc_rel key = {.pid = r->ppid};
	const struct proc_rel *parent;

	if (r->pid == leader)
		return own;
	if (r->pgrp == leader || r->sid == leader)
		return true;
	if (!alive)
		return false;
	parent = bsearch(&key, rows, n, sizeof(*rows), cmp_pid);
	return parent && in[parent - rows];
}

/* Mark the cell's processes to a fixed point (caller frees). */
static bool *mark_tree(const struct proc_rel *rows, size_t n, pid_t leader, bool own, bool alive)
{
	bool *in = calloc(n ? n : 1, sizeof(*in));
	bool changed = true;

	if (!in)
		return NULL;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (!in[i] && tree_member(&rows[i], rows, n, in, leader, own, alive)) {
				in[i] = true;
				changed = true;
			}
		}
	}
	return in;
}

/* Does the leader's pid still name the leader (alive or a zombie)? */
static bool leader_own(const struct aod_cell *cell)
{
	return cell->leader > 0 && cell->leader_fd >= 0 && pidfd_signal(cell->leader_fd, 0) == 0;
}

static bool leader_alive(const struct aod_cell *cell, bool own)
{
	struct proc_rel r;

	return own && !read_rel(cell->leader, &r) && !rel_dead(&r);
}

/*
 * A pidfd for one marked process once it is checked to be the process that
 * was scanned, not a new one that got its pid since: same parent, or still
 * in the leader's group or session (not "same group": it may have called
 * setsid() in between, and must not escape for that). -1 if not.
 */
static int capture_member(const struct aod_cell *cell, const struct proc_rel *was)
{
	struct proc_rel now;
	int fd = pidfd_open_(was->pid);

	if (fd < 0)
		return -1;
	if (read_rel(was->pid, &now) || rel_dead(&now) ||
	    (now.ppid != was->ppid && now.pgrp != cell->leader && now.sid != cell->leader)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Signal every live process of the tree; returns how many. All are captured
 * (pidfd) before any is signalled: a parent that dies of the signal first
 * would hand its children to init before they were checked. With hold, the
 * pidfds are kept (as many as fit) for the kill after the leader died.
 */
static int tree_signal(struct aod_cell *cell, int sig, bool hold)
{
	size_t n, ncap = 0;
	struct proc_rel *rows = scan_procs(&n);
	bool own = leader_own(cell);
	bool *in = rows ? mark_tree(rows, n, cell->leader, own, leader_alive(cell, own)) : NULL;
	int *fds = in ? calloc(n ? n : 1, sizeof(*fds)) : NULL;

	for (size_t i = 0; fds && i < n; i++) {
		int fd = in[i] && !rel_dead(&rows[i]) ? capture_member(cell, &rows[i]) : -1;

		if (fd >= 0)
			fds[ncap++] = fd;
	}
	for (size_t i = 0; i < ncap; i++) {
		pidfd_signal(fds[i], sig);
		if (hold && cell->nheld < AOD_CELL_HELD_MAX)
			cell->held[cell->nheld++] = fds[i];
		else
			close(fds[i]);
	}
	free(fds);
	free(in);
	free(rows);
	return (int)ncap;
}

static void drop_held(struct aod_cell *cell)
{
	for (size_t i = 0; i < cell->nheld; i++)
		close(cell->held[i]);
	cell->nheld = 0;
}

/* ---- cells ---- */

int aod_cell_open(struct aod_contain *ct, const char *action, struct aod_cell *cell)
{
	unsigned seq = atomic_fetch_add(&ct->seq, 1) + 1;
	int fd;

	memset(cell, 0, sizeof(*cell));
	cell->dirfd = cell->procs_fd = cell->leader_fd = -1;
	cell->mode = AOD_CONTAIN_TREE;
	snprintf(cell->name, sizeof(cell->name), "%u-%.40s", seq, action);
	if (ct->mode == AOD_CONTAIN_TREE)
		return 0;
	if (mkdirat(ct->dirfd, cell->name, 0755) && errno != EEXIST)
		return -errno;
	fd = openat(ct->dirfd, cell->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	cell->procs_fd = openat(fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (cell->procs_fd < 0) {
		int err = -errno;

		close(fd);
		unlinkat(ct->dirfd, cell->name, AT_REMOVEDIR);
		return err;
	}
	cell->dirfd = fd;
	cell->mode = ct->mode;
	snprintf(cell->rel, sizeof(cell->rel), "%s/%s", ct->rel, cell->name);
	return 0;
}

void aod_cell_enter(const struct aod_cell *cell)
{
	if (cell->procs_fd >= 0) {
		if (write(cell->procs_fd, "0", 1) == 1)
			return;
	}
	/* Tree mode (or joining failed): orphans of the action come to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

void aod_cell_set_leader(struct aod_cell *cell, pid_t pid)
{
	cell->leader = pid;
	cell->leader_fd = pidfd_open_(pid);
}

void aod_cell_term(struct aod_cell *cell)
{
	if (cell->leader <= 0)
		return;
	if (cell->mode == AOD_CONTAIN_TREE)
		tree_signal(cell, SIGTERM, true); /* held: found again after the leader died */
	kill(-cell->leader, SIGTERM);
}

void aod_cell_kill(struct aod_cell *cell)
{
	if (cell->leader > 0)
		kill(-cell->leader, SIGKILL);
	if (cell->mode != AOD_CONTAIN_TREE) {
		cgroup_kill(cell->dirfd, cell->rel, cell->mode);
		return;
	}
	for (size_t i = 0; i < cell->nheld; i++)
		pidfd_signal(cell->held[i], SIGKILL);
	if (cell->leader > 0)
		tree_signal(cell, SIGKILL, false);
}

static bool cell_empty(struct aod_cell *cell)
{
	if (cell->mode != AOD_CONTAIN_TREE)
		return !cgroup_populated(cell->dirfd);
	return cell->leader <= 0 || tree_signal(cell, 0, false) == 0;
}

int aod_cell_close(struct aod_cell *cell, unsigned give_up_ms)
{
	uint64_t give_up = aod_mono_ns() + (uint64_t)give_up_ms * AOD_NSEC_PER_MSEC;
	int left = 0;

	while (!cell_empty(cell)) {
		aod_cell_kill(cell);
		if (aod_mono_ns() >= give_up) {
			left = cell->mode != AOD_CONTAIN_TREE ? count_members(cell->dirfd)
							      : tree_signal(cell, 0, false);
			break;
		}
		usleep(EMPTY_POLL_MS * 1000);
	}
	drop_held(cell);
	if (cell->dirfd >= 0) {
		int pfd = openat(cell->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (!left && pfd >= 0)
			unlinkat(pfd, cell->name, AT_REMOVEDIR);
		if (pfd >= 0)
			close(pfd);
		close(cell->dirfd);
		if (cell->procs_fd >= 0)
			close(cell->procs_fd);
	}
	if (cell->leader_fd >= 0)
		close(cell->leader_fd);
	cell->dirfd = cell->procs_fd = cell->leader_fd = -1;
	return left;
}

/* ---- choosing the mode ---- */

static int find_mount(char *out, size_t len)
{
	static const char *const candidates[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs sf;

	for (size_t i = 0; i < 2; i++) {
		if (!statfs(candidates[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(out, len, "%s", candidates[i]);
			return 0;
		}
	}
	return -ENOENT;
}

/* The agent's own cgroup v2 path ("/" or "/system.slice/aod.service"). */
static int own_cgroup(char *out, size_t len)
{
	char buf[8192], *line;

	if (read_at(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return -ENOENT;
	line = strstr(buf, "0::");
	if (!line || (line != buf && line[-1] != '\n'))
		return -ENOENT;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "/"))
		line = "";
	if (strlen(line) >= len)
		return -ENAMETOOLONG;
	memcpy(out, line, strlen(line) + 1);
	return 0;
}

/* Can a process join a child of the pool's cgroup? A child tries it. */
static int probe_join(struct aod_contain *ct)
{
	struct aod_cell cell;
	int status, err;
	pid_t pid;

	err = aod_cell_open(ct, "probe", &cell);
	if (err)
		return err;
	pid = fork();
	if (pid == 0)
		_exit(write(cell.procs_fd, "0", 1) == 1 ? 0 : (errno & 0x7f));
	err = 0;
	if (pid < 0)
		err = -errno;
	else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		err = -ECHILD;
	else if (WEXITSTATUS(status))
		err = -WEXITSTATUS(status);
	aod_cell_close(&cell, 1000);
	return err;
}

static int setup_cgroup(struct aod_contain *ct)
{
	char own[1024];
	int err = find_mount(ct->mount, sizeof(ct->mount));

	if (!err)
		err = own_cgroup(own, sizeof(own));
	if (err)
		return err;
	snprintf(ct->rel, sizeof(ct->rel), "%s/aod-%d-%llu", own, (int)getpid(),
		 (unsigned long long)(aod_mono_ns() / 1000));
	snprintf(ct->dir, sizeof(ct->dir), "%s%s", ct->mount, ct->rel);
	if (mkdir(ct->dir, 0755))
		return -errno;
	ct->dirfd = open(ct->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ct->dirfd < 0)
		err = -errno;
	if (!err && ct->mode == AOD_CONTAIN_KILL && faccessat(ct->dirfd, "cgroup.kill", W_OK, 0))
		ct->mode = AOD_CONTAIN_FREEZE; /* before 5.14 */
	if (!err && faccessat(ct->dirfd, "cgroup.freeze", W_OK, 0))
		err = -EOPNOTSUPP; /* before 5.2 */
	if (!err)
		err = probe_join(ct);
	if (err) {
		if (ct->dirfd >= 0)
			close(ct->dirfd);
		ct->dirfd = -1;
		rmdir(ct->dir);
	}
	return err;
}

static enum aod_contain_mode wanted_mode(void)
{
	const char *v = getenv("AOD_ACTION_CONTAIN");

	if (v && !strcmp(v, "tree"))
		return AOD_CONTAIN_TREE;
	if (v && !strcmp(v, "freeze"))
		return AOD_CONTAIN_FREEZE;
	return AOD_CONTAIN_KILL;
}

struct aod_contain *aod_contain_new(void)
{
	struct aod_contain *ct = calloc(1, sizeof(*ct));
	int err = 0;

	if (!ct)
		return NULL;
	ct->dirfd = -1;
	ct->mode = wanted_mode();
	atomic_init(&ct->seq, 0);
	if (ct->mode != AOD_CONTAIN_TREE)
		err = setup_cgroup(ct);
	if (err) {
		log_warn("actions: no cgroup v2 to contain them (%s: %s); each action's process "
			 "tree is killed instead, and a descendant that leaves its session after its "
			 "parent exits can outlive it",
			 ct->dir[0] ? ct->dir : "cgroup2 mount", strerror(-err));
		ct->mode = AOD_CONTAIN_TREE;
	} else if (ct->mode != AOD_CONTAIN_TREE) {
		log_info("actions: one cgroup each under %s (%s)", ct->dir,
			 ct->mode == AOD_CONTAIN_KILL ? "cgroup.kill" : "cgroup.freeze");
	}
	return ct;
}

/* Kill and remove every cell under dirfd (a pool's cgroup); processes killed. */
static int kill_pool_dir(int dirfd, const char *rel)
{
	DIR *d = fdopendir(dup(dirfd));
	struct dirent *e;
	int killed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct aod_cell cell = {.mode = AOD_CONTAIN_KILL, .procs_fd = -1, .leader_fd = -1};

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		cell.dirfd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cell.dirfd < 0)
			continue;
		if (faccessat(cell.dirfd, "cgroup.kill", W_OK, 0))
			cell.mode = AOD_CONTAIN_FREEZE;
		snprintf(cell.name, sizeof(cell.name), "%.63s", e->d_name);
		snprintf(cell.rel, sizeof(cell.rel), "%s/%s", rel, e->d_name);
		killed += count_members(cell.dirfd);
		aod_cell_close(&cell, CLAIM_GIVE_UP_MS);
	}
	closedir(d);
	return killed;
}

void aod_contain_free(struct aod_contain *ct)
{
	if (!ct)
		return;
	if (ct->dirfd >= 0) {
		int left = kill_pool_dir(ct->dirfd, ct->rel);

		if (left)
			log_warn("actions: killed %d processes left in %s", left, ct->dir);
		close(ct->dirfd);
		if (rmdir(ct->dir))
			log_warn("actions: cannot remove %s: %s", ct->dir, strerror(errno));
	}
	if (ct->record[0])
		unlink(ct->record);
	free(ct);
}

/* ---- the record ---- */

struct record {
	int pid;
	unsigned long long start;
	char cgroup[PATH_MAX];
};

static int read_record(const char *path, struct record *r)
{
	char buf[PATH_MAX + 128];
	const char *cg;

	memset(r, 0, sizeof(*r));
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	if (sscanf(buf, "agent %d %llu", &r->pid, &r->start) != 2)
		return -EINVAL;
	cg = strstr(buf, "\ncgroup ");
	if (cg) {
		snprintf(r->cgroup, sizeof(r->cgroup), "%s", cg + 8);
		r->cgroup[strcspn(r->cgroup, "\n")] = '\0';
	}
	return 0;
}

/* Only an aod pool cgroup on a cgroup2 file system; its path relative to the mount. */
static int leftover_dir(const char *path, const char **rel)
{
	static const char *const mounts[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	const char *base = strrchr(path, '/');
	struct statfs sf;
	int fd;

	if (!base || strncmp(base, "/aod-", 5) || strstr(path, "/../"))
		return -EINVAL;
	for (size_t i = 0; i < 2; i++) {
		size_t len = strlen(mounts[i]);

		if (!strncmp(path, mounts[i], len) && path[len] == '/') {
			*rel = path + len;
			break;
		}
	}
	if (!*rel)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int kill_leftovers(const struct record *old)
{
	const char *rel = NULL;
	int fd, killed;

	if (!old->cgroup[0])
		return 0;
	fd = leftover_dir(old->cgroup, &rel);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	killed = kill_pool_dir(fd, rel);
	close(fd);
	if (rmdir(old->cgroup) && errno != ENOENT)
		log_warn("actions: cannot remove %s of an earlier agent: %s", old->cgroup,
			 strerror(errno));
	return killed;
}

static int write_record(struct aod_contain *ct, const char *path)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fchmod(fileno(f), 0600);
	fprintf(f, "agent %d %llu\n", (int)getpid(), start_time(getpid()));
	if (ct->mode != AOD_CONTAIN_TREE)
		fprintf(f, "cgroup %s\n", ct->dir);
	if (fclose(f) || rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	snprintf(ct->record, sizeof(ct->record), "%s", path);
	return 0;
}

int aod_contain_claim(struct aod_contain *ct, const char *output_dir)
{
	char path[PATH_MAX];
	struct record old;
	int killed = 0, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", output_dir, AOD_CONTAIN_RECORD) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (!read_record(path, &old)) {
		if (old.pid > 0 && old.pid != getpid() && old.start &&
		    start_time(old.pid) == old.start) {
			log_warn("actions: agent %d (still running) uses %s too; its actions are "
				 "left alone", old.pid, output_dir);
		} else {
			killed = kill_leftovers(&old);
			if (killed > 0)
				log_notice("actions: killed %d processes left running by the "
					   "actions of an earlier agent (pid %d, %s)",
					   killed, old.pid, old.cgroup);
			else if (killed < 0)
				log_warn("actions: record %s names %s: %s; ignored", path,
					 old.cgroup, strerror(-killed));
		}
	}
	err = write_record(ct, path);
	if (err) {
		log_err("actions: cannot write %s: %s", path, strerror(-err));
		return err;
	}
	return killed > 0 ? killed : 0;
}
