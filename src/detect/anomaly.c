// SPDX-License-Identifier: MIT
#include "detect/anomaly.h"

const char *aod_source_name(enum aod_source src)
{
	switch (src) {
	case AOD_SOURCE_SMB: return "smb";
	case AOD_SOURCE_BLOCK: return "block";
	case AOD_SOURCE_MANUAL: return "manual";
	case AOD_SOURCE_TCP: return "tcp";
	case AOD_SOURCE_HEALTH: return "health";
	case AOD_SOURCE_PROC: return "proc";
	default: return "unknown";
	}
}

const char *aod_rule_type_name(enum aod_rule_type type)
{
	switch (type) {
	case AOD_RULE_LATENCY: return "latency";
	case AOD_RULE_ERROR: return "error";
	case AOD_RULE_MANUAL: return "manual";
	case AOD_RULE_STUCK: return "stuck";
	case AOD_RULE_HEALTH: return "health";
	default: return "unknown";
	}
}
