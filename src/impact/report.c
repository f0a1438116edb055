// SPDX-License-Identifier: MIT
#include "impact/report.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/text.h"

void aod_impact_compare_runs(const struct aod_impact_run *runs, size_t nruns, bool cpu,
			     struct aod_impact_compare *out)
{
	double *base = calloc(nruns + 1, sizeof(double)), *with = calloc(nruns + 1, sizeof(double));
	size_t nb = 0, nw = 0;

	if (base && with)
		for (size_t i = 0; i < nruns; i++) {
			double v = cpu ? aod_impact_run_cpu(&runs[i]) : aod_impact_run_wall(&runs[i]);

			if (runs[i].with_agent)
				with[nw++] = v;
			else
				base[nb++] = v;
		}
	aod_impact_compare(base, nb, with, nw, out);
	free(base);
	free(with);
}

static void print_compare(FILE *out, const char *what, const struct aod_impact_compare *c)
{
	fprintf(out, "%s per iteration (s):\n"
		"  without agent: median %.4f  IQR %.4f-%.4f  min-max %.4f-%.4f  (%zu runs)\n"
		"  with agent:    median %.4f  IQR %.4f-%.4f  min-max %.4f-%.4f  (%zu runs)\n",
		what, c->base.median, c->base.q1, c->base.q3, c->base.min, c->base.max, c->base.n,
		c->with.median, c->with.q1, c->with.q3, c->with.min, c->with.max, c->with.n);
	fprintf(out, "  ratio with/without (medians): %.3f (%+.1f%%); baseline run-to-run "
		"spread (max-min)/median: %.1f%%\n", c->ratio, (c->ratio - 1) * 100,
		c->spread * 100);
	switch (c->verdict) {
	case AOD_IMPACT_NOISE:
		fprintf(out, "  verdict: within noise: the medians differ by %.4f s, no more than the "
			"baseline's run-to-run spread of %.4f s\n", c->with.median - c->base.median,
			c->base.max - c->base.min);
		break;
	case AOD_IMPACT_SLOWER:
		fprintf(out, "  verdict: slower by %.1f%%: the medians differ by %.4f s, more than the "
			"baseline's run-to-run spread of %.4f s\n", (c->ratio - 1) * 100,
			c->with.median - c->base.median, c->base.max - c->base.min);
		break;
	case AOD_IMPACT_FASTER:
		fprintf(out, "  verdict: faster by %.1f%%: the medians differ by %.4f s, more than the "
			"baseline's run-to-run spread of %.4f s (the machine changed between runs: "
			"the agent only adds work)\n", (1 - c->ratio) * 100,
			c->with.median - c->base.median, c->base.max - c->base.min);
		break;
	case AOD_IMPACT_TOO_FEW:
		fprintf(out, "  verdict: too few runs to judge: one run a side has no spread to "
			"compare against (use --repeat 3 or more)\n");
		break;
	}
}

/* All the with-agent runs' RSS samples in MiB (malloc'd; *n of them). */
static double *rss_values(const struct aod_impact_run *runs, size_t nruns, size_t *n)
{
	size_t total = 0;
	double *v;

	*n = 0;
	for (size_t r = 0; r < nruns; r++)
		total += runs[r].nsamples;
	if (!(v = malloc((total + 1) * sizeof(*v))))
		return NULL;
	for (size_t r = 0; r < nruns; r++)
		for (size_t i = 0; i < runs[r].nsamples; i++)
			v[(*n)++] = runs[r].samples[i].rss_kib / 1024.0;
	return v;
}

static void print_agent(FILE *out, const struct aod_impact_run *runs, size_t nruns)
{
	double cpu = 0, wall = 0, start = 0, start_cpu = 0, peak = 0, *rss;
	uint64_t grow = 0, end = 0, loss[AOD_LOSS_COUNT] = { 0 }, events = 0;
	struct aod_impact_summary s;
	size_t nrss, nagent = 0;

	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];

		if (!run->with_agent)
			continue;
		nagent++;
		cpu += run->agent_cpu_s;
		wall += run->wall_s;
		start += run->agent_start_s;
		start_cpu += run->agent_start_cpu_s;
		if (run->out_bytes_end > run->out_bytes_ready)
			grow += run->out_bytes_end - run->out_bytes_ready;
		end += run->out_bytes_end;
		events += run->events_decoded;
		for (int k = 0; k < AOD_LOSS_COUNT; k++)
			loss[k] += run->loss[k];
		for (size_t i = 1; i < run->nsamples; i++) {
			const struct aod_impact_sample *sm = &run->samples[i];
			double dt = sm->t_s - sm[-1].t_s;

			if (dt > 0 && (sm->cpu_s - sm[-1].cpu_s) / dt * 100 > peak)
				peak = (sm->cpu_s - sm[-1].cpu_s) / dt * 100;
		}
	}
	if (!nagent)
		return;
	rss = rss_values(runs, nruns, &nrss);
	aod_impact_summarize(rss, rss ? nrss : 0, &s);
	free(rss);
	fprintf(out, "agent CPU: %.3f s over %.3f s of workload = %.1f%% of one core on average; "
		"peak %.1f%% over one sample period\n", cpu, wall, wall > 0 ? cpu / wall * 100 : 0,
		peak);
	fprintf(out, "agent start-up (load and attach the probes, before each run): %.2f s wall, "
		"%.3f s CPU on average\n", start / nagent, start_cpu / nagent);
	fprintf(out, "agent RSS (VmRSS, %zu samples): median %.1f MiB, IQR %.1f-%.1f, "
		"min-max %.1f-%.1f MiB\n", s.n, s.median, s.q1, s.q3, s.min, s.max);
	fprintf(out, "output directory: +%llu bytes from the start of the workload until the agent "
		"stopped (%.0f B per s of workload), %llu bytes at the end with what start-up wrote; "
		"summed over %zu runs\n", (unsigned long long)grow, wall > 0 ? grow / wall : 0,
		(unsigned long long)end, nagent);
	fprintf(out, "events decoded: %llu; loss counters (summed over runs):",
		(unsigned long long)events);
	for (int k = 0; k < AOD_LOSS_COUNT; k++)
		fprintf(out, " %s %llu", aod_impact_loss_names[k], (unsigned long long)loss[k]);
	fputc('\n', out);
}

static void print_runs(FILE *out, const struct aod_impact_run *runs, size_t nruns)
{
	fprintf(out, "\n%4s %-7s %5s %10s %9s %9s %11s %9s %12s %6s\n", "run", "agent", "iter",
		"wall_s", "user_s", "sys_s", "agent_cpu_s", "rss_max", "out_growth_B", "losses");
	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];
		uint64_t losses = 0;

		for (int k = 0; k < AOD_LOSS_COUNT; k++)
			losses += run->loss[k];
		if (run->with_agent)
			fprintf(out, "%4u %-7s %5u %10.4f %9.4f %9.4f %11.3f %6.1fMiB %12llu %6llu\n",
				run->index, "with", run->iterations, run->wall_s, run->user_s,
				run->sys_s, run->agent_cpu_s, run->agent_rss_max_kib / 1024.0,
				(unsigned long long)(run->out_bytes_end > run->out_bytes_ready
							     ? run->out_bytes_end - run->out_bytes_ready
							     : 0),
				(unsigned long long)losses);
		else
			fprintf(out, "%4u %-7s %5u %10.4f %9.4f %9.4f %11s %9s %12s %6s\n",
				run->index, "without", run->iterations, run->wall_s, run->user_s,
				run->sys_s, "-", "-", "-", "-");
	}
}

void aod_impact_report_text(FILE *out, const char *workload, const struct aod_impact_run *runs,
			    size_t nruns, double duration_s)
{
	struct aod_impact_compare wall, cpu;
	size_t nwith = 0;

	for (size_t r = 0; r < nruns; r++)
		nwith += runs[r].with_agent;
	fputs("aod impact: ", out);
	aod_text_fput(out, workload, strlen(workload), false);
	fprintf(out, "\n%zu runs without and %zu with the agent, interleaved; ", nruns - nwith,
		nwith);
	if (duration_s > 0)
		fprintf(out, "each run repeats the workload for at least %.1f s\n\n", duration_s);
	else
		fputs("one workload execution per run\n\n", out);
	aod_impact_compare_runs(runs, nruns, false, &wall);
	aod_impact_compare_runs(runs, nruns, true, &cpu);
	print_compare(out, "workload wall time", &wall);
	print_compare(out, "workload CPU (user+sys, from wait4)", &cpu);
	fputc('\n', out);
	print_agent(out, runs, nruns);
	print_runs(out, runs, nruns);
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void aod_impact_report_csv(FILE *out, const struct aod_impact_run *runs, size_t nruns)
{
	fputs(AOD_IMPACT_CSV_HEADER "\n", out);
	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];

		fprintf(out, "run,%u,%d,%u,%.6f,%.6f,%.6f,%d,", run->index, run->with_agent,
			run->iterations, run->wall_s, run->user_s, run->sys_s,
			exit_code(run->wait_status));
		if (run->with_agent) {
			fprintf(out, "%d,%.6f,%.6f,%.6f,%llu,%llu,%llu,%llu", (int)run->agent_pid,
				run->agent_start_s, run->agent_start_cpu_s, run->agent_cpu_s,
				(unsigned long long)run->agent_rss_max_kib,
				(unsigned long long)run->out_bytes_ready,
				(unsigned long long)run->out_bytes_end,
				(unsigned long long)run->events_decoded);
			for (int k = 0; k < AOD_LOSS_COUNT; k++)
				fprintf(out, ",%llu", (unsigned long long)run->loss[k]);
		} else {
			fputs(",,,,,,,", out);
			for (int k = 0; k < AOD_LOSS_COUNT; k++)
				fputc(',', out);
		}
		fputs(",,,,\n", out);
	}
	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];

		for (size_t i = 0; i < run->nsamples; i++) {
			const struct aod_impact_sample *s = &run->samples[i];
			double pct = i && s->t_s > s[-1].t_s
					     ? (s->cpu_s - s[-1].cpu_s) / (s->t_s - s[-1].t_s) * 100
					     : 0;

			fprintf(out, "sample,%u,1,,,,,,%d,,,,,,,,", run->index, (int)run->agent_pid);
			for (int k = 0; k < AOD_LOSS_COUNT; k++)
				fputc(',', out);
			if (i)
				fprintf(out, "%.3f,%.6f,%.1f,%llu\n", s->t_s, s->cpu_s, pct,
					(unsigned long long)s->rss_kib);
			else
				fprintf(out, "%.3f,%.6f,,%llu\n", s->t_s, s->cpu_s,
					(unsigned long long)s->rss_kib);
		}
	}
}
