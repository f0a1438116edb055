/* SPDX-License-Identifier: MIT */
/*
 * Host context: in-process collectors (AOD_ACTION_FUNC) that read /proc,
 * so every bundle shows the machine's state without depending on ps, ss
 * or any other tool. Each writes aligned text to fd and returns 0 or
 * -errno (details through aod_func_error()).
 */
#ifndef AOD_COLLECT_HOSTCTX_H
#define AOD_COLLECT_HOSTCTX_H

#include "collect/action.h"

/* /proc/pressure/{cpu,memory,io,irq} (PSI), one header per file. */
int aod_hostctx_pressure(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd);
/* Every process: pid, ppid, state, threads, cpu seconds, rss KiB, wchan, comm. */
int aod_hostctx_processes(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd);
/* Socket counts per state (tcp, udp, unix) and the TCP sockets on port 445. */
int aod_hostctx_sockets(struct aod_func_ctx *ctx, const struct aod_action_spec *spec, int fd);

#endif /* AOD_COLLECT_HOSTCTX_H */
