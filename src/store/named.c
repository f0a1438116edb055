// SPDX-License-Identifier: MIT
/*
 * The named queries of `aod query NAME [ARGS]`: plain SQL over the schema
 * (docs/store.md), with :since/:until (wall ns) and :arg1.. as parameters.
 * Percentiles are nearest-rank: p95 of n values is the ceil(0.95 n)-th
 * smallest. The two seed queries are the seeds' text, unchanged.
 */
#include <string.h>

#include "store/query.h"

#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%fZ', " col " / 1e9, 'unixepoch')"
#define COMMAND "COALESCE(NULLIF(cmdline, ''), comm)"

static const struct aod_named_query named[] = {
	{ "slowest-commands", "[N]", 1,
	  "count, avg, p50, p95 and max duration per command line of the processes that exited "
	  "(top N, default 20)",
	  "WITH d AS (SELECT " COMMAND " AS command, duration_ns,"
	  " ROW_NUMBER() OVER (PARTITION BY " COMMAND " ORDER BY duration_ns) AS rn,"
	  " COUNT(*) OVER (PARTITION BY " COMMAND ") AS n"
	  " FROM processes WHERE duration_ns IS NOT NULL AND exit_wall_ns BETWEEN :since AND :until)"
	  " SELECT command, MAX(n) AS count, ROUND(AVG(duration_ns) / 1e6, 3) AS avg_ms,"
	  " ROUND(MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN duration_ns END) / 1e6, 3) AS p50_ms,"
	  " ROUND(MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN duration_ns END) / 1e6, 3) AS p95_ms,"
	  " ROUND(MAX(duration_ns) / 1e6, 3) AS max_ms"
	  " FROM d GROUP BY command ORDER BY AVG(duration_ns) DESC LIMIT COALESCE(:arg1, 20)" },
	{ "top-cpu", "[N]", 1,
	  "CPU seconds (user + system) per command (comm) of the processes that exited (top N, "
	  "default 10)",
	  "SELECT comm AS command, COUNT(*) AS processes,"
	  " ROUND((SUM(cpu_user_ns) + SUM(cpu_sys_ns)) / 1e9, 6) AS cpu_s,"
	  " ROUND(SUM(cpu_user_ns) / 1e9, 6) AS user_s, ROUND(SUM(cpu_sys_ns) / 1e9, 6) AS sys_s"
	  " FROM processes WHERE cpu_user_ns IS NOT NULL AND exit_wall_ns BETWEEN :since AND :until"
	  " GROUP BY comm ORDER BY SUM(cpu_user_ns) + SUM(cpu_sys_ns) DESC LIMIT COALESCE(:arg1, 10)" },
	{ "top-rss", "[N]", 1, "the processes with the highest peak RSS (top N, default 10)",
	  "SELECT " ISO("exit_wall_ns") " AS exited, tgid AS pid, comm,"
	  " ROUND(peak_rss_bytes / 1048576.0, 2) AS peak_rss_mib, cmdline FROM processes"
	  " WHERE peak_rss_bytes IS NOT NULL AND exit_wall_ns BETWEEN :since AND :until"
	  " ORDER BY peak_rss_bytes DESC, exit_wall_ns LIMIT COALESCE(:arg1, 10)" },
	{ "failed-commands", "", 0,
	  "processes that exited non-zero, were killed by a signal or by the OOM killer, and "
	  "execs that failed",
	  "SELECT " ISO("exit_wall_ns") " AS time, tgid AS pid, ppid, comm, exit_code,"
	  " exit_signal AS signal, oom_killed AS oom, NULL AS exec_error, " COMMAND " AS command"
	  " FROM processes WHERE (exit_code <> 0 OR exit_signal <> 0 OR oom_killed = 1)"
	  " AND COALESCE(exit_wall_ns, start_wall_ns, 0) BETWEEN :since AND :until"
	  " UNION ALL SELECT " ISO("wall_ns") ", tgid, NULL, comm, NULL, NULL, NULL, error, path"
	  " FROM events WHERE kind = 'exec_failed' AND wall_ns BETWEEN :since AND :until"
	  " ORDER BY 1" },
	{ "process-tree", "[RUN]", 1,
	  "the process tree of a run (default: the latest), each process under its parent",
	  "WITH RECURSIVE r(id) AS (SELECT COALESCE(:arg1, (SELECT MAX(id) FROM runs))),"
	  " p AS (SELECT processes.* FROM processes, r WHERE run_id = r.id),"
	  " tree(tgid, start_ns, depth, path) AS ("
	  "  SELECT tgid, start_ns, 0, printf('%020d.%010d', start_ns, tgid) FROM p AS c"
	  "  WHERE NOT EXISTS (SELECT 1 FROM p AS q WHERE q.tgid = c.ppid"
	  "   AND (c.parent_start_ns IS NULL OR q.start_ns = c.parent_start_ns))"
	  "  UNION ALL SELECT c.tgid, c.start_ns, t.depth + 1,"
	  "   t.path || '/' || printf('%020d.%010d', c.start_ns, c.tgid)"
	  "  FROM tree AS t JOIN p AS c ON c.ppid = t.tgid"
	  "   AND (c.parent_start_ns IS NULL OR c.parent_start_ns = t.start_ns) WHERE t.depth < 64)"
	  " SELECT printf('%*s', t.depth * 2, '') || COALESCE(p.comm, '?') AS process,"
	  " p.tgid AS pid, p.ppid, " ISO("p.start_wall_ns") " AS started,"
	  " ROUND(p.duration_ns / 1e6, 3) AS duration_ms, p.exit_code, p.exit_signal AS signal,"
	  " p.cmdline FROM tree AS t JOIN p ON p.tgid = t.tgid AND p.start_ns = t.start_ns"
	  " ORDER BY t.path" },
	{ "anomalies-by-rule", "", 0,
	  "anomalies per rule: how many, emergencies, first and last, bundles written",
	  "SELECT a.rule, a.source, a.type, COUNT(*) AS anomalies, SUM(a.emergency) AS emergencies,"
	  " " ISO("MIN(a.wall_ns)") " AS first, " ISO("MAX(a.wall_ns)") " AS last,"
	  " (SELECT COUNT(*) FROM bundles AS b WHERE b.rule = a.rule AND b.result <> 'failed'"
	  "  AND b.wall_ns BETWEEN :since AND :until) AS bundles"
	  " FROM anomalies AS a WHERE a.wall_ns BETWEEN :since AND :until"
	  " GROUP BY a.rule, a.source, a.type ORDER BY anomalies DESC, a.rule" },
	{ "smb-slow", "[SHARE]", 1,
	  "SMB slow ops by share and command: count, average and max latency, late completions",
	  "SELECT COALESCE(share, '?') AS share, cmd AS command, COUNT(*) AS ops,"
	  " ROUND(AVG(latency_ns) / 1e6, 3) AS avg_ms, ROUND(MAX(latency_ns) / 1e6, 3) AS max_ms,"
	  " SUM(late) AS late, " ISO("MIN(wall_ns)") " AS first, " ISO("MAX(wall_ns)") " AS last"
	  " FROM events WHERE kind = 'smb_slow' AND wall_ns BETWEEN :since AND :until"
	  " AND (:arg1 IS NULL OR share = CAST(:arg1 AS TEXT))"
	  " GROUP BY share, cmd ORDER BY ops DESC, share, cmd" },
	{ "blk-slow", "[DISK]", 1,
	  "block slow ops by disk and op: count, average and max latency, bytes",
	  "SELECT COALESCE(disk, dev) AS disk, op, COUNT(*) AS ops,"
	  " ROUND(AVG(latency_ns) / 1e6, 3) AS avg_ms, ROUND(MAX(latency_ns) / 1e6, 3) AS max_ms,"
	  " SUM(bytes) AS bytes, " ISO("MIN(wall_ns)") " AS first, " ISO("MAX(wall_ns)") " AS last"
	  " FROM events WHERE kind = 'blk_slow' AND wall_ns BETWEEN :since AND :until"
	  " AND (:arg1 IS NULL OR COALESCE(disk, dev) = CAST(:arg1 AS TEXT))"
	  " GROUP BY COALESCE(disk, dev), op ORDER BY ops DESC, 1, op" },
	{ "runs", "", 0, "the agent runs and traces in the store, newest first",
	  "SELECT id, kind, " ISO("started_ns") " AS started, " ISO("ended_ns") " AS ended, host,"
	  " kernel, aod_version, exit_code, command FROM runs"
	  " WHERE started_ns <= :until AND COALESCE(ended_ns, :until) >= :since ORDER BY id DESC" },
	{ "seed-avg-exec-time", "", 0,
	  "seeds 002/004, unchanged: commands by average execution time (ns) over metrics_stream",
	  "SELECT full_command, AVG(metric) FROM metrics_stream WHERE type='EXIT' "
	  "GROUP BY full_command ORDER BY 2 DESC" },
	{ "seed-top-cpu", "", 0,
	  "seeds 002/004, unchanged: the 3 commands with the most CPU time (their unit: ns / "
	  "3600000, which they labelled milliseconds; top-cpu gives seconds)",
	  "SELECT command, ROUND(SUM(max_cpu)/(1000*60*60), 10) AS cpu_time FROM "
	  "(SELECT command, pid, MAX(metric) AS max_cpu FROM metrics_stream WHERE type='CPU' "
	  "GROUP BY command, pid) GROUP BY command ORDER BY 2 DESC LIMIT 3" },
};

const struct aod_named_query *aod_named_query_find(const char *name)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (!strcmp(named[i].name, name))
			return &named[i];
	return NULL;
}

const struct aod_named_query *aod_named_query_at(size_t i)
{
	return i < sizeof(named) / sizeof(named[0]) ? &named[i] : NULL;
}
