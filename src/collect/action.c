// SPDX-License-Identifier: MIT
/*
 * Resolving action names to specs and running a set of specs for one
 * collection: up to the pool's limit in parallel, quick ones first, each
 * into its own file in the staging directory with its outcome recorded,
 * each in its own cell (contain.h) that is emptied when it ends: programs
 * through exec.c, copies and collectors in a child process (child.c). The
 * calling thread works too; extra worker threads live only for the call.
 */
#include "collect/action.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/action_internal.h"
#include "collect/contain.h"
#include "collect/exec.h"
#include "common/log.h"
#include "common/timeutil.h"

/* ---- names to specs ---- */

bool aod_action_is_builtin(const char *name)
{
	struct aod_action_spec spec;

	return aod_builtin_spec(NULL, name, &spec) == 0;
}

static const struct aod_custom_action *find_custom(const struct aod_config *cfg, const char *name)
{
	if (!cfg)
		return NULL;
	for (uint32_t i = 0; i < cfg->watcher.ncustom && i < AOD_MAX_CUSTOM_ACTIONS; i++)
		if (!strcmp(cfg->watcher.custom[i].name, name))
			return &cfg->watcher.custom[i];
	return NULL;
}

static int custom_spec(const struct aod_config *cfg, const struct aod_custom_action *c,
		       struct aod_action_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	if (!c->argc || c->argc > AOD_MAX_ARGV)
		return -EINVAL;
	snprintf(spec->name, sizeof(spec->name), "%s", c->name);
	snprintf(spec->file, sizeof(spec->file), "%s.log", c->name);
	spec->kind = AOD_ACTION_EXEC;
	spec->argc = c->argc;
	memcpy(spec->argv, c->argv, sizeof(c->argv[0]) * c->argc);
	spec->timeout_sec = c->timeout_sec ? c->timeout_sec : cfg->watcher.action_timeout_sec;
	spec->max_bytes = c->max_bytes ? c->max_bytes : cfg->watcher.action_max_bytes;
	if (!spec->timeout_sec)
		spec->timeout_sec = AOD_ACTION_DEFAULT_TIMEOUT_SEC;
	if (!spec->max_bytes)
		spec->max_bytes = AOD_ACTION_DEFAULT_MAX_BYTES;
	spec->quick = false;
	return 0;
}

static bool already(const struct aod_action_spec *out, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(out[i].name, name))
			return true;
	return false;
}

static int resolve_one(const struct aod_config *cfg, const char *name, struct aod_action_spec *spec)
{
	const struct aod_custom_action *c;

	if (!aod_builtin_spec(cfg, name, spec))
		return 0;
	c = find_custom(cfg, name);
	if (c) {
		if (custom_spec(cfg, c, spec)) {
			log_err("action '%s': custom action without a valid argv", name);
			return -EINVAL;
		}
		return 0;
	}
	log_err("action '%s': neither built in nor in watcher.custom_actions", name);
	return -ENOENT;
}

int aod_actions_resolve(const struct aod_config *cfg, const char (*names)[AOD_ACTION_NAME_LEN],
			size_t nnames, struct aod_action_spec *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < nnames + aod_hostctx_count; i++) {
		const char *name = i < nnames ? names[i] : aod_hostctx_names[i - nnames];
		int rc;

		if (already(out, n, name))
			continue;
		if (n == max) {
			log_err("actions: more than %zu to run", max);
			return -ENOSPC;
		}
		rc = resolve_one(cfg, name, &out[n]);
		if (rc)
			return rc;
		n++;
	}
	return (int)n;
}

/* ---- running ---- */

#define CELL_GIVE_UP_MS 2000 /* whatever survives SIGKILL that long is left behind */

static void describe(const struct aod_action_spec *spec, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (spec->kind == AOD_ACTION_COPY || (spec->kind == AOD_ACTION_FUNC && spec->path[0])) {
		snprintf(buf, len, "%s", spec->path);
		return;
	}
	for (uint32_t i = 0; i < spec->argc && i < AOD_MAX_ARGV && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", spec->argv[i]);
	if (!buf[0])
		snprintf(buf, len, "built-in %s", spec->name);
}

static void result_init(const struct aod_action_spec *spec, struct aod_action_result *res)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", spec->name);
	snprintf(res->file, sizeof(res->file), "%s", spec->file);
	describe(spec, res->desc, sizeof(res->desc));
	res->exit_code = -1;
}

static void pool_spawned(void *arg)
{
	aod_pool_work_begin(arg);
}

static void pool_reaped(void *arg)
{
	aod_pool_work_end(arg);
}

static int run_exec(struct aod_action_pool *pool, const struct aod_action_spec *spec, int fd,
		    struct aod_cell *cell, struct aod_action_result *res)
{
	const char *argv[AOD_MAX_ARGV + 1];
	struct aod_exec_ctl ctl = {
	    .cancel_fd = aod_pool_cancel_fd(pool),
	    .spawned = pool_spawned,
	    .reaped = pool_reaped,
	    .arg = pool,
	    .cell = cell,
	};
	uint32_t argc = spec->argc < AOD_MAX_ARGV ? spec->argc : AOD_MAX_ARGV;

	if (!argc) {
		snprintf(res->error, sizeof(res->error), "empty argv");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = spec->argv[i];
	argv[argc] = NULL;
	return aod_exec_run(argv, spec->timeout_sec * 1000ULL, spec->max_bytes, fd, &ctl, res);
}

/* A copy or a collector, in a child process; then the cap on what it wrote. */
static int run_in_child(struct aod_action_pool *pool, const struct aod_action_spec *spec, int fd,
			struct aod_cell *cell, struct aod_action_result *res)
{
	struct aod_child_job job = {
	    .spec = spec, .fd = fd, .cell = cell, .cancel_fd = aod_pool_cancel_fd(pool),
	};
	struct aod_sink sink;
	off_t end;
	int rc;

	if (spec->kind == AOD_ACTION_FUNC && !spec->fn) {
		snprintf(res->error, sizeof(res->error), "no collector function");
		return -EINVAL;
	}
	aod_pool_work_begin(pool);
	rc = aod_child_run(&job, res);
	aod_pool_work_end(pool);
	if (rc == -ECANCELED && !res->error[0])
		snprintf(res->error, sizeof(res->error), "cancelled");
	else if (rc < 0 && !res->error[0])
		snprintf(res->error, sizeof(res->error), "%s", strerror(-rc));
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, 0, SEEK_SET);
	aod_sink_init(&sink, fd, spec->max_bytes);
	aod_sink_adopt(&sink, end > 0 ? (uint64_t)end : 0);
	res->bytes = 0;
	aod_sink_finish(&sink, res);
	return rc;
}

static int run_kind(struct aod_action_pool *pool, const struct aod_action_spec *spec, int fd,
		    struct aod_cell *cell, struct aod_action_result *res)
{
	switch (spec->kind) {
	case AOD_ACTION_EXEC: return run_exec(pool, spec, fd, cell, res);
	case AOD_ACTION_COPY:
	case AOD_ACTION_FUNC: return run_in_child(pool, spec, fd, cell, res);
	}
	snprintf(res->error, sizeof(res->error), "unknown action kind %d", (int)spec->kind);
	return -EINVAL;
}

/* An empty file says nothing; when the action produced nothing, say why. */
static void explain_empty(int fd, struct aod_action_result *res)
{
	char line[AOD_ACTION_ERR_LEN + 32];
	int len;

	if (res->bytes || !res->error[0])
		return;
	len = snprintf(line, sizeof(line), "aod: %s%s\n", res->skipped ? "skipped: " : "",
		       res->error);
	if (len > 0 && pwrite(fd, line, (size_t)len, 0) == len)
		res->bytes = (uint64_t)len;
}

static bool valid_file_name(const char *file)
{
	return file[0] && file[0] != '.' && !strchr(file, '/');
}

static int run_action(struct aod_action_pool *pool, const struct aod_action_spec *spec, int dirfd,
		      struct aod_action_result *res)
{
	struct aod_cell cell;
	uint64_t t0;
	int fd, rc, err, left;

	result_init(spec, res);
	if (!valid_file_name(spec->file)) {
		snprintf(res->error, sizeof(res->error), "bad output file name '%s'", spec->file);
		return -EINVAL;
	}
	fd = openat(dirfd, spec->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error), "cannot create %s: %s", spec->file,
			 strerror(-rc));
		log_warn("action %s: %s", spec->name, res->error);
		return rc;
	}
	err = aod_cell_open(aod_pool_contain(pool), spec->name, &cell);
	if (err)
		log_debug("action %s: no cgroup of its own (%s): its process tree is killed instead",
			  spec->name, strerror(-err));
	res->start_wall_ns = aod_wall_ns();
	t0 = aod_mono_ns();
	rc = run_kind(pool, spec, fd, &cell, res);
	left = aod_cell_close(&cell, CELL_GIVE_UP_MS);
	if (left > 0 && !res->error[0])
		snprintf(res->error, sizeof(res->error),
			 "%d of its processes did not die after SIGKILL (uninterruptible sleep?)",
			 left);
	res->duration_ns = aod_mono_ns() - t0;
	if (spec->kind != AOD_ACTION_EXEC)
		res->exit_code = res->error[0] ? -1 : 0;
	explain_empty(fd, res);
	close(fd);
	if (res->error[0])
		log_debug("action %s: %s", spec->name, res->error);
	return rc;
}

struct run_call {
	struct aod_action_pool *pool;
	const struct aod_action_spec *specs;
	struct aod_action_result *results;
	int dirfd;
	size_t *order; /* quick specs first, each group in list order */
	size_t n, next;
	bool cancelled;
	pthread_mutex_t lock;
};

static bool take_next(struct run_call *call, size_t *idx)
{
	bool ok;

	pthread_mutex_lock(&call->lock);
	ok = call->next < call->n;
	if (ok)
		*idx = call->order[call->next++];
	pthread_mutex_unlock(&call->lock);
	return ok;
}

static void mark_cancelled(struct run_call *call)
{
	pthread_mutex_lock(&call->lock);
	call->cancelled = true;
	pthread_mutex_unlock(&call->lock);
}

static void *worker(void *arg)
{
	struct run_call *call = arg;
	size_t i;

	while (take_next(call, &i)) {
		const struct aod_action_spec *spec = &call->specs[i];
		struct aod_action_result *res = &call->results[i];

		if (aod_pool_acquire(call->pool, spec->quick)) {
			result_init(spec, res);
			snprintf(res->error, sizeof(res->error), "cancelled before it started");
			mark_cancelled(call);
			continue;
		}
		if (run_action(call->pool, spec, call->dirfd, res) == -ECANCELED)
			mark_cancelled(call);
		aod_pool_release(call->pool);
	}
	return NULL;
}

static size_t *quick_first(const struct aod_action_spec *specs, size_t n)
{
	size_t *order = calloc(n, sizeof(*order));
	size_t k = 0;

	if (!order)
		return NULL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (specs[i].quick == (pass == 0))
				order[k++] = i;
	return order;
}

int aod_actions_run(struct aod_action_pool *pool, const struct aod_action_spec *specs, size_t n,
		    int dirfd, struct aod_action_result *results)
{
	struct run_call call = {
	    .pool = pool,
	    .specs = specs,
	    .results = results,
	    .dirfd = dirfd,
	    .n = n,
	};
	size_t nthreads = n < aod_pool_limit(pool) ? n : aod_pool_limit(pool);
	pthread_t *threads;
	size_t started = 0;

	if (!n)
		return aod_pool_cancelled(pool) ? -ECANCELED : 0;
	call.order = quick_first(specs, n);
	threads = calloc(nthreads, sizeof(*threads));
	if (!call.order || !threads) {
		free(call.order);
		free(threads);
		return -ENOMEM;
	}
	pthread_mutex_init(&call.lock, NULL);
	/* The caller is one of the workers. */
	for (size_t i = 1; i < nthreads; i++) {
		int rc = pthread_create(&threads[started], NULL, worker, &call);

		if (rc) {
			log_warn("actions: worker thread: %s; running with %zu", strerror(rc),
				 started + 1);
			break;
		}
		pthread_setname_np(threads[started], "aod-action");
		started++;
	}
	worker(&call);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&call.lock);
	free(threads);
	free(call.order);
	return call.cancelled || aod_pool_cancelled(pool) ? -ECANCELED : 0;
}
