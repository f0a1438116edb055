// SPDX-License-Identifier: MIT
/*
 * The procexit rule without a kernel: its config (commands, exit_codes,
 * signals; every malformed form names where and what was expected; the
 * proc probe it needs), the check-config round trip, which exits count,
 * the detector's window on failed exits and the event codec for proc_exit.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/evjson.h"
#include "config/config.h"
#include "detect/detector.h"

#define SEC 1000000000ULL

#define HEAD "watch_interval_sec: 5\naod_output_dir: /tmp/aod-test\n"
#define RULE_BODY "guardian:\n  anomalies:\n    builds:\n      type: Error\n      tool: procexit\n" \
		  "      acceptable_count: 3\n"
#define RULE HEAD RULE_BODY

static struct aod_config *load_ok(const char *yaml)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_config_error err;

	assert_non_null(cfg);
	if (aod_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), &err))
		fail_msg("config does not load: %s", err.msg);
	return cfg;
}

static void load_fails(const char *yaml, const char *expect)
{
	struct aod_config *cfg = malloc(sizeof(*cfg));
	struct aod_config_error err;

	assert_non_null(cfg);
	assert_int_equal(aod_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), &err), -EINVAL);
	if (!strstr(err.msg, expect))
		fail_msg("message '%s' lacks '%s'", err.msg, expect);
	free(cfg);
}

/* ---- config ---- */

static const char full_yaml[] = RULE
	"      commands: [\"make\", \"cc*\"]\n"
	"      exit_codes: [1, 2]\n"
	"      signals: [SIGSEGV, kill, 6]\n";

static void test_config_procexit(void **st)
{
	struct aod_config *cfg = load_ok(full_yaml);
	const struct aod_rule *r = &cfg->rules[0];

	(void)st;
	assert_int_equal(cfg->nrules, 1);
	assert_int_equal(r->tool, AOD_TOOL_PROCEXIT);
	assert_int_equal(r->type, AOD_RULE_ERROR);
	assert_int_equal(r->source, AOD_SOURCE_PROC);
	assert_int_equal(r->acceptable_count, 3);
	assert_int_equal(r->ncommands, 2);
	assert_string_equal(r->commands[1], "cc*");
	assert_false(r->all_exit_codes);
	assert_false(r->all_signals);
	assert_true(r->exit_codes[1] && r->exit_codes[2] && !r->exit_codes[3]);
	assert_true(r->signals[SIGSEGV] && r->signals[SIGKILL] && r->signals[SIGABRT]);
	assert_false(r->signals[SIGTERM]);
	free(cfg);

	/* nothing but the required keys: every command, code and signal */
	cfg = load_ok(RULE);
	r = &cfg->rules[0];
	assert_int_equal(r->ncommands, 0);
	assert_true(r->all_exit_codes && r->all_signals);
	free(cfg);
}

static void test_config_procexit_matching(void **st)
{
	struct aod_config *cfg = load_ok(full_yaml), *any = load_ok(RULE);
	const struct aod_rule *r = &cfg->rules[0], *a = &any->rules[0];

	(void)st;
	assert_true(aod_rule_proc_exit_counts(r, "make", 2, 0));
	assert_true(aod_rule_proc_exit_counts(r, "cc1plus", 1, 0)); /* cc* */
	assert_true(aod_rule_proc_exit_counts(r, "make", 0, SIGKILL));
	assert_false(aod_rule_proc_exit_counts(r, "make", 0, 0));      /* exit 0 never counts */
	assert_false(aod_rule_proc_exit_counts(r, "make", 3, 0));      /* not listed */
	assert_false(aod_rule_proc_exit_counts(r, "make", 0, SIGTERM)); /* not listed */
	assert_false(aod_rule_proc_exit_counts(r, "gmake", 1, 0));     /* no glob names it */
	assert_false(aod_rule_proc_exit_counts(r, "xcc", 1, 0));
	assert_true(aod_rule_proc_exit_counts(a, "anything", 255, 0));
	assert_true(aod_rule_proc_exit_counts(a, "anything", 0, 64));
	assert_false(aod_rule_proc_exit_counts(a, "anything", 0, 0));
	/* a comm of exactly 16 bytes (not NUL-terminated in the event) */
	assert_true(aod_rule_proc_exit_counts(a, "0123456789abcdef", 1, 0));
	free(cfg);
	free(any);
}

/* Only the listed kind of outcome counts when the other list is empty. */
static void test_config_procexit_signals_only(void **st)
{
	struct aod_config *cfg = load_ok(RULE "      exit_codes: []\n");
	const struct aod_rule *r = &cfg->rules[0];

	(void)st;
	assert_false(aod_rule_proc_exit_counts(r, "x", 1, 0));
	assert_true(aod_rule_proc_exit_counts(r, "x", 0, SIGSEGV));
	free(cfg);
}

static void test_config_procexit_errors(void **st)
{
	(void)st;
	load_fails(RULE "      signals: [SIGSEGVV]\n",
		   "t.yaml:9:17: guardian.anomalies.builds.signals[0]: expected a signal name "
		   "(SIGKILL, SEGV, ...) or number 1..64, got 'SIGSEGVV'; did you mean 'SIGSEGV'?");
	load_fails(RULE "      signals: [65]\n",
		   "guardian.anomalies.builds.signals[0]: expected an integer >= 1 and <= 64, got '65'");
	load_fails(RULE "      signals: KILL\n",
		   "guardian.anomalies.builds.signals: expected a list of signals, got 'KILL'");
	load_fails(RULE "      exit_codes: [0]\n",
		   "t.yaml:9:20: guardian.anomalies.builds.exit_codes[0]: expected an integer >= 1 "
		   "and <= 255, got '0'");
	load_fails(RULE "      exit_codes: [one]\n", "guardian.anomalies.builds.exit_codes[0]: expected an integer");
	load_fails(RULE "      exit_codes: []\n      signals: []\n",
		   "guardian.anomalies.builds: No items to track for anomaly 'builds' after "
		   "applying config logic (exit_codes and signals are both empty)");
	load_fails(RULE "      commands: make\n",
		   "guardian.anomalies.builds.commands: expected a list of command names or globs, got 'make'");
	load_fails(RULE "      commands: [\"\"]\n",
		   "guardian.anomalies.builds.commands[0]: expected a command name or glob");
	load_fails(RULE "      commands: [averyveryverylongname]\n",
		   "guardian.anomalies.builds.commands[0]: 'averyveryverylongname' is 21 bytes; "
		   "expected at most 15 (the kernel's comm, cut at 15: use 'averyveryverylo' or a glob)");
	load_fails(RULE "      commands: [\"a\\tb\"]\n",
		   "guardian.anomalies.builds.commands[0]: expected a command name or glob without "
		   "control characters (byte 1 is 0x09)");
	load_fails(RULE "      commands: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q]\n",
		   "guardian.anomalies.builds.commands: expected at most 16 command names or globs, got 17");
	load_fails(RULE "      mode: trackonly\n",
		   "guardian.anomalies.builds.mode: not valid for tool procexit; expected one of: "
		   "type, tool, acceptable_count, holdoff_sec, commands, exit_codes, signals, actions");
	load_fails(RULE "      track_codes: [EIO]\n", "track_codes: not valid for tool procexit");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: procexit, acceptable_count: 1}\n",
		   "expected a Latency tool (smbslower, biolatency or tcpconnlat) for type Latency, "
		   "got 'procexit' (an Error tool)");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Error, tool: procexti, acceptable_count: 1}\n",
		   "did you mean 'procexit'?");
	load_fails(HEAD "probes: {proc: off}\n" RULE_BODY,
		   "t.yaml:3:9: probes.proc: is off, but rule 'builds' (tool procexit) needs the proc "
		   "probe; expected auto or on");
	load_fails(HEAD "probes: {proc: {enabled: false}}\n" RULE_BODY,
		   "probes.proc: is off, but rule 'builds' (tool procexit) needs the proc probe");
}

/* What check-config prints loads again and means the same. */
static void test_config_procexit_round_trip(void **st)
{
	struct aod_config *cfg = load_ok(full_yaml), *again;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)st;
	assert_int_equal(aod_config_print(cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "      commands: [\"make\", \"cc*\"]\n"));
	assert_non_null(strstr(text, "      exit_codes: [1, 2]\n"));
	assert_non_null(strstr(text, "      signals: [6, 9, 11]\n"));
	assert_null(strstr(text, "      mode:"));
	again = load_ok(text);
	assert_int_equal(again->rules[0].tool, AOD_TOOL_PROCEXIT);
	assert_int_equal(again->rules[0].ncommands, 2);
	assert_memory_equal(again->rules[0].exit_codes, cfg->rules[0].exit_codes,
			    sizeof(cfg->rules[0].exit_codes));
	assert_memory_equal(again->rules[0].signals, cfg->rules[0].signals,
			    sizeof(cfg->rules[0].signals));
	assert_false(again->rules[0].all_exit_codes || again->rules[0].all_signals);
	free(text);
	free(cfg);
	free(again);
}

/* ---- detector ---- */

struct fired {
	int n;
	struct aod_anomaly a[4];
};

static void on_anomaly(const struct aod_anomaly *a, void *ctx)
{
	struct fired *f = ctx;

	if (f->n < 4)
		f->a[f->n] = *a;
	f->n++;
}

static struct aod_event exit_event(const char *comm, uint32_t tgid, int code, int sig,
				   uint64_t mono)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = AOD_EVENT_PROC_EXIT;
	ev.mono_ns = mono;
	ev.wall_ns = 1700000000 * SEC + mono;
	ev.pid = ev.tgid = tgid;
	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	ev.proc.start_ns = mono - SEC / 10;
	ev.proc.duration_ns = SEC / 10;
	ev.proc.exit_code = code;
	ev.proc.signal = sig;
	return ev;
}

static void add(struct aod_detector *d, const char *comm, uint32_t tgid, int code, int sig,
		uint64_t mono)
{
	struct aod_event ev = exit_event(comm, tgid, code, sig, mono);

	aod_detector_add(d, &ev);
}

/* N failing exits within W fire at the Nth; exit 0 and other commands never count. */
static void test_detector_procexit(void **st)
{
	struct aod_config *cfg = load_ok(RULE "      commands: [make]\n");
	struct fired *f = calloc(1, sizeof(*f));
	struct aod_detector *d = aod_detector_new(cfg, on_anomaly, f);

	(void)st;
	assert_non_null(d);
	/* any number of clean exits and of other commands' failures: nothing */
	for (int i = 0; i < 20; i++) {
		add(d, "make", 100 + (uint32_t)i, 0, 0, 10 * SEC + (uint64_t)i);
		add(d, "cc", 200 + (uint32_t)i, 1, 0, 10 * SEC + (uint64_t)i);
		add(d, "cc", 300 + (uint32_t)i, 0, SIGKILL, 10 * SEC + (uint64_t)i);
	}
	assert_int_equal(f->n, 0);
	/* two failures in the window: N - 1, nothing */
	add(d, "make", 401, 2, 0, 11 * SEC);
	add(d, "make", 402, 0, SIGSEGV, 12 * SEC);
	assert_int_equal(f->n, 0);
	/* the third, 6 s after the first: the first has left the 5 s window */
	add(d, "make", 403, 1, 0, 16 * SEC);
	assert_int_equal(f->n, 0);
	/* the fourth: three within 5 s (12, 16, 16.5): fires now */
	add(d, "make", 404, 1, 0, 16 * SEC + SEC / 2);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->a[0].rule, "builds");
	assert_int_equal(f->a[0].source, AOD_SOURCE_PROC);
	assert_int_equal(f->a[0].type, AOD_RULE_ERROR);
	assert_int_equal(f->a[0].total, 3);
	assert_int_equal(f->a[0].nworst, 3);
	assert_int_equal(f->a[0].worst[0].tgid, 402);
	assert_string_equal(f->a[0].worst[0].comm, "make");
	assert_int_equal(f->a[0].worst[0].proc.signal, SIGSEGV);
	assert_int_equal(f->a[0].nkeys, 2); /* "make SIGSEGV", "make exit 1" */
	for (uint32_t i = 0; i < f->a[0].nkeys; i++) {
		if (!strcmp(f->a[0].keys[i].key, "make exit 1"))
			assert_int_equal(f->a[0].keys[i].count, 2);
		else if (!strcmp(f->a[0].keys[i].key, "make SIGSEGV"))
			assert_int_equal(f->a[0].keys[i].count, 1);
		else
			fail_msg("unexpected key '%s'", f->a[0].keys[i].key);
	}
	aod_detector_free(d);
	free(f);
	free(cfg);
}

/* The window is the same sliding window as the other rules': exactly N fire. */
static void test_detector_procexit_exactly_n(void **st)
{
	struct aod_config *cfg = load_ok(RULE);
	struct fired *f = calloc(1, sizeof(*f));
	struct aod_detector *d = aod_detector_new(cfg, on_anomaly, f);

	(void)st;
	add(d, "false", 1, 1, 0, 1 * SEC);
	add(d, "false", 2, 1, 0, 2 * SEC);
	assert_int_equal(f->n, 0);
	add(d, "false", 3, 1, 0, 3 * SEC);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->a[0].total, 3);
	aod_detector_free(d);
	free(f);
	free(cfg);
}

/* ---- the event codec ---- */

static void test_codec_proc_exit(void **st)
{
	struct aod_event ev = exit_event("ma\x1bke", 4242, 0, SIGABRT, 5 * SEC), back;
	json_t *o, *again;
	json_error_t jerr;
	char *text, err[256];

	(void)st;
	ev.proc.core_dumped = 1;
	o = aod_event_to_json(&ev);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	assert_non_null(strstr(text, "\"kind\":\"proc_exit\""));
	assert_non_null(strstr(text, "\"signal\":6"));
	again = json_loads(text, 0, &jerr);
	if (aod_event_from_json(again, &back, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	assert_int_equal(back.kind, AOD_EVENT_PROC_EXIT);
	assert_memory_equal(&back.proc, &ev.proc, sizeof(back.proc));
	assert_int_equal(back.tgid, 4242);
	free(text);
	json_decref(o);
	json_decref(again);

	again = json_loads("{\"kind\":\"proc_exit\",\"mono_ns\":1,\"wall_ns\":1,\"pid\":1,\"tgid\":1,"
			   "\"comm\":\"x\",\"start_ns\":1,\"duration_ns\":1,\"exit_code\":300,\"signal\":0}",
			   0, &jerr);
	assert_int_not_equal(aod_event_from_json(again, &back, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "field 'exit_code': expected an integer in 0..255, got 300"));
	json_decref(again);
	again = json_loads("{\"kind\":\"proc_exit\",\"mono_ns\":1,\"wall_ns\":1,\"pid\":1,\"tgid\":1,"
			   "\"comm\":\"x\",\"start_ns\":1,\"duration_ns\":1,\"exit_code\":1,\"signal\":0,"
			   "\"latency_ns\":5}", 0, &jerr);
	assert_int_not_equal(aod_event_from_json(again, &back, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "unknown field 'latency_ns' for kind proc_exit"));
	json_decref(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_procexit),
		cmocka_unit_test(test_config_procexit_matching),
		cmocka_unit_test(test_config_procexit_signals_only),
		cmocka_unit_test(test_config_procexit_errors),
		cmocka_unit_test(test_config_procexit_round_trip),
		cmocka_unit_test(test_detector_procexit),
		cmocka_unit_test(test_detector_procexit_exactly_n),
		cmocka_unit_test(test_codec_proc_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
