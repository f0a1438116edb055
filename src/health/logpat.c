// SPDX-License-Identifier: MIT
/* Log pattern classes: compile the custom and built-in patterns, classify a message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "health/logpat.h"

#define WB "(^|[^[:alnum:]_])"  /* \b before a word */
#define WE "([^[:alnum:]_]|$)"  /* \b after a word */

static const struct aod_health_pattern builtin[] = {
	{ "oom-killer", AOD_LOG_CLASS_OOM, "(Out of memory:|oom-killer:|memory cgroup out of memory)" },
	{ "segfault", AOD_LOG_CLASS_ERROR,
	  "segfault.*ip[[:space:]]+[0-9a-f]+.*sp[[:space:]]+[0-9a-f]+.*error[[:space:]]+[0-9]+" },
	{ "kernel-panic", AOD_LOG_CLASS_ERROR, "Kernel panic - not syncing:" },
	{ "call-trace", AOD_LOG_CLASS_ERROR, "Call Trace:" },
	{ "BUG:", AOD_LOG_CLASS_ERROR, WB "BUG:" },
	{ "exception-trace", AOD_LOG_CLASS_ERROR, "exception trace:" },
	{ "hardware-error", AOD_LOG_CLASS_ERROR, WB "(Hardware Error|MCA:)" },
	{ "buffer-io-error", AOD_LOG_CLASS_WARNING, "Buffer I/O error" },
	{ "i/o-error", AOD_LOG_CLASS_WARNING, WB "(I/O error|Input/output error)" WE },
	{ "filesystem-readonly", AOD_LOG_CLASS_WARNING, "Remounting filesystem read-only" },
	{ "task-blocked", AOD_LOG_CLASS_WARNING, "task .* blocked for more than [0-9]+ seconds" },
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

static int add(struct aod_logpats *set, const struct aod_health_pattern *p)
{
	struct aod_logpat *lp = &set->p[set->n];
	int rc = regcomp(&lp->re, p->regex, REG_EXTENDED | REG_ICASE | REG_NOSUB);

	if (rc) {
		char msg[128];

		regerror(rc, &lp->re, msg, sizeof(msg));
		log_err("health: log pattern '%s': %s", p->name, msg);
		return -EINVAL;
	}
	memcpy(lp->name, p->name, sizeof(lp->name));
	lp->cls = p->cls;
	set->n++;
	return 0;
}

int aod_logpats_build(struct aod_logpats *set, const struct aod_health_config *cfg)
{
	size_t max = cfg->npatterns + NBUILTIN;
	int err = 0;

	set->n = 0;
	set->p = calloc(max, sizeof(*set->p));
	if (!set->p)
		return -ENOMEM;
	for (uint32_t i = 0; !err && i < cfg->npatterns; i++)
		err = add(set, &cfg->patterns[i]);
	for (size_t i = 0; !err && cfg->builtin_patterns && i < NBUILTIN; i++)
		err = add(set, &builtin[i]);
	if (err)
		aod_logpats_free(set);
	return err;
}

void aod_logpats_free(struct aod_logpats *set)
{
	for (size_t i = 0; i < set->n; i++)
		regfree(&set->p[i].re);
	free(set->p);
	set->p = NULL;
	set->n = 0;
}

int aod_logpats_classify(const struct aod_logpats *set, const char *msg)
{
	for (size_t i = 0; i < set->n; i++)
		if (!regexec(&set->p[i].re, msg, 0, NULL, 0))
			return (int)i;
	return -1;
}
