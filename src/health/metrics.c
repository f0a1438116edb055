// SPDX-License-Identifier: MIT
/*
 * The health report as Prometheus metrics (text format 0.0.4): one sample
 * per unit problem, per scored unit, per matched log pattern, and the
 * number of dependency cycles. Label values are escaped as the format
 * requires (backslash, double quote, newline).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "health/hjson.h"

static void put_label(FILE *out, const char *v)
{
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void problems(FILE *out, const json_t *r)
{
	static const char *const lists[] = { "failed", "flapping", "sockets", "timers", "states",
					     "dependency_failed" };
	char path[64];

	family(out, "aod_health_unit_problem", "gauge",
	       "1 for each problem of a unit in the latest health report");
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		size_t i;
		json_t *e;

		snprintf(path, sizeof(path), "units.%s", lists[l]);
		json_array_foreach(hj_path(r, path), i, e) {
			fputs("aod_health_unit_problem{unit=\"", out);
			put_label(out, hj_gets(e, "name"));
			fputs("\",problem=\"", out);
			put_label(out, hj_gets(e, "problem"));
			fputs("\"} 1\n", out);
		}
	}
}

static void scores(FILE *out, const json_t *r)
{
	size_t i;
	json_t *u;

	family(out, "aod_health_unit_anomaly_score", "gauge",
	       "Highest robust z-score of a unit's features against its history (absent while learning)");
	json_array_foreach(hj_path(r, "scores.units"), i, u) {
		double s = hj_getn(u, "score", NAN);

		if (!isfinite(s))
			continue;
		fputs("aod_health_unit_anomaly_score{unit=\"", out);
		put_label(out, hj_gets(u, "unit"));
		fprintf(out, "\"} %.6g\n", s);
	}
}

static void patterns(FILE *out, const json_t *r)
{
	size_t i;
	json_t *p;

	family(out, "aod_health_log_patterns_total", "counter",
	       "Log entries of this boot that matched the pattern, at the latest health report");
	json_array_foreach(hj_path(r, "logs.patterns"), i, p) {
		fputs("aod_health_log_patterns_total{pattern=\"", out);
		put_label(out, hj_gets(p, "name"));
		fprintf(out, "\"} %.0f\n", hj_getn(p, "count", 0));
	}
}

int aod_health_metrics_render(const json_t *report, FILE *out)
{
	if (!report)
		return 0;
	problems(out, report);
	scores(out, report);
	patterns(out, report);
	family(out, "aod_health_dependency_cycles", "gauge",
	       "Dependency cycles (Requires/Requisite/BindsTo/Wants) found by the latest health report");
	fprintf(out, "aod_health_dependency_cycles %.0f\n", hj_getn(hj_path(report, "deps"), "cycles_found", 0));
	return ferror(out) ? -EIO : 0;
}
