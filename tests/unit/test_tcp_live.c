// SPDX-License-Identifier: MIT
/*
 * The TCP probe on the running kernel, through the exporter API
 * (aod_probes_tcp_hist_foreach, aod_probes_tcp_counters): N loopback
 * connects to a port of our own land N times in its connect and accept
 * histograms; N connects to a closed port make N reset records each way;
 * both attach modes work; a forced window-clamp hook that cannot attach
 * fails visibly; freeing leaves no link. Per-port histograms and per-port
 * records make the checks exact on a machine with other traffic. Skipped
 * (visibly) without root or kernel BTF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "probe/hist.h"
#include "probe/probes.h"

#define N 25

static char skip_reason[128];

struct seen {
	pthread_mutex_t lock;
	uint16_t port;           /* records for this port only */
	unsigned sent, received; /* resets */
	unsigned connects;
};

static void on_event(void *ctx, const struct aod_raw_event *ev)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	if (ev->h.kind == AOD_RAW_TCP_RESET && ev->tcp.dir == AOD_TCP_DIR_SENT &&
	    ev->tcp.lport == s->port)
		s->sent++;
	if (ev->h.kind == AOD_RAW_TCP_RESET && ev->tcp.dir == AOD_TCP_DIR_RECEIVED &&
	    ev->tcp.rport == s->port)
		s->received++;
	if (ev->h.kind == AOD_RAW_TCP_CONNECT && ev->tcp.rport == s->port)
		s->connects++;
	pthread_mutex_unlock(&s->lock);
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		snprintf(skip_reason, sizeof(skip_reason), "needs root (BPF)");
	else if (access("/sys/kernel/btf/vmlinux", R_OK))
		snprintf(skip_reason, sizeof(skip_reason), "kernel has no BTF");
	return 0;
}

#define SKIP_IF_NEEDED()                                              \
	do {                                                          \
		if (skip_reason[0]) {                                 \
			print_message("SKIP: %s\n", skip_reason);     \
			skip();                                       \
		}                                                     \
	} while (0)

static struct aod_config *config(const char *yaml)
{
	struct aod_config *cfg = aod_config_new_shared();
	struct aod_config_error err;

	assert_non_null(cfg);
	if (aod_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), &err))
		fail_msg("%s", err.msg);
	return cfg;
}

/* probes.tcp on, a tcpreset rule and a tcpconnlat rule at threshold 0. */
static const char yaml_on[] =
	"watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\nprobes: {tcp: on}\n"
	"guardian:\n  anomalies:\n"
	"    c: {type: Latency, tool: tcpconnlat, acceptable_count: 1000, default_threshold_ms: 0}\n"
	"    r: {type: Error, tool: tcpreset, acceptable_count: 1000}\n";

static struct aod_probes *start(const char *yaml, struct seen *s)
{
	struct aod_config *cfg = config(yaml);
	struct aod_probes *p = aod_probes_new(cfg, NULL, on_event, s);

	aod_config_unref(cfg);
	assert_non_null(p);
	assert_int_equal(aod_probes_start(p), 0);
	return p;
}

static struct aod_probe_status tcp_status(struct aod_probes *p)
{
	struct aod_probe_status st;

	aod_probes_status(p, AOD_PROBE_TCP, &st);
	return st;
}

/* A socket bound to a free loopback port; listening if backlog > 0. */
static int bound_socket(int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (backlog)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* n connects to port; accepted on lfd when it listens. Returns how many succeeded. */
static int connects(uint16_t port, int lfd, int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ok = 0;

	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (!connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			ok++;
			if (lfd >= 0)
				close(accept(lfd, NULL, NULL));
		}
		close(fd);
	}
	return ok;
}

struct port_counts {
	uint16_t port;
	uint64_t n[AOD_TCP_NHISTS];
	uint64_t sum_ns[AOD_TCP_NHISTS];
};

static int count_port(void *ctx, enum aod_tcp_hist_kind kind, uint32_t port,
		      const struct aod_tcp_hist *h)
{
	struct port_counts *c = ctx;

	if (port == c->port) {
		c->n[kind] += aod_hist_total(&h->hist);
		c->sum_ns[kind] += h->sum_ns;
	}
	return 0;
}

static struct port_counts hist_of(struct aod_probes *p, uint16_t port)
{
	struct port_counts c = { .port = port };

	assert_true(aod_probes_tcp_hist_foreach(p, count_port, &c) > 0);
	return c;
}

static void drain(struct aod_probes *p)
{
	for (int i = 0; i < 6; i++)
		aod_probes_poll(p, 50);
}

static void connect_and_check(const char *yaml, const char *mode)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct aod_probes *p = start(yaml, &s);
	struct aod_probe_status st = tcp_status(p);
	uint64_t c0[AOD_TCP_CNT_MAX], c1[AOD_TCP_CNT_MAX];
	struct port_counts h;
	int lfd;

	assert_int_equal(st.state, AOD_PROBE_ATTACHED);
	assert_string_equal(st.mode, mode);
	lfd = bound_socket(N + 1, &s.port);
	assert_int_equal(aod_probes_tcp_counters(p, c0), 0);
	assert_int_equal(connects(s.port, lfd, N), N);
	drain(p);
	assert_int_equal(aod_probes_tcp_counters(p, c1), 0);
	h = hist_of(p, s.port);
	assert_int_equal(h.n[AOD_TCP_HIST_CONNECT], N);
	assert_int_equal(h.n[AOD_TCP_HIST_ACCEPT], N);
	assert_true(h.sum_ns[AOD_TCP_HIST_CONNECT] > 0);
	assert_true(c1[AOD_TCP_CNT_CONNECTS] - c0[AOD_TCP_CNT_CONNECTS] >= N);
	assert_true(c1[AOD_TCP_CNT_ACCEPTS] - c0[AOD_TCP_CNT_ACCEPTS] >= N);
	assert_int_equal(s.connects, N); /* threshold 0: one record each */
	close(lfd);
	aod_probes_free(p);
}

static void test_connects_tp_btf(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	unsetenv("AOD_TCP_ATTACH");
	connect_and_check(yaml_on, "tp_btf");
}

static void test_connects_raw_tp(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	setenv("AOD_TCP_ATTACH", "raw_tp", 1);
	connect_and_check(yaml_on, "raw_tp");
	unsetenv("AOD_TCP_ATTACH");
}

/* A closed port: the kernel answers each SYN with a reset (sent, no socket)
 * that the connecting socket receives: N of each, named by the port. */
static void test_resets_closed_port(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct aod_probes *p;
	uint64_t c0[AOD_TCP_CNT_MAX], c1[AOD_TCP_CNT_MAX];
	int fd;

	(void)state;
	SKIP_IF_NEEDED();
	p = start(yaml_on, &s);
	fd = bound_socket(0, &s.port); /* bound, not listening: nobody else takes it */
	assert_int_equal(aod_probes_tcp_counters(p, c0), 0);
	assert_int_equal(connects(s.port, -1, N), 0);
	drain(p);
	assert_int_equal(aod_probes_tcp_counters(p, c1), 0);
	assert_int_equal(s.sent, N);
	assert_int_equal(s.received, N);
	assert_true(c1[AOD_TCP_CNT_RESETS_SENT] - c0[AOD_TCP_CNT_RESETS_SENT] >= N);
	assert_true(c1[AOD_TCP_CNT_RESETS_RECEIVED] - c0[AOD_TCP_CNT_RESETS_RECEIVED] >= N);
	assert_true(c1[AOD_TCP_CNT_CONNECT_FAILS] - c0[AOD_TCP_CNT_CONNECT_FAILS] >= N);
	close(fd);
	aod_probes_free(p);
}

/* No rule: the probe runs for its aggregates and sends nothing. */
static void test_histograms_without_rules(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct aod_probes *p;
	struct aod_probe_status st;
	int lfd;

	(void)state;
	SKIP_IF_NEEDED();
	p = start("watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\nprobes: {tcp: on}\n", &s);
	lfd = bound_socket(N + 1, &s.port);
	assert_int_equal(connects(s.port, lfd, N), N);
	drain(p);
	assert_int_equal(hist_of(p, s.port).n[AOD_TCP_HIST_CONNECT], N);
	assert_int_equal(s.connects, 0);
	st = tcp_status(p);
	assert_int_equal(st.counters[AOD_CNT_EVENTS], 0);
	close(lfd);
	aod_probes_free(p);

	/* auto and no rule: not loaded, and the API says so */
	p = start("watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n", &s);
	assert_int_equal(tcp_status(p).state, AOD_PROBE_DISABLED);
	{
		uint64_t c[AOD_TCP_CNT_MAX];

		assert_int_equal(aod_probes_tcp_counters(p, c), -ENOENT);
		assert_int_equal(aod_probes_tcp_hist_foreach(p, count_port, &(struct port_counts){0}),
				 -ENOENT);
	}
	aod_probes_free(p);
}

/* fentry gets EPERM on this host: forced, the probe fails and says why;
 * an unknown hook name fails before loading anything. */
static void test_forced_clamp_hooks(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct aod_probes *p;
	struct aod_probe_status st;

	(void)state;
	SKIP_IF_NEEDED();
	setenv("AOD_TCP_CLAMP", "bogus", 1);
	p = start(yaml_on, &s);
	st = tcp_status(p);
	assert_int_equal(st.state, AOD_PROBE_FAILED);
	assert_non_null(strstr(st.reason, "AOD_TCP_CLAMP=bogus"));
	aod_probes_free(p);
	setenv("AOD_TCP_CLAMP", "none", 1);
	p = start(yaml_on, &s);
	st = tcp_status(p);
	assert_int_equal(st.state, AOD_PROBE_ATTACHED);
	assert_string_equal(st.mode, "tp_btf-clamps");
	aod_probes_free(p);
	setenv("AOD_TCP_CLAMP", "fentry", 1);
	p = start(yaml_on, &s);
	st = tcp_status(p);
	if (st.state == AOD_PROBE_ATTACHED) /* a kernel where fentry works */
		assert_string_equal(st.mode, "tp_btf+fentry");
	else
		assert_non_null(strstr(st.reason, "tp_btf: "));
	aod_probes_free(p);
	unsetenv("AOD_TCP_CLAMP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connects_tp_btf),
		cmocka_unit_test(test_connects_raw_tp),
		cmocka_unit_test(test_resets_closed_port),
		cmocka_unit_test(test_histograms_without_rules),
		cmocka_unit_test(test_forced_clamp_hooks),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
