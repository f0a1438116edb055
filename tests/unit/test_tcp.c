// SPDX-License-Identifier: MIT
/*
 * The TCP pieces without a kernel: tcpconnlat/tcpretrans/tcpreset rules and
 * the probes section in the config, the TCP knobs, the detector on TCP
 * events, the event codec (round trip and strict decoding), endpoint names
 * and anomaly keys, /proc/net/netstat parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/evjson.h"
#include "config/config.h"
#include "detect/detector.h"
#include "detect/tcp_event.h"
#include "probe/knobs.h"
#include "probe/tcp_listen.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

#define HEAD "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n"

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
	struct aod_config cfg;
	struct aod_config_error err;

	assert_int_equal(aod_config_load_buffer(&cfg, "t.yaml", yaml, strlen(yaml), &err), -EINVAL);
	if (!strstr(err.msg, expect))
		fail_msg("message '%s' lacks '%s'", err.msg, expect);
}

static const char connlat_yaml[] =
	HEAD "guardian:\n  anomalies:\n"
	"    slow_connect:\n      type: Latency\n      tool: tcpconnlat\n"
	"      acceptable_count: 2\n      default_threshold_ms: 50\n"
	"      track_ports: [{port: 443, threshold: 100}, 8080]\n"
	"      exclude_ports: [22]\n"
	"    retrans: {type: Error, tool: tcpretrans, acceptable_count: 10}\n"
	"    resets: {type: Error, tool: tcpreset, acceptable_count: 3}\n";

static void test_config_tcp_rules(void **st)
{
	struct aod_config *cfg = load_ok(connlat_yaml);
	const struct aod_rule *r = &cfg->rules[0];
	uint64_t t = 0;

	(void)st;
	assert_int_equal(cfg->nrules, 3);
	assert_int_equal(r->tool, AOD_TOOL_TCPCONNLAT);
	assert_int_equal(r->source, AOD_SOURCE_TCP);
	assert_int_equal(r->type, AOD_RULE_LATENCY);
	assert_true(aod_rule_tcp_threshold(r, 443, &t));
	assert_int_equal(t, 100 * MS);
	assert_true(aod_rule_tcp_threshold(r, 8080, &t));
	assert_int_equal(t, 50 * MS); /* listed without a threshold: the default */
	assert_true(aod_rule_tcp_threshold(r, 5432, &t));
	assert_int_equal(t, 50 * MS);
	assert_false(aod_rule_tcp_threshold(r, 22, &t));
	assert_false(aod_rule_tcp_threshold(&cfg->rules[1], 443, &t)); /* not a latency tool */
	assert_int_equal(cfg->rules[1].tool, AOD_TOOL_TCPRETRANS);
	assert_int_equal(cfg->rules[2].tool, AOD_TOOL_TCPRESET);
	assert_int_equal(cfg->rules[2].source, AOD_SOURCE_TCP);
	assert_int_equal(cfg->probes.tcp, AOD_PROBE_AUTO);
	free(cfg);
}

/* What check-config prints loads again and means the same. */
static void test_config_tcp_print_round_trip(void **st)
{
	struct aod_config *cfg = load_ok(connlat_yaml), *again;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t t = 0;

	(void)st;
	assert_int_equal(aod_config_print(cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "tool: tcpconnlat"));
	assert_non_null(strstr(text, "probes:\n  smb: auto\n  block: auto\n  tcp: auto\n"));
	again = load_ok(text);
	assert_int_equal(again->nrules, 3);
	assert_true(aod_rule_tcp_threshold(&again->rules[0], 443, &t));
	assert_int_equal(t, 100 * MS);
	assert_false(aod_rule_tcp_threshold(&again->rules[0], 22, &t));
	assert_int_equal(again->rules[2].tool, AOD_TOOL_TCPRESET);
	free(text);
	free(cfg);
	free(again);
}

static void test_config_tcp_errors(void **st)
{
	(void)st;
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpconnlt, acceptable_count: 1}\n",
		   "did you mean 'tcpconnlat'?");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpretrans, acceptable_count: 1}\n",
		   "expected a Latency tool (smbslower, biolatency or tcpconnlat)");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Error, tool: tcpconnlat, acceptable_count: 1}\n",
		   "expected an Error tool (smbiosnoop, bioerror, tcpretrans, tcpreset or procexit)");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpconnlat, acceptable_count: 1,"
		   " track_ports: [70000]}\n",
		   "t.yaml:5:77: guardian.anomalies.x.track_ports[0]: expected an integer >= 1 and <= 65535, got '70000'");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpconnlat, acceptable_count: 1,"
		   " track_ports: [{prot: 443}]}\n", "did you mean 'port'?");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpconnlat, acceptable_count: 1,"
		   " track_ports: [443], exclude_ports: [443]}\n", "port 443 is also in the track list");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: tcpconnlat, acceptable_count: 1,"
		   " mode: trackonly}\n", "mode trackonly needs a non-empty track_ports");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Error, tool: tcpreset, acceptable_count: 1,"
		   " track_codes: [EIO]}\n", "not valid for tool tcpreset");
	load_fails(HEAD "guardian:\n  anomalies:\n    x: {type: Latency, tool: biolatency, acceptable_count: 1,"
		   " track_ports: [443]}\n", "not valid for tool biolatency");
	load_fails(HEAD "probes: {tcp: of}\n", "probes.tcp: expected auto, on or off, got 'of'; did you mean 'on'?");
	load_fails(HEAD "probes: {tpc: on}\n", "did you mean 'tcp'?");
	load_fails(HEAD "probes: {tcp: off}\nguardian:\n  anomalies:\n"
		   "    r: {type: Error, tool: tcpreset, acceptable_count: 1}\n",
		   "probes.tcp: is off, but rule 'r' (tool tcpreset) needs the tcp probe");
}

static void test_knobs_tcp(void **st)
{
	struct aod_config *cfg = load_ok(
		HEAD "guardian:\n  anomalies:\n"
		"    a: {type: Latency, tool: tcpconnlat, acceptable_count: 1, default_threshold_ms: 50,"
		" track_ports: [{port: 443, threshold: 100}, {port: 80, threshold: 20}], exclude_ports: [22]}\n"
		"    b: {type: Latency, tool: tcpconnlat, mode: trackonly, acceptable_count: 1,"
		" track_ports: [{port: 443, threshold: 30}]}\n"
		"    c: {type: Error, tool: tcpreset, acceptable_count: 1}\n");
	struct aod_tcp_knob_set k;
	uint64_t p443 = 0, p80 = 0, p22 = 0;

	(void)st;
	aod_knobs_tcp(cfg, false, &k);
	assert_true(k.needed);
	assert_int_equal(k.k.connect_threshold_ns, 50 * MS); /* b tracks only 443 */
	assert_int_equal(k.k.enabled_reset, 1);
	assert_int_equal(k.k.enabled_retrans, 0);
	assert_int_equal(k.k.emergency_ns, 1000 * MS);
	for (uint32_t i = 0; i < k.nport; i++) {
		if (k.port[i].port == 443)
			p443 = k.port[i].thresh_ns;
		if (k.port[i].port == 80)
			p80 = k.port[i].thresh_ns;
		if (k.port[i].port == 22)
			p22 = k.port[i].thresh_ns;
	}
	assert_int_equal(k.nport, 3);
	assert_int_equal(p443, 30 * MS);     /* the lower of a's 100 and b's 30 */
	assert_int_equal(p80, 20 * MS);
	assert_int_equal(p22, AOD_THRESH_OFF); /* excluded by a, not tracked by b */
	aod_knobs_tcp(cfg, true, &k);
	assert_int_equal(k.k.connect_threshold_ns, 0);
	assert_int_equal(k.k.enabled_retrans, 1);
	free(cfg);

	cfg = load_ok(HEAD);
	aod_knobs_tcp(cfg, false, &k);
	assert_false(k.needed); /* auto, no rule */
	assert_int_equal(k.k.connect_threshold_ns, AOD_THRESH_OFF);
	free(cfg);
	cfg = load_ok(HEAD "probes: {tcp: on, block: off}\n");
	aod_knobs_tcp(cfg, false, &k);
	assert_true(k.needed);               /* histograms without a rule */
	assert_int_equal(k.k.connect_threshold_ns, AOD_THRESH_OFF); /* but no events */
	assert_int_equal(k.k.enabled_reset, 0);
	{
		struct aod_blk_knob_set *b = malloc(sizeof(*b));

		aod_knobs_blk(cfg, true, "/nonexistent", b);
		assert_false(b->needed); /* off wins even over aod record */
		free(b);
	}
	free(cfg);
}

/* ---- events ---- */

static struct aod_event tcp_event(enum aod_event_kind kind, uint64_t mono)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.mono_ns = mono;
	ev.wall_ns = 1795459679000000000ULL + mono;
	ev.pid = ev.tgid = 77;
	snprintf(ev.comm, sizeof(ev.comm), "curl");
	ev.tcp.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", ev.tcp.laddr);
	inet_pton(AF_INET, "10.0.0.2", ev.tcp.raddr);
	ev.tcp.lport = 40000;
	ev.tcp.rport = 443;
	if (kind == AOD_EVENT_TCP_CONNECT)
		ev.tcp.latency_ns = 120 * MS;
	if (kind == AOD_EVENT_TCP_RETRANS) {
		ev.tcp.state = 1;
		ev.tcp.segs = 2;
	}
	if (kind == AOD_EVENT_TCP_RESET)
		ev.tcp.dir = AOD_TCP_DIR_RECEIVED;
	return ev;
}

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

static void test_detector_tcp(void **st)
{
	struct aod_config *cfg = load_ok(connlat_yaml);
	struct fired *f = calloc(1, sizeof(*f));
	struct aod_detector *d = aod_detector_new(cfg, on_anomaly, f);
	struct aod_event ev;

	(void)st;
	assert_non_null(d);
	/* 443: threshold 100 ms; 80 ms does not count, 120 ms does (twice fires) */
	ev = tcp_event(AOD_EVENT_TCP_CONNECT, 1 * SEC);
	ev.tcp.latency_ns = 80 * MS;
	aod_detector_add(d, &ev);
	ev = tcp_event(AOD_EVENT_TCP_CONNECT, 1 * SEC + 1);
	ev.tcp.rport = 22; /* excluded */
	aod_detector_add(d, &ev);
	assert_int_equal(f->n, 0);
	ev = tcp_event(AOD_EVENT_TCP_CONNECT, 1 * SEC + 2);
	aod_detector_add(d, &ev);
	assert_int_equal(f->n, 0);
	ev = tcp_event(AOD_EVENT_TCP_CONNECT, 1 * SEC + 3);
	aod_detector_add(d, &ev);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->a[0].source, AOD_SOURCE_TCP);
	assert_int_equal(f->a[0].type, AOD_RULE_LATENCY);
	assert_int_equal(f->a[0].total, 2);
	assert_string_equal(f->a[0].keys[0].key, "10.0.0.2:443");
	assert_int_equal(f->a[0].keys[0].threshold_ns, 100 * MS);
	assert_string_equal(f->a[0].rule, "slow_connect");

	/* resets: 3 in a window fire "resets"; retransmits never count for it */
	for (int i = 0; i < 9; i++) {
		ev = tcp_event(AOD_EVENT_TCP_RETRANS, 3 * SEC + (uint64_t)i);
		aod_detector_add(d, &ev);
	}
	assert_int_equal(f->n, 1); /* 9 < 10 */
	for (int i = 0; i < 3; i++) {
		ev = tcp_event(AOD_EVENT_TCP_RESET, 3 * SEC + 100 + (uint64_t)i);
		aod_detector_add(d, &ev);
	}
	assert_int_equal(f->n, 2);
	assert_string_equal(f->a[1].rule, "resets");
	assert_int_equal(f->a[1].type, AOD_RULE_ERROR);
	assert_int_equal(f->a[1].total, 3);
	ev = tcp_event(AOD_EVENT_TCP_RETRANS, 3 * SEC + 200);
	aod_detector_add(d, &ev);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->a[2].rule, "retrans");
	assert_int_equal(f->a[2].total, 10);
	aod_detector_free(d);
	free(f);
	free(cfg);
}

static void round_trip(const struct aod_event *ev)
{
	json_t *o = aod_event_to_json(ev), *again;
	char *text, err[256];
	struct aod_event back;
	json_error_t jerr;

	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	again = json_loads(text, 0, &jerr);
	if (aod_event_from_json(again, &back, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	assert_int_equal(back.kind, ev->kind);
	assert_memory_equal(&back.tcp, &ev->tcp, sizeof(back.tcp));
	assert_int_equal(back.mono_ns, ev->mono_ns);
	free(text);
	json_decref(o);
	json_decref(again);
}

static void test_evjson_tcp(void **st)
{
	struct aod_event ev = tcp_event(AOD_EVENT_TCP_RESET, 5);
	json_t *o;

	(void)st;
	round_trip(&ev);
	ev.tcp.dir = AOD_TCP_DIR_SENT;
	ev.tcp.state = 0; /* no socket: no state */
	round_trip(&ev);
	ev = tcp_event(AOD_EVENT_TCP_RETRANS, 6);
	round_trip(&ev);
	ev = tcp_event(AOD_EVENT_TCP_CONNECT, 7);
	ev.tcp.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", ev.tcp.laddr);
	inet_pton(AF_INET6, "::1", ev.tcp.raddr);
	round_trip(&ev);
	o = aod_event_to_json(&ev);
	assert_string_equal(json_string_value(json_object_get(o, "raddr")), "::1");
	assert_string_equal(json_string_value(json_object_get(o, "family")), "ipv6");
	json_decref(o);
}

static int decode(const char *text, char *err, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	struct aod_event ev;
	int rc;

	assert_non_null(o);
	rc = aod_event_from_json(o, &ev, err, len);
	json_decref(o);
	return rc;
}

#define TCP_COMMON "\"kind\":\"tcp_reset\",\"mono_ns\":5,\"wall_ns\":6,\"pid\":1,\"tgid\":1,\"comm\":\"x\","

static void expect_bad(const char *text, const char *msg)
{
	char err[256] = "";

	assert_int_equal(decode(text, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("'%s' lacks '%s'", err, msg);
}

static void test_evjson_tcp_strict(void **st)
{
	char err[256];

	(void)st;
	assert_int_equal(decode("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"127.0.0.1\",\"lport\":1,"
				"\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\"}",
				err, sizeof(err)), 0);
	expect_bad("{" TCP_COMMON "\"family\":\"ipv5\",\"laddr\":\"127.0.0.1\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\"}", "expected ipv4 or ipv6");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"::1\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\"}",
		   "field 'laddr': expected an IPv4 address");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"127.0.0.1\",\"lport\":70000,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\"}", "field 'lport'");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"127.0.0.1\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"up\"}", "expected sent or received");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"127.0.0.1\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\",\"state\":\"OPEN\"}",
		   "expected a TCP state");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"laddr\":\"127.0.0.1\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\",\"latency_ns\":3}",
		   "unknown field 'latency_ns' for kind tcp_reset");
	expect_bad("{" TCP_COMMON "\"family\":\"ipv4\",\"lport\":1,"
		   "\"raddr\":\"127.0.0.1\",\"rport\":2,\"direction\":\"sent\"}", "missing field 'laddr'");
}

static void test_names_and_keys(void **st)
{
	struct aod_event ev = tcp_event(AOD_EVENT_TCP_RESET, 1);
	char a[AOD_KEY_LEN], b[AOD_KEY_LEN];
	uint64_t ia, ib;

	(void)st;
	ia = aod_tcp_event_key(&ev, a, sizeof(a));
	assert_string_equal(a, "10.0.0.2:443"); /* received: the peer */
	ev.tcp.dir = AOD_TCP_DIR_SENT;
	ib = aod_tcp_event_key(&ev, b, sizeof(b));
	assert_string_equal(b, "10.0.0.1:40000"); /* sent: our endpoint */
	assert_true(ia != ib);
	ev.tcp.family = AF_INET6;
	memset(ev.tcp.laddr, 0xff, 16);
	aod_tcp_event_key(&ev, b, sizeof(b));
	assert_string_equal(b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:40000"); /* fits a key */
	assert_string_equal(aod_tcp_state_name(2), "SYN_SENT");
	assert_null(aod_tcp_state_name(13));
	assert_int_equal(aod_tcp_state_from_name("TIME_WAIT"), 6);
}

static void test_netstat_parse(void **st)
{
	char path[] = "/tmp/aod-test-netstat.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct aod_tcp_netstat ns;

	(void)st;
	fprintf(f, "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPHPHits\n"
		   "TcpExt: 0 17 23 99\n"
		   "IpExt: InNoRoutes ListenOverflows\nIpExt: 1 2\n");
	fclose(f);
	assert_int_equal(aod_tcp_netstat_read(path, &ns), 0);
	assert_int_equal(ns.listen_overflows, 17);
	assert_int_equal(ns.listen_drops, 23);
	f = fopen(path, "w");
	fprintf(f, "IpExt: InNoRoutes\nIpExt: 1\n");
	fclose(f);
	assert_int_equal(aod_tcp_netstat_read(path, &ns), -ENOENT);
	unlink(path);
	assert_int_equal(aod_tcp_netstat_read(path, &ns), -ENOENT);
	/* the real file has both fields */
	assert_int_equal(aod_tcp_netstat_read(NULL, &ns), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_tcp_rules),
		cmocka_unit_test(test_config_tcp_print_round_trip),
		cmocka_unit_test(test_config_tcp_errors),
		cmocka_unit_test(test_knobs_tcp),
		cmocka_unit_test(test_detector_tcp),
		cmocka_unit_test(test_evjson_tcp),
		cmocka_unit_test(test_evjson_tcp_strict),
		cmocka_unit_test(test_names_and_keys),
		cmocka_unit_test(test_netstat_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
