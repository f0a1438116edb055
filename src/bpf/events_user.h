/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* events.h for user space: the kernel's __u32 & co. come from linux/types.h. */
#ifndef AOD_BPF_EVENTS_USER_H
#define AOD_BPF_EVENTS_USER_H
#include <linux/types.h>
#include "bpf/events.h"
#endif
