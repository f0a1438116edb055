/* SPDX-License-Identifier: MIT */
/*
 * Log pattern classes: each message is classified by the first pattern it
 * matches, custom patterns (health.log_patterns) first, then the seed's, in
 * its order: OOM, then the Error patterns (segfault, kernel-panic,
 * call-trace, BUG:, exception-trace, hardware-error), then the Warning ones
 * (buffer-io-error, i/o-error, filesystem-readonly, task-blocked). The seed
 * checked i/o-error before buffer-io-error, which "Buffer I/O error" always
 * matched, so buffer-io-error could never be counted: here it comes first.
 * The seed's Python regexes are written in POSIX ERE (no \s, \d or \b).
 */
#ifndef AOD_HEALTH_LOGPAT_H
#define AOD_HEALTH_LOGPAT_H

#include <regex.h>
#include <stddef.h>

#include "config/config.h"

struct aod_logpat {
	char name[AOD_HEALTH_PATTERN_NAME_LEN];
	enum aod_log_class cls;
	regex_t re;
};

struct aod_logpats {
	size_t n;
	struct aod_logpat *p;
};

/* Compile cfg's patterns (and the built-in ones unless disabled). -errno. */
int aod_logpats_build(struct aod_logpats *set, const struct aod_health_config *cfg);
void aod_logpats_free(struct aod_logpats *set);
/* Index of the first matching pattern, or -1. */
int aod_logpats_classify(const struct aod_logpats *set, const char *msg);

#endif /* AOD_HEALTH_LOGPAT_H */
