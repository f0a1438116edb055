// SPDX-License-Identifier: MIT
/*
 * The collector's admission state machine (see admission.h): which
 * anomaly starts a collection, joins a running one or is held off, and
 * the finish step that frees a source and starts its rule's holdoff at once.
 */
#include "collect/admission.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static size_t source_index(enum aod_source src)
{
	return (unsigned)src < AOD_SOURCE_COUNT ? (size_t)src : 0;
}

/* Only the counts: the tables are ~2 MB, and a page of them becomes
 * resident only when a rule is held off or an anomaly listed. */
void aod_admission_init(struct aod_admission *adm)
{
	memset(adm->running, 0, sizeof(adm->running));
	adm->nholdoffs = 0;
}

static void handoff_clear(struct aod_admit_handoff *h)
{
	h->nsuppressed = 0;
	h->suppressed_count = 0;
}

void aod_admit_handoff_copy(struct aod_admit_handoff *to, const struct aod_admit_handoff *from)
{
	memcpy(to->suppressed, from->suppressed, from->nsuppressed * sizeof(from->suppressed[0]));
	to->nsuppressed = from->nsuppressed;
	to->suppressed_count = from->suppressed_count;
}

bool aod_admission_running(const struct aod_admission *adm, enum aod_source src)
{
	return adm->running[source_index(src)];
}

static struct aod_holdoff *find_holdoff(struct aod_admission *adm, const char *rule)
{
	for (size_t i = 0; i < adm->nholdoffs; i++)
		if (!strcmp(adm->holdoffs[i].rule, rule))
			return &adm->holdoffs[i];
	return NULL;
}

static struct aod_holdoff *holdoff_for(struct aod_admission *adm, const char *rule)
{
	struct aod_holdoff *h = find_holdoff(adm, rule);

	if (h || adm->nholdoffs == AOD_ADMIT_RULES)
		return h;
	h = &adm->holdoffs[adm->nholdoffs++];
	snprintf(h->rule, sizeof(h->rule), "%s", rule);
	h->until_mono = 0;
	handoff_clear(&h->pending);
	return h;
}

static void suppress(struct aod_holdoff *h, const struct aod_anomaly *a)
{
	h->pending.suppressed_count++;
	if (h->pending.nsuppressed < AOD_ADMIT_LISTED)
		h->pending.suppressed[h->pending.nsuppressed++] = *a;
}

enum aod_admit aod_admission_offer(struct aod_admission *adm, const struct aod_anomaly *a,
				   uint64_t now_mono, struct aod_admit_handoff *handoff)
{
	size_t src = source_index(a->source);
	struct aod_holdoff *h = a->source == AOD_SOURCE_MANUAL ? NULL : find_holdoff(adm, a->rule);

	if (adm->running[src])
		return AOD_ADMIT_COALESCE;
	if (h && now_mono < h->until_mono) {
		suppress(h, a);
		return AOD_ADMIT_SUPPRESS;
	}
	adm->running[src] = true;
	handoff_clear(handoff);
	if (h) {
		aod_admit_handoff_copy(handoff, &h->pending);
		handoff_clear(&h->pending);
	}
	return AOD_ADMIT_START;
}

void aod_admission_finish(struct aod_admission *adm, const struct aod_anomaly *primary,
			  uint32_t holdoff_sec, uint64_t now_mono)
{
	struct aod_holdoff *h;

	assert(adm->running[source_index(primary->source)]);
	adm->running[source_index(primary->source)] = false;
	if (primary->source == AOD_SOURCE_MANUAL || !holdoff_sec)
		return;
	h = holdoff_for(adm, primary->rule);
	if (h)
		h->until_mono = now_mono + (uint64_t)holdoff_sec * 1000000000ULL;
}
