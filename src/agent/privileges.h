/* SPDX-License-Identifier: MIT */
#ifndef AOD_AGENT_PRIVILEGES_H
#define AOD_AGENT_PRIVILEGES_H

#include <stddef.h>

/*
 * Does this process hold what the agent needs? Loading and attaching BPF
 * tracing programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN on
 * kernels before 5.8). Returns 0, or -EPERM with the missing capabilities
 * named in missing ("CAP_BPF, CAP_PERFMON").
 */
int aod_check_privileges(char *missing, size_t len);

#endif /* AOD_AGENT_PRIVILEGES_H */
