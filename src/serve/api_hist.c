// SPDX-License-Identifier: MIT
/*
 * /api/v1/histograms/{smb,block,tcp}: the kernel's log2(usec) latency
 * histograms, as cumulative counts since the probe was loaded (a client
 * that wants a rate, or a heatmap over time, takes the difference of two
 * readings). The http worker copies them into a snapshot once a second;
 * a request only formats the snapshot.
 */
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "bpf/tcp.h"
#include "common/timeutil.h"
#include "detect/event.h"
#include "probe/hist.h"
#include "probe/probes.h"
#include "probe/tcp_status.h"
#include "serve/api_int.h"

struct api_hist_snap {
	uint64_t wall_ns;
	bool smb_loaded, blk_loaded, tcp_loaded;
	struct aod_hist smb[AOD_SMB_NCMDS];
	unsigned nblk, blk_dropped;
	struct {
		char device[AOD_DISK_NAME_LEN];
		enum aod_blk_op op;
		struct aod_hist h;
	} blk[API_HIST_BLK_MAX];
	unsigned ntcp, tcp_dropped;
	struct {
		enum aod_tcp_hist_kind kind;
		uint32_t port;
		struct aod_tcp_hist h;
	} tcp[AOD_TCP_NHISTS * API_HIST_TCP_MAX];
};

struct walk {
	struct aod_agent *agent;
	struct api_hist_snap *s;
};

static int blk_one(void *ctx, uint32_t dev, enum aod_blk_op op, const struct aod_hist *h)
{
	struct walk *w = ctx;
	struct api_hist_snap *s = w->s;

	if (s->nblk == API_HIST_BLK_MAX) {
		s->blk_dropped++;
		return 0;
	}
	aod_decoder_disk_name(&w->agent->decoder, dev, aod_mono_ns(), s->blk[s->nblk].device,
			      sizeof(s->blk[s->nblk].device));
	if (!s->blk[s->nblk].device[0])
		snprintf(s->blk[s->nblk].device, sizeof(s->blk[s->nblk].device), "%u:%u",
			 dev >> 20, dev & ((1u << 20) - 1));
	s->blk[s->nblk].op = op;
	s->blk[s->nblk].h = *h;
	s->nblk++;
	return 0;
}

static int tcp_one(void *ctx, enum aod_tcp_hist_kind kind, uint32_t port,
		   const struct aod_tcp_hist *h)
{
	struct api_hist_snap *s = ((struct walk *)ctx)->s;

	if (s->ntcp == sizeof(s->tcp) / sizeof(s->tcp[0])) {
		s->tcp_dropped++;
		return 0;
	}
	s->tcp[s->ntcp].kind = kind;
	s->tcp[s->ntcp].port = port;
	s->tcp[s->ntcp].h = *h;
	s->ntcp++;
	return 0;
}

void aod_api_sample(struct aod_api *a, struct aod_agent *agent)
{
	struct api_hist_snap *s = calloc(1, sizeof(*s)), *old;
	struct walk w = { agent, s };

	if (!s)
		return; /* the previous snapshot stays; its time says how old it is */
	s->wall_ns = aod_wall_ns();
	s->smb_loaded = true;
	for (unsigned cmd = 0; cmd < AOD_SMB_NCMDS && s->smb_loaded; cmd++)
		s->smb_loaded = !aod_probes_smb_hist(agent->probes, cmd, &s->smb[cmd]);
	s->blk_loaded = aod_probes_blk_hist_foreach(agent->probes, blk_one, &w) >= 0;
	s->tcp_loaded = aod_probes_tcp_hist_foreach(agent->probes, tcp_one, &w) >= 0;
	pthread_mutex_lock(&a->hist_lock);
	old = a->hist;
	a->hist = s;
	pthread_mutex_unlock(&a->hist_lock);
	free(old);
}

static json_t *counts(const struct aod_hist *h)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr && i < AOD_HIST_SLOTS; i++)
		json_array_append_new(arr, json_integer((json_int_t)h->slots[i]));
	return arr;
}

/* One series: its labels (already in o), counts, total and percentiles. */
static json_t *series(json_t *o, const struct aod_hist *h)
{
	double p50 = aod_hist_percentile_us(h, 50), p99 = aod_hist_percentile_us(h, 99);

	json_object_set_new(o, "counts", counts(h));
	json_object_set_new(o, "count", json_integer((json_int_t)aod_hist_total(h)));
	json_object_set_new(o, "p50_us", p50 < 0 ? json_null() : json_real(p50));
	json_object_set_new(o, "p99_us", p99 < 0 ? json_null() : json_real(p99));
	return o;
}

static json_t *slot_bounds(void)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr && i < AOD_HIST_SLOTS; i++) {
		uint64_t hi = aod_hist_slot_hi_us(i);

		json_array_append_new(arr, hi == UINT64_MAX ? json_null()
							    : json_integer((json_int_t)hi));
	}
	return arr;
}

static json_t *render(const struct api_hist_snap *s, const char *which)
{
	json_t *list = json_array();
	json_t *o = json_pack("{s:s, s:I, s:s, s:o}", "source", which, "sampled_wall_ns",
			      (json_int_t)s->wall_ns, "unit", "us", "slot_max_us", slot_bounds());
	bool loaded;

	if (!strcmp(which, "smb")) {
		loaded = s->smb_loaded;
		for (unsigned c = 0; loaded && c < AOD_SMB_NCMDS; c++)
			if (aod_hist_total(&s->smb[c]))
				json_array_append_new(list, series(json_pack("{s:s}", "command",
					aod_smb_cmd_name(c) ?: "?"), &s->smb[c]));
	} else if (!strcmp(which, "block")) {
		loaded = s->blk_loaded;
		for (unsigned i = 0; i < s->nblk; i++)
			json_array_append_new(list, series(json_pack("{s:s, s:s}", "device",
				s->blk[i].device, "op", aod_blk_op_name(s->blk[i].op)), &s->blk[i].h));
		json_object_set_new(o, "dropped", json_integer(s->blk_dropped));
	} else {
		loaded = s->tcp_loaded;
		for (unsigned i = 0; i < s->ntcp; i++) {
			json_t *one = series(json_pack("{s:s, s:i}", "kind",
				aod_tcp_hist_name(s->tcp[i].kind), "port", (int)s->tcp[i].port),
				&s->tcp[i].h.hist);

			json_object_set_new(one, "sum_ns", json_integer((json_int_t)s->tcp[i].h.sum_ns));
			json_array_append_new(list, one);
		}
		json_object_set_new(o, "dropped", json_integer(s->tcp_dropped));
	}
	json_object_set_new(o, "loaded", json_boolean(loaded));
	json_object_set_new(o, "series", list);
	return o;
}

enum MHD_Result api_histograms(struct api_req *r)
{
	json_t *body = NULL;
	bool have;

	if (strcmp(r->rest, "smb") && strcmp(r->rest, "block") && strcmp(r->rest, "tcp"))
		return api_send_error(r->conn, MHD_HTTP_NOT_FOUND,
				      "no histograms of that source: expected smb, block or tcp");
	pthread_mutex_lock(&r->api->hist_lock);
	have = r->api->hist != NULL;
	if (have)
		body = render(r->api->hist, r->rest);
	pthread_mutex_unlock(&r->api->hist_lock);
	if (!have)
		return api_send_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "no histogram snapshot yet: try again in a second");
	return api_send_json(r->conn, MHD_HTTP_OK, body);
}
