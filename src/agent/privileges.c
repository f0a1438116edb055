// SPDX-License-Identifier: MIT
#include "agent/privileges.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

static int read_effective_caps(uint64_t *caps)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, caps) == 1) {
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

static bool has_cap(uint64_t caps, int bit)
{
	return caps & (1ULL << bit);
}

int aod_check_privileges(char *missing, size_t len)
{
	uint64_t caps = 0;
	int err = read_effective_caps(&caps);

	missing[0] = '\0';
	if (err) {
		snprintf(missing, len, "cannot read capabilities: %s", strerror(-err));
		return err;
	}
	if (has_cap(caps, CAP_SYS_ADMIN_BIT) ||
	    (has_cap(caps, CAP_BPF_BIT) && has_cap(caps, CAP_PERFMON_BIT)))
		return 0;
	snprintf(missing, len, "%s%s%s", has_cap(caps, CAP_BPF_BIT) ? "" : "CAP_BPF",
		 !has_cap(caps, CAP_BPF_BIT) && !has_cap(caps, CAP_PERFMON_BIT) ? ", " : "",
		 has_cap(caps, CAP_PERFMON_BIT) ? "" : "CAP_PERFMON");
	return -EPERM;
}
