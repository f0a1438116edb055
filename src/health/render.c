// SPDX-License-Identifier: MIT
/*
 * The health report as text for a person: one section per part, every line
 * cut to the width (80), colour only when asked (a terminal without
 * NO_COLOR). Each line is formatted whole, then escaped (unit names,
 * journal messages and cgroup paths may carry control characters) and cut,
 * so no raw control byte and no line longer than the width reaches the
 * terminal.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "health/health.h"
#include "health/hjson.h"

#define RED "\033[31m"
#define BRED "\033[1;31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"
#define BLAME_SHOWN 10
#define LOG_LINES_SHOWN 5
#define UNITS_SHOWN 10

/* Byte offset after `cols` code points of s. */
static size_t cut_at(const char *s, size_t cols)
{
	size_t i = 0, n = 0;

	while (s[i] && n < cols) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n++;
	}
	return i;
}

static size_t width_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

__attribute__((format(printf, 3, 4)))
static void emit(const struct aod_render *r, const char *color, const char *fmt, ...)
{
	char raw[4096], esc[8192];
	va_list ap;
	size_t w = r->width ? r->width : 80;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	aod_text_escape(raw, sizeof(raw), esc, sizeof(esc), false);
	if (width_of(esc) > w) {
		size_t at = cut_at(esc, w - 3);

		memcpy(esc + at, "...", 4);
	}
	if (r->color && color)
		fprintf(r->out, "%s%s%s\n", color, esc, RESET);
	else
		fprintf(r->out, "%s\n", esc);
}

static void heading(const struct aod_render *r, const char *title)
{
	fputc('\n', r->out);
	emit(r, BOLD, "== %s", title);
}

static const char *s_or(const json_t *o, const char *key, const char *dflt)
{
	const char *v = hj_gets(o, key);

	return v ? v : dflt;
}

static void fmt_bytes(double v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return;
	}
	while (fabs(v) >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void fmt_usec(double us, char *buf, size_t len)
{
	if (!isfinite(us))
		snprintf(buf, len, "-");
	else if (us >= 1e6)
		snprintf(buf, len, "%.3f s", us / 1e6);
	else
		snprintf(buf, len, "%.1f ms", us / 1e3);
}

/* A paragraph: words wrapped at the width, continuation lines indented by two. */
static void para(const struct aod_render *r, const char *color, const char *text)
{
	size_t w = r->width ? r->width : 80, len = strlen(text), start = 0;
	bool first = true;

	while (start < len) {
		size_t room = first ? w : w - 2, n = len - start;

		if (n > room) {
			n = room;
			while (n > room / 2 && text[start + n] != ' ')
				n--;
			if (text[start + n] != ' ')
				n = room;
		}
		emit(r, color, "%s%.*s", first ? "" : "  ", (int)n, text + start);
		start += n;
		while (text[start] == ' ')
			start++;
		first = false;
	}
}

/* "2 failed, 1 flapping, ..." with the non-zero counts only. */
static void counts(const json_t *s, char *buf, size_t len)
{
	static const struct { const char *key, *label; } keys[] = {
		{ "failed", "failed" }, { "flapping", "flapping" }, { "sockets", "socket" },
		{ "timers", "timer" }, { "states", "state" }, { "dependency_failed", "dependency" },
		{ "log_patterns", "log patterns" }, { "cycles", "cycles" }, { "anomalies", "anomalies" },
		{ "errors", "errors" },
	};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && off < len; i++) {
		double n = hj_getn(s, keys[i].key, 0);

		if (n > 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%.0f %s", off ? ", " : "", n,
						keys[i].label);
	}
	if (!off)
		snprintf(buf, len, "no problems found");
}

static void overview(const struct aod_render *r, const json_t *rep)
{
	const json_t *s = json_object_get(rep, "summary");
	const char *status = s_or(s, "status", "?");
	const char *color = !strcmp(status, "healthy") ? GREEN : !strcmp(status, "failed") ? BRED : YELLOW;
	char line[1024], what[512];

	emit(r, BOLD, "aod health report %s", s_or(rep, "id", "?"));
	emit(r, NULL, "host %s, kernel %s, boot %.8s", s_or(rep, "hostname", "?"), s_or(rep, "kernel", "?"),
	     s_or(rep, "boot_id", "?"));
	counts(s, what, sizeof(what));
	snprintf(line, sizeof(line), "status: %s: %s", status, what);
	para(r, color, line);
	if (!json_is_true(hj_path(rep, "systemd.available"))) {
		snprintf(line, sizeof(line), "%s; units, boot and dependencies are skipped",
			 s_or(json_object_get(rep, "systemd"), "reason", "no systemd"));
		para(r, YELLOW, line);
	}
}

static bool skipped(const struct aod_render *r, const json_t *sec)
{
	if (hj_gets(sec, "skipped")) {
		emit(r, DIM, "skipped (no systemd, see above)");
		return true;
	}
	if (hj_gets(sec, "error"))
		emit(r, RED, "error: %s", hj_gets(sec, "error"));
	return false;
}

/* ---- units ---- */

static void unit_list(const struct aod_render *r, const json_t *units, const char *key, const char *label,
		      const char *color)
{
	size_t i, k;
	json_t *u, *line;

	json_array_foreach(json_object_get(units, key), i, u) {
		const json_t *logs = json_object_get(u, "recent_logs");
		size_t n = hj_len(logs);

		emit(r, color, "%-10s %-29s %s", label, s_or(u, "name", "?"), s_or(u, "reason", ""));
		json_array_foreach(logs, k, line)
			if (k + LOG_LINES_SHOWN >= n)
				emit(r, DIM, "           > %s", json_string_value(line) ? json_string_value(line) : "");
	}
}

static void units_section(const struct aod_render *r, const json_t *units)
{
	static const struct { const char *key, *label, *color; } lists[] = {
		{ "failed", "FAILED", BRED }, { "flapping", "FLAPPING", RED },
		{ "sockets", "SOCKET", YELLOW }, { "timers", "TIMER", YELLOW },
		{ "states", "STATE", YELLOW }, { "dependency_failed", "DEPENDENCY", YELLOW },
	};
	size_t problems = 0;

	heading(r, "Service health");
	if (skipped(r, units))
		return;
	emit(r, NULL, "%.0f units (%.0f listed, %.0f device aliases dropped)", hj_getn(units, "total", 0),
	     hj_getn(units, "listed", 0), hj_getn(units, "duplicates_dropped", 0));
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		problems += hj_len(json_object_get(units, lists[l].key));
		unit_list(r, units, lists[l].key, lists[l].label, lists[l].color);
	}
	if (!problems)
		emit(r, GREEN, "No failed, flapping, or problematic socket/timer units among %.0f units.",
		     hj_getn(units, "total", 0));
}

/* ---- boot ---- */

static void boot_times(const struct aod_render *r, const json_t *t)
{
	static const char *const phases[] = { "firmware", "loader", "kernel", "initrd", "userspace" };
	char line[512] = "", v[32], key[32];
	size_t off = 0;

	for (size_t i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "%s_usec", phases[i]);
		if (!json_is_number(json_object_get(t, key)))
			continue;
		fmt_usec(hj_getn(t, key, 0), v, sizeof(v));
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s (%s)", off ? " + " : "", v,
					phases[i]);
	}
	fmt_usec(hj_getn(t, "total_usec", NAN), v, sizeof(v));
	if (json_is_true(json_object_get(t, "finished")))
		emit(r, NULL, "Startup finished in %s = %s", line, v);
	else
		emit(r, YELLOW, "Boot not finished yet: %s", line);
}

static void boot_section(const struct aod_render *r, const json_t *boot)
{
	size_t i;
	json_t *e;
	char v[32], d[32];

	heading(r, "Boot");
	if (skipped(r, boot))
		return;
	if (json_object_get(boot, "times"))
		boot_times(r, json_object_get(boot, "times"));
	emit(r, NULL, "Blame (longest activations of %zu):", hj_len(json_object_get(boot, "blame")));
	json_array_foreach(json_object_get(boot, "blame"), i, e) {
		if (i >= BLAME_SHOWN)
			break;
		fmt_usec(hj_getn(e, "usec", NAN), v, sizeof(v));
		emit(r, NULL, "  %10s  %s", v, s_or(e, "unit", "?"));
	}
	emit(r, NULL, "Critical chain:");
	json_array_foreach(json_object_get(boot, "critical_chain"), i, e) {
		fmt_usec(hj_getn(e, "at_usec", NAN), v, sizeof(v));
		fmt_usec(hj_getn(e, "delta_usec", NAN), d, sizeof(d));
		emit(r, hj_getn(e, "delta_usec", 0) > 1e6 ? RED : NULL, "  %*s%s @%s%s%s", (int)(2 * i), "",
		     s_or(e, "unit", "?"), v, json_is_number(json_object_get(e, "delta_usec")) ? " +" : "",
		     json_is_number(json_object_get(e, "delta_usec")) ? d : "");
	}
}

/* ---- resources ---- */

static void system_lines(const struct aod_render *r, const json_t *sys)
{
	char a[32], b[32], c[32], d[32];
	const json_t *disk = json_object_get(sys, "disk"), *net = json_object_get(sys, "network");
	const json_t *psi = json_object_get(sys, "pressure");

	emit(r, NULL, "CPU %.1f %% of %.0f CPUs, load %.2f %.2f %.2f", hj_getn(sys, "cpu_percent", NAN),
	     hj_getn(sys, "cpu_count", 0), json_number_value(json_array_get(json_object_get(sys, "load"), 0)),
	     json_number_value(json_array_get(json_object_get(sys, "load"), 1)),
	     json_number_value(json_array_get(json_object_get(sys, "load"), 2)));
	fmt_bytes(hj_getn(sys, "mem_total_bytes", NAN) - hj_getn(sys, "mem_available_bytes", NAN), a, sizeof(a));
	fmt_bytes(hj_getn(sys, "mem_total_bytes", NAN), b, sizeof(b));
	fmt_bytes(hj_getn(sys, "swap_used_bytes", NAN), c, sizeof(c));
	fmt_bytes(hj_getn(sys, "swap_total_bytes", NAN), d, sizeof(d));
	emit(r, NULL, "Memory %s of %s used (%.1f %%), swap %s of %s", a, b,
	     hj_getn(sys, "mem_used_percent", NAN), c, d);
	emit(r, NULL, "Pressure (some, avg10): cpu %.1f %%, memory %.1f %%, io %.1f %%",
	     hj_getn(hj_path(psi, "cpu.some"), "avg10", NAN), hj_getn(hj_path(psi, "memory.some"), "avg10", NAN),
	     hj_getn(hj_path(psi, "io.some"), "avg10", NAN));
	fmt_bytes(hj_getn(disk, "read_bytes_per_sec", NAN), a, sizeof(a));
	fmt_bytes(hj_getn(disk, "write_bytes_per_sec", NAN), b, sizeof(b));
	fmt_bytes(hj_getn(net, "rx_bytes_per_sec", NAN), c, sizeof(c));
	fmt_bytes(hj_getn(net, "tx_bytes_per_sec", NAN), d, sizeof(d));
	emit(r, NULL, "Disk read %s/s, write %s/s; network rx %s/s, tx %s/s", a, b, c, d);
}

static void top_list(const struct aod_render *r, const json_t *res, const char *key, const char *title,
		     bool usec)
{
	size_t i;
	json_t *e;
	char v[32];

	if (!hj_len(json_object_get(res, key)))
		return;
	emit(r, NULL, "%s:", title);
	json_array_foreach(json_object_get(res, key), i, e) {
		if (usec)
			fmt_usec(hj_getn(e, "value", NAN), v, sizeof(v));
		else
			fmt_bytes(hj_getn(e, "value", NAN), v, sizeof(v));
		emit(r, NULL, "  %12s  %s", v, s_or(e, "name", "?"));
	}
}

static void resources_section(const struct aod_render *r, const json_t *res)
{
	const json_t *cg = json_object_get(res, "cgroup");
	size_t i;
	json_t *g;
	char m[32];

	heading(r, "Resources");
	skipped(r, res);
	system_lines(r, json_object_get(res, "system"));
	emit(r, NULL, "cgroups: %s (v2 at %s), %zu groups from %s", s_or(cg, "mode", "?"),
	     s_or(cg, "v2_root", "-"), hj_len(json_object_get(res, "units")), s_or(cg, "groups_from", "?"));
	top_list(r, res, "top_cpu", "Top CPU (time used)", true);
	top_list(r, res, "top_memory", "Top memory", false);
	top_list(r, res, "top_io", "Top I/O (bytes read + written)", false);
	if (hj_len(json_object_get(res, "process_groups")))
		emit(r, NULL, "Child process groups:");
	json_array_foreach(json_object_get(res, "process_groups"), i, g) {
		fmt_bytes(hj_getn(g, "memory_bytes", NAN), m, sizeof(m));
		emit(r, NULL, "  %-20s %-24s %4.0f procs %9.1f s %10s", s_or(g, "unit", "?"),
		     s_or(g, "command", "?"), hj_getn(g, "processes", 0), hj_getn(g, "cpu_seconds", 0), m);
	}
}

/* ---- logs, deps, scores, errors ---- */

static void logs_section(const struct aod_render *r, const json_t *logs)
{
	size_t i, k;
	json_t *p, *ex;

	heading(r, "Logs");
	skipped(r, logs);
	emit(r, NULL, "%.0f entries from %s (%s, priority <= %.0f and every kernel message)%s",
	     hj_getn(logs, "entries", 0), s_or(logs, "source", "?"),
	     json_is_true(json_object_get(logs, "boot_only")) ? "this boot" : "since the given time",
	     hj_getn(logs, "max_priority", 4), json_is_true(json_object_get(logs, "truncated")) ?
		     ", stopped at health.log_max_entries" : "");
	if (!hj_len(json_object_get(logs, "patterns")))
		emit(r, GREEN, "No known error patterns.");
	json_array_foreach(json_object_get(logs, "patterns"), i, p) {
		const char *cls = s_or(p, "class", "?");

		emit(r, strcmp(cls, "Warning") ? RED : YELLOW, "%6.0f x %-20s %s, first at %s",
		     hj_getn(p, "count", 0), s_or(p, "name", "?"), cls, s_or(p, "level", "?"));
		json_array_foreach(json_object_get(p, "examples"), k, ex)
			emit(r, DIM, "         %s", json_string_value(ex) ? json_string_value(ex) : "");
	}
}

static void deps_section(const struct aod_render *r, const json_t *deps)
{
	size_t i, k;
	json_t *u, *d, *c;

	heading(r, "Dependencies");
	if (skipped(r, deps))
		return;
	json_array_foreach(json_object_get(deps, "units"), i, u) {
		emit(r, NULL, "%s (%s): %s", s_or(u, "unit", "?"), s_or(u, "why", "?"),
		     json_is_true(json_object_get(u, "explained")) ? "explained by its dependencies" :
								      "no dependency explains it");
		json_array_foreach(json_object_get(u, "dependencies"), k, d)
			emit(r, json_is_true(json_object_get(d, "explains")) ? RED : NULL, "  %-10s %-32s %s/%s%s",
			     s_or(d, "type", "?"), s_or(d, "name", "?"), s_or(d, "active_state", "?"),
			     s_or(d, "sub_state", "?"), json_is_true(json_object_get(d, "explains")) ? "  <-" : "");
	}
	emit(r, NULL, "Cycles: %.0f found%s", hj_getn(deps, "cycles_found", 0),
	     json_is_true(json_object_get(deps, "cycles_truncated")) ? " (search stopped early)" : "");
	json_array_foreach(json_object_get(deps, "cycles"), i, c) {
		char line[1024];

		emit(r, YELLOW, "  %s", hj_join(json_object_get(c, "path"), " -> ", line, sizeof(line)));
	}
}

/* The seed's [eBPF] section, by unit: shown when --processes was given. */
static void processes_section(const struct aod_render *r, const json_t *p)
{
	size_t i, k;
	json_t *u, *c, *f;

	heading(r, "Processes during the analysis");
	if (hj_gets(p, "skipped")) {
		emit(r, DIM, "skipped: %s", hj_gets(p, "skipped"));
		return;
	}
	if (hj_gets(p, "error"))
		emit(r, RED, "error: %s", hj_gets(p, "error"));
	if (!hj_gets(p, "mode"))
		return;
	emit(r, NULL, "%.0f execs, %.0f exits (%.0f failed) in %.1f s; CPU of the exited %.3f s",
	     hj_getn(p, "execs", 0), hj_getn(p, "exits", 0), hj_getn(p, "failed", 0),
	     hj_getn(p, "duration_ms", 0) / 1000, hj_getn(p, "cpu_seconds", 0));
	if (hj_getn(p, "lost", 0) > 0)
		emit(r, YELLOW, "%.0f records lost (the probe's ring was full)", hj_getn(p, "lost", 0));
	if (!hj_len(json_object_get(p, "units")))
		return;
	emit(r, NULL, "%-36s %6s %6s %6s %9s", "UNIT OR CGROUP", "EXECS", "EXITS", "FAILED", "CPU s");
	json_array_foreach(json_object_get(p, "units"), i, u) {
		char cmds[512] = "";
		size_t n = 0;

		if (i == UNITS_SHOWN) {
			emit(r, DIM, "... %zu more in the JSON report", hj_len(json_object_get(p, "units")) - i);
			break;
		}
		emit(r, hj_getn(u, "failed", 0) > 0 ? YELLOW : NULL, "%-36.36s %6.0f %6.0f %6.0f %9.3f",
		     s_or(u, "name", "?"), hj_getn(u, "execs", 0), hj_getn(u, "exits", 0),
		     hj_getn(u, "failed", 0), hj_getn(u, "cpu_seconds", 0));
		json_array_foreach(json_object_get(u, "commands"), k, c) {
			if (n >= sizeof(cmds) - 1)
				break;
			/* execs, or exits for a command that ran before (no exec seen) */
			n += (size_t)snprintf(cmds + n, sizeof(cmds) - n, "%s%s x%.0f", k ? ", " : "",
					      s_or(c, "command", "?"), hj_getn(c, "execs", 0) ?
					      hj_getn(c, "execs", 0) : hj_getn(c, "exits", 0));
		}
		if (cmds[0])
			emit(r, DIM, "  %s", cmds);
	}
	if (hj_len(json_object_get(p, "failures")))
		emit(r, NULL, "Last failed exits:");
	json_array_foreach(json_object_get(p, "failures"), i, f) {
		const char *t = s_or(f, "time", "");
		char how[32];

		if (hj_getn(f, "signal", 0) > 0)
			snprintf(how, sizeof(how), "signal %.0f%s", hj_getn(f, "signal", 0),
				 json_is_true(json_object_get(f, "core_dumped")) ? " (core)" : "");
		else
			snprintf(how, sizeof(how), "exit %.0f", hj_getn(f, "exit_code", 0));
		emit(r, RED, "  %s %-15s %7.0f %-10s %s", strlen(t) > 11 ? t + 11 : t, s_or(f, "command", "?"),
		     hj_getn(f, "pid", 0), how, s_or(f, "name", "?"));
	}
}

static void scores_section(const struct aod_render *r, const json_t *sc)
{
	size_t i, learning = 0;
	json_t *a, *u;
	char v[32], m[32];

	heading(r, "Scores");
	if (hj_gets(sc, "error"))
		emit(r, RED, "error: %s", hj_gets(sc, "error"));
	json_array_foreach(json_object_get(sc, "units"), i, u)
		learning += !strcmp(s_or(u, "state", ""), "learning");
	emit(r, NULL, "%.0f past reports, threshold %.1f; %zu of %zu units still learning (< %.0f samples)",
	     hj_getn(sc, "history_reports", 0), hj_getn(sc, "threshold", 0), learning,
	     hj_len(json_object_get(sc, "units")), hj_getn(sc, "min_samples", 0));
	json_array_foreach(json_object_get(sc, "anomalies"), i, a) {
		const char *f = s_or(a, "feature", "?");
		bool bytes = strstr(f, "memory") || strstr(f, "io");

		if (bytes) {
			fmt_bytes(hj_getn(a, "value", NAN), v, sizeof(v));
			fmt_bytes(hj_getn(a, "median", NAN), m, sizeof(m));
		} else {
			snprintf(v, sizeof(v), "%.3g", hj_getn(a, "value", NAN));
			snprintf(m, sizeof(m), "%.3g", hj_getn(a, "median", NAN));
		}
		emit(r, RED, "ANOMALY %-28s %s %s (median %s), score %.1f", s_or(a, "unit", "?"), f, v, m,
		     hj_getn(a, "score", NAN));
	}
}

void aod_health_render(const struct aod_render *r, const json_t *rep)
{
	size_t i;
	json_t *e;

	overview(r, rep);
	if (json_object_get(rep, "units"))
		units_section(r, json_object_get(rep, "units"));
	if (json_object_get(rep, "boot"))
		boot_section(r, json_object_get(rep, "boot"));
	if (json_object_get(rep, "resources"))
		resources_section(r, json_object_get(rep, "resources"));
	if (json_object_get(rep, "logs"))
		logs_section(r, json_object_get(rep, "logs"));
	if (json_object_get(rep, "deps"))
		deps_section(r, json_object_get(rep, "deps"));
	if (json_is_true(hj_path(rep, "processes.requested")))
		processes_section(r, json_object_get(rep, "processes"));
	if (json_object_get(rep, "scores"))
		scores_section(r, json_object_get(rep, "scores"));
	if (!hj_len(json_object_get(rep, "errors")))
		return;
	heading(r, "Errors");
	json_array_foreach(json_object_get(rep, "errors"), i, e)
		emit(r, RED, "%s: %s", s_or(e, "part", "?"), s_or(e, "message", "?"));
}

void aod_health_render_unit(const struct aod_render *r, const json_t *rep)
{
	const json_t *u = json_object_get(rep, "unit"), *res = json_object_get(rep, "resources");
	size_t i;
	json_t *e;
	char a[32], b[32];

	if (hj_gets(rep, "skipped")) {
		emit(r, YELLOW, "%s", hj_gets(rep, "skipped"));
		return;
	}
	json_array_foreach(json_object_get(rep, "errors"), i, e)
		emit(r, RED, "%s: %s", s_or(e, "part", "?"), s_or(e, "message", "?"));
	if (!u)
		return;
	emit(r, BOLD, "%s - %s", s_or(u, "name", "?"), s_or(u, "description", ""));
	emit(r, NULL, "state %s/%s/%s, result %s, since %s", s_or(u, "load_state", "?"),
	     s_or(u, "active_state", "?"), s_or(u, "sub_state", "?"), s_or(u, "result", "-"),
	     s_or(u, "state_since", "-"));
	emit(r, NULL, "main PID %.0f, restarts %.0f, cgroup %s", hj_getn(u, "main_pid", 0),
	     hj_getn(u, "n_restarts", 0), s_or(u, "cgroup", "-"));
	json_array_foreach(json_object_get(u, "problems"), i, e)
		emit(r, RED, "problem: %s: %s", s_or(e, "problem", "?"), s_or(e, "reason", ""));
	if (res) {
		fmt_bytes(hj_getn(res, "memory_current_bytes", NAN), a, sizeof(a));
		fmt_bytes(hj_getn(res, "io_read_bytes", 0) + hj_getn(res, "io_write_bytes", 0), b, sizeof(b));
		emit(r, NULL, "CPU %.3f cores, memory %s, I/O %s, %.0f tasks", hj_getn(res, "cpu_rate", NAN), a, b,
		     hj_getn(res, "tasks", 0));
	}
	emit(r, NULL, "Dependencies:");
	json_array_foreach(json_object_get(rep, "dependencies"), i, e)
		emit(r, NULL, "  %-10s %-32s %s/%s%s", s_or(e, "type", "?"), s_or(e, "name", "?"),
		     s_or(e, "active_state", "?"), s_or(e, "sub_state", "?"),
		     json_is_true(json_object_get(e, "explains")) ? "  <-" : "");
	emit(r, NULL, "Journal (this boot):");
	json_array_foreach(json_object_get(rep, "recent_logs"), i, e)
		emit(r, NULL, "  %s", json_string_value(e) ? json_string_value(e) : "");
}

void aod_health_render_diff(const struct aod_render *r, const json_t *d)
{
	size_t i;
	json_t *e;

	emit(r, BOLD, "aod health diff %s (%s) -> %s (%s)", s_or(json_object_get(d, "from"), "id", "?"),
	     s_or(json_object_get(d, "from"), "status", "?"), s_or(json_object_get(d, "to"), "id", "?"),
	     s_or(json_object_get(d, "to"), "status", "?"));
	json_array_foreach(json_object_get(d, "new_problems"), i, e)
		emit(r, RED, "+ %-10s %-30s %s", s_or(e, "problem", "?"), s_or(e, "unit", "?"), s_or(e, "reason", ""));
	json_array_foreach(json_object_get(d, "resolved"), i, e)
		emit(r, GREEN, "- %-10s %-30s resolved", s_or(e, "problem", "?"), s_or(e, "unit", "?"));
	json_array_foreach(json_object_get(d, "resource_changes"), i, e)
		emit(r, YELLOW, "~ %-30s %-14s %.4g -> %.4g (%+.0f %%)", s_or(e, "unit", "?"),
		     s_or(e, "feature", "?"), hj_getn(e, "from", NAN), hj_getn(e, "to", NAN),
		     hj_getn(e, "change_percent", NAN));
	json_array_foreach(json_object_get(d, "log_patterns"), i, e)
		emit(r, NULL, "~ log pattern %-20s %.0f -> %.0f", s_or(e, "name", "?"), hj_getn(e, "from", 0),
		     hj_getn(e, "to", 0));
	json_array_foreach(hj_path(d, "cycles.new"), i, e)
		emit(r, RED, "+ cycle %s", json_string_value(e) ? json_string_value(e) : "?");
	json_array_foreach(hj_path(d, "cycles.resolved"), i, e)
		emit(r, GREEN, "- cycle %s", json_string_value(e) ? json_string_value(e) : "?");
	emit(r, NULL, "%zu new problems, %zu resolved, %zu resource changes, %zu units appeared, %zu gone",
	     hj_len(json_object_get(d, "new_problems")), hj_len(json_object_get(d, "resolved")),
	     hj_len(json_object_get(d, "resource_changes")), hj_len(json_object_get(d, "units_appeared")),
	     hj_len(json_object_get(d, "units_gone")));
}
