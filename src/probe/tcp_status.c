// SPDX-License-Identifier: MIT
/* The TCP aggregates as JSON for aod status (see tcp_status.h). */
#include "probe/tcp_status.h"

#include <string.h>

#include "probe/hist.h"
#include "probe/tcp_listen.h"

#define STATUS_LISTENERS 64

static const char *const counter_names[AOD_TCP_CNT_MAX] = {
	[AOD_TCP_CNT_CONNECTS] = "connects",
	[AOD_TCP_CNT_CONNECT_FAILS] = "connect_failures",
	[AOD_TCP_CNT_ACCEPTS] = "accepts",
	[AOD_TCP_CNT_RETRANS_SEGS] = "retransmits",
	[AOD_TCP_CNT_RETRANS_SYNACK] = "retransmits_synack",
	[AOD_TCP_CNT_RESETS_SENT] = "resets_sent",
	[AOD_TCP_CNT_RESETS_RECEIVED] = "resets_received",
	[AOD_TCP_CNT_WINDOW_CLAMPS] = "window_clamps",
	[AOD_TCP_CNT_KEY_OVERFLOW] = "port_key_overflows",
};

static const char *const hist_names[AOD_TCP_NHISTS] = {
	[AOD_TCP_HIST_CONNECT] = "connect",
	[AOD_TCP_HIST_ACCEPT] = "accept",
	[AOD_TCP_HIST_RTT] = "rtt",
};

const char *aod_tcp_counter_name(enum aod_tcp_counter c)
{
	return (unsigned)c < AOD_TCP_CNT_MAX ? counter_names[c] : NULL;
}

const char *aod_tcp_hist_name(enum aod_tcp_hist_kind kind)
{
	return (unsigned)kind < AOD_TCP_NHISTS ? hist_names[kind] : NULL;
}

/* One histogram as {"port", "count", "sum_ns"}, appended to its kind's array. */
static int hist_entry(void *ctx, enum aod_tcp_hist_kind kind, uint32_t port,
		      const struct aod_tcp_hist *h)
{
	json_t *hists = ctx, *arr = json_object_get(hists, hist_names[kind]);

	json_array_append_new(arr, json_pack("{s:i, s:I, s:I}", "port", (int)port, "count",
					     (json_int_t)aod_hist_total(&h->hist), "sum_ns",
					     (json_int_t)h->sum_ns));
	return 0;
}

static json_t *listeners_json(void)
{
	struct aod_tcp_listener l[STATUS_LISTENERS];
	struct aod_tcp_netstat ns;
	size_t total = 0;
	int n = aod_tcp_listeners(l, STATUS_LISTENERS, &total);
	json_t *o = json_object(), *arr = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i}", "listener", l[i].name,
						     "backlog", (int)l[i].backlog, "backlog_max",
						     (int)l[i].backlog_max));
	json_object_set_new(o, "listeners", arr);
	json_object_set_new(o, "listeners_total", json_integer((json_int_t)total));
	if (n < 0)
		json_object_set_new(o, "listeners_error", json_string(strerror(-n)));
	if (!aod_tcp_netstat_read(NULL, &ns)) {
		json_object_set_new(o, "listen_overflows", json_integer((json_int_t)ns.listen_overflows));
		json_object_set_new(o, "listen_drops", json_integer((json_int_t)ns.listen_drops));
	}
	return o;
}

json_t *aod_tcp_status_json(struct aod_probes *p)
{
	uint64_t cnt[AOD_TCP_CNT_MAX];
	json_t *o = listeners_json(), *c, *h;
	bool loaded = !aod_probes_tcp_counters(p, cnt);

	if (!o)
		return NULL;
	json_object_set_new(o, "loaded", json_boolean(loaded));
	if (!loaded)
		return o;
	c = json_object();
	for (int i = 0; i < AOD_TCP_CNT_MAX; i++)
		json_object_set_new(c, counter_names[i], json_integer((json_int_t)cnt[i]));
	json_object_set_new(o, "counters", c);
	h = json_object();
	for (int i = 0; i < AOD_TCP_NHISTS; i++)
		json_object_set_new(h, hist_names[i], json_array());
	aod_probes_tcp_hist_foreach(p, hist_entry, h);
	json_object_set_new(o, "histograms", h);
	return o;
}
