/* SPDX-License-Identifier: MIT */
/*
 * aod impact --plot: an SVG a person can look at. Three panels with
 * labelled axes: the agent's CPU (% of one core) and RSS (MiB) over the
 * workload's time, one line per with-agent run, and the workload's wall
 * time per run, without and with the agent. Elements carry classes and
 * data- attributes (docs/impact.md) so that tools can find the series.
 */
#ifndef AOD_IMPACT_SVG_H
#define AOD_IMPACT_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "impact/impact.h"

/* title: shown on top (escaped here). Returns 0 or -EIO. */
int aod_impact_svg(FILE *out, const char *title, const struct aod_impact_run *runs, size_t nruns);

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks over 0..max. */
double aod_impact_tick_step(double max, int n);

#endif /* AOD_IMPACT_SVG_H */
