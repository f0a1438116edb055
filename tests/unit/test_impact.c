// SPDX-License-Identifier: MIT
/* aod impact: the statistics, the /proc parsers, the status reader, CSV and SVG writers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "impact/impact.h"
#include "impact/report.h"
#include "impact/runner.h"
#include "impact/sampler.h"
#include "impact/stats.h"
#include "impact/svg.h"

static void test_summary(void **state)
{
	const double odd[] = { 5, 1, 3, 2, 4 }, even[] = { 4, 1, 3, 2 };
	struct aod_impact_summary s;

	(void)state;
	aod_impact_summarize(odd, 5, &s);
	assert_int_equal(s.n, 5);
	assert_true(s.min == 1 && s.max == 5 && s.median == 3 && s.q1 == 2 && s.q3 == 4);
	aod_impact_summarize(even, 4, &s);
	assert_true(s.median == 2.5);                    /* between 2 and 3 */
	assert_true(s.q1 == 1.75 && s.q3 == 3.25);       /* type 7: 1 + 0.75, 3 + 0.25 */
	assert_true(odd[0] == 5);                        /* input left as it was */
	aod_impact_summarize(odd, 0, &s);
	assert_int_equal(s.n, 0);
	assert_true(s.median == 0);
}

static void test_verdicts(void **state)
{
	const double base[] = { 1.00, 1.04, 0.98, 1.02, 1.01 };
	const double same[] = { 1.01, 0.99, 1.03, 1.00, 1.02 };
	const double slow[] = { 1.20, 1.22, 1.19, 1.25, 1.21 };
	const double fast[] = { 0.90, 0.92, 0.91 };
	struct aod_impact_compare c;

	(void)state;
	aod_impact_compare(base, 5, same, 5, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_NOISE);
	assert_string_equal(aod_impact_verdict_name(c.verdict), "within noise");
	assert_true(c.ratio > 0.9999 && c.ratio < 1.0001); /* medians 1.01 and 1.01 */
	aod_impact_compare(base, 5, slow, 5, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_SLOWER);
	assert_true(c.ratio > 1.1979 && c.ratio < 1.1981); /* 1.21 / 1.01 */
	assert_true(c.spread > 0.0593 && c.spread < 0.0595); /* (1.04 - 0.98) / 1.01 */
	aod_impact_compare(base, 5, fast, 3, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_FASTER);
	aod_impact_compare(base, 1, slow, 1, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_TOO_FEW);
	/* the baseline spreads 0.06 (1.04 - 0.98): medians 0.059 apart are noise, 0.0605 not */
	aod_impact_compare(base, 5, (const double[]){ 1.069, 1.069, 1.069 }, 3, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_NOISE);
	aod_impact_compare(base, 5, (const double[]){ 1.0705, 1.0705, 1.0705 }, 3, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_SLOWER);
	aod_impact_compare(base, 5, (const double[]){ 0.9495, 0.9495, 0.9495 }, 3, &c);
	assert_int_equal(c.verdict, AOD_IMPACT_FASTER);
}

static void test_proc_parsers(void **state)
{
	/* a command name with spaces and a ')' of its own */
	const char *stat = "4242 (evil) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
			   "250 50 30 20 20 0 9 0 12345 1000000 200 18446744073709551615";
	const char *status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n";
	uint64_t kib = 0;
	double cpu = 0;

	(void)state;
	assert_int_equal(aod_impact_parse_stat(stat, 100, &cpu), 0);
	assert_true(cpu > 3.4999 && cpu < 3.5001); /* (250 + 50 + 30 + 20) / 100 */
	assert_int_not_equal(aod_impact_parse_stat("4242 no parens", 100, &cpu), 0);
	assert_int_not_equal(aod_impact_parse_stat("1 (x) S 1 2", 100, &cpu), 0);
	assert_int_equal(aod_impact_parse_status_rss(status, &kib), 0);
	assert_int_equal(kib, 12345);
	assert_int_not_equal(aod_impact_parse_status_rss("Name:\tkthreadd\n", &kib), 0);
	/* and on ourselves: /proc agrees with getrusage's order of magnitude */
	assert_int_equal(aod_impact_proc_rss(getpid(), &kib), 0);
	assert_true(kib > 100 && kib < 1024 * 1024);
	assert_int_equal(aod_impact_proc_cpu(getpid(), &cpu), 0);
	assert_true(cpu >= 0);
	assert_int_not_equal(aod_impact_proc_rss(0x7ffffff0, &kib), 0);
}

static void write_file(const char *path, size_t n)
{
	char buf[1000] = { 0 };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		assert_int_equal(write(fd, buf, k), (ssize_t)k);
		n -= k;
	}
	close(fd);
}

static void test_dir_bytes(void **state)
{
	char dir[] = "/tmp/aod-impact-test.XXXXXX", p[128];
	uint64_t bytes = 1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/a", dir);
	write_file(p, 1234);
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/b", dir);
	write_file(p, 4321);
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0); /* not followed: 0 bytes */
	assert_int_equal(aod_impact_dir_bytes(dir, &bytes), 0);
	assert_int_equal(bytes, 1234 + 4321);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub/b", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a", dir);
	unlink(p);
	rmdir(dir);
	assert_int_equal(aod_impact_dir_bytes(dir, &bytes), 0); /* gone: 0 bytes */
	assert_int_equal(bytes, 0);
}

static void test_status_losses(void **state)
{
	const char *json = "{\"probes\": [{\"name\": \"smb\", \"counters\": {\"ringbuf_drops\": 3, "
			   "\"inflight_full\": 1}}, {\"name\": \"block\", \"counters\": "
			   "{\"ringbuf_drops\": 4, \"inflight_full\": 0}}], \"dispatcher\": "
			   "{\"events_decoded\": 99, \"event_queue_overflows\": 5, "
			   "\"flight_recorder_overwritten\": 6}, \"detector\": {\"window_dropped\": 7}, "
			   "\"anomalies\": {\"queue_overflows\": 8}, \"store\": {\"lost\": 9}}";
	struct aod_impact_run r = { 0 };

	(void)state;
	assert_int_equal(aod_impact_parse_status(json, &r), 0);
	assert_int_equal(r.loss[AOD_LOSS_RINGBUF], 7);
	assert_int_equal(r.loss[AOD_LOSS_INFLIGHT_FULL], 1);
	assert_int_equal(r.loss[AOD_LOSS_EVENT_QUEUE], 5);
	assert_int_equal(r.loss[AOD_LOSS_FLIGHT_RECORDER], 6);
	assert_int_equal(r.loss[AOD_LOSS_WINDOW], 7);
	assert_int_equal(r.loss[AOD_LOSS_ANOMALY_QUEUE], 8);
	assert_int_equal(r.loss[AOD_LOSS_STORE], 9);
	assert_int_equal(r.events_decoded, 99);
	assert_int_not_equal(aod_impact_parse_status("not json", &r), 0);
}

/* Four runs A B A B; the with-agent runs have samples: CPU 0.05 s per 0.2 s = 25%. */
static void make_runs(struct aod_impact_run runs[4], struct aod_impact_sample s[2][6],
		      double slow)
{
	memset(runs, 0, 4 * sizeof(*runs));
	for (unsigned i = 0; i < 4; i++) {
		runs[i].index = i + 1;
		runs[i].with_agent = i % 2;
		runs[i].iterations = 2;
		runs[i].wall_s = (i % 2 ? slow : 1.0) * 2 * (1 + 0.01 * i);
		runs[i].user_s = 1.5;
		runs[i].sys_s = 0.1;
	}
	for (int k = 0; k < 2; k++) {
		for (int j = 0; j < 6; j++)
			s[k][j] = (struct aod_impact_sample){ 0.2 * j, 0.05 * j, 10240 + 1024 * j };
		runs[2 * k + 1].samples = s[k];
		runs[2 * k + 1].nsamples = 6;
		runs[2 * k + 1].agent_cpu_s = 0.25;
		runs[2 * k + 1].agent_rss_max_kib = 15360;
		runs[2 * k + 1].agent_pid = 1000 + k;
		runs[2 * k + 1].loss[AOD_LOSS_RINGBUF] = 2;
	}
}

static char *capture(void (*fn)(FILE *, const struct aod_impact_run *, size_t, void *),
		     const struct aod_impact_run *runs, size_t n, void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, runs, n, arg);
	fclose(f);
	return buf;
}

static void text_fn(FILE *f, const struct aod_impact_run *r, size_t n, void *arg)
{
	aod_impact_report_text(f, "work --x", r, n, 0);
}

static void csv_fn(FILE *f, const struct aod_impact_run *r, size_t n, void *arg)
{
	aod_impact_report_csv(f, r, n);
}

static void svg_fn(FILE *f, const struct aod_impact_run *r, size_t n, void *arg)
{
	assert_int_equal(aod_impact_svg(f, arg, r, n), 0);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_text_report(void **state)
{
	struct aod_impact_run runs[4];
	struct aod_impact_sample s[2][6];
	char *t;

	(void)state;
	make_runs(runs, s, 1.0);
	t = capture(text_fn, runs, 4, NULL);
	assert_non_null(strstr(t, "2 runs without and 2 with the agent"));
	assert_non_null(strstr(t, "verdict: within noise"));
	/* agent CPU: 0.5 s over 2 * 2.02.. s of workload; peak 25% */
	assert_non_null(strstr(t, "peak 25.0%"));
	assert_non_null(strstr(t, "ringbuf_drops 4"));
	free(t);
	make_runs(runs, s, 1.5);
	t = capture(text_fn, runs, 4, NULL);
	assert_non_null(strstr(t, "verdict: slower"));
	assert_non_null(strstr(t, "ratio with/without (medians): 1.515")); /* 1.53 / 1.01 */
	assert_non_null(strstr(t, "without agent: median 1.0100  IQR 1.0050-1.0150  min-max "
				  "1.0000-1.0200  (2 runs)"));
	free(t);
}

static void test_csv(void **state)
{
	struct aod_impact_run runs[4];
	struct aod_impact_sample s[2][6];
	size_t ncols = count(AOD_IMPACT_CSV_HEADER, ",") + 1, lines = 0, nrun = 0, nsample = 0;
	char *t, *line, *save = NULL;

	(void)state;
	make_runs(runs, s, 1.0);
	t = capture(csv_fn, runs, 4, NULL);
	assert_int_equal(ncols, 27);
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(count(line, ",") + 1, ncols);
		if (lines++ == 0)
			assert_string_equal(line, AOD_IMPACT_CSV_HEADER);
		else if (!strncmp(line, "run,", 4))
			nrun++;
		else if (!strncmp(line, "sample,", 7))
			nsample++;
		else
			fail_msg("unexpected line %s", line);
	}
	assert_int_equal(nrun, 4);
	assert_int_equal(nsample, 12);
	free(t);
}

static void test_svg(void **state)
{
	struct aod_impact_run runs[4];
	struct aod_impact_sample s[2][6];
	char *t;

	(void)state;
	make_runs(runs, s, 1.3);
	t = capture(svg_fn, runs, 4, "dd <if>&\x1b[2J");
	assert_true(!strncmp(t, "<?xml version=\"1.0\"", 19));
	assert_non_null(strstr(t, "</svg>\n"));
	assert_int_equal(count(t, "<polyline class=\"cpu\""), 2);
	assert_int_equal(count(t, "<polyline class=\"rss\""), 2);
	assert_int_equal(count(t, "<rect class=\"without\""), 2);
	assert_int_equal(count(t, "<rect class=\"with\""), 2);
	assert_non_null(strstr(t, "data-run=\"2\" data-wall-s=\"1.3130"));  /* 1.3 * 1.01 */
	assert_non_null(strstr(t, "CPU (% of one core)"));
	assert_non_null(strstr(t, "RSS (MiB)"));
	assert_non_null(strstr(t, "wall time (s)"));
	/* the title escaped for XML and for people */
	assert_non_null(strstr(t, "dd &lt;if&gt;&amp;\\x1b[2J"));
	assert_null(strchr(t, '\x1b'));
	free(t);
	assert_true(aod_impact_tick_step(10, 5) == 2);
	assert_true(aod_impact_tick_step(0.7, 5) == 0.2);
	assert_true(aod_impact_tick_step(260, 5) == 100);
}

static void test_resolve(void **state)
{
	char out[256];

	(void)state;
	setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
	assert_int_equal(aod_impact_resolve_exe("true", out, sizeof(out)), 0);
	assert_true(!strcmp(out, "/bin/true") || !strcmp(out, "/usr/bin/true"));
	assert_int_equal(aod_impact_resolve_exe("no-such-cmd-aod", out, sizeof(out)), -ENOENT);
	assert_int_equal(aod_impact_resolve_exe("/etc/passwd", out, sizeof(out)), -EACCES);
	assert_int_equal(aod_impact_resolve_exe("", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),      cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_proc_parsers), cmocka_unit_test(test_dir_bytes),
		cmocka_unit_test(test_status_losses), cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_csv),          cmocka_unit_test(test_svg),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
