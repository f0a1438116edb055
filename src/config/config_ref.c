// SPDX-License-Identifier: MIT
/*
 * Shared, immutable configs. The struct is large (~450 KB: every rule's
 * tables, every custom action's argv), and each agent thread used to keep
 * its own copy; now a generation is allocated once and every reader holds a
 * reference to it. A reload publishes a new generation; the old one is freed
 * when its last reader lets go (a collection that started under it, say).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "config/config.h"

struct config_box {
	atomic_uint refs;
	struct aod_config cfg;
};

static struct config_box *box_of(const struct aod_config *cfg)
{
	return (struct config_box *)((char *)cfg - offsetof(struct config_box, cfg));
}

struct aod_config *aod_config_new_shared(void)
{
	struct config_box *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	return &b->cfg;
}

const struct aod_config *aod_config_ref(const struct aod_config *cfg)
{
	if (cfg)
		atomic_fetch_add_explicit(&box_of(cfg)->refs, 1, memory_order_relaxed);
	return cfg;
}

void aod_config_unref(const struct aod_config *cfg)
{
	struct config_box *b;

	if (!cfg)
		return;
	b = box_of(cfg);
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}
