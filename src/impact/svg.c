// SPDX-License-Identifier: MIT
#include "impact/svg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/text.h"

#define W 860
#define PANEL_H 230
#define LEFT 80
#define RIGHT 150 /* room for the legend */
#define TOP 40
#define GAP 70

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd",
				       "#8c564b", "#e377c2", "#17becf", "#bcbd22" };
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))
#define COLOR_WITHOUT "#7f7f7f"
#define COLOR_WITH "#ff7f0e"

struct panel {
	double x, y, w, h;  /* plot area in SVG units */
	double xmax, ymax;  /* data ranges, from 0 */
};

double aod_impact_tick_step(double max, int n)
{
	double raw, mag, f;

	if (!(max > 0) || n < 1)
		return 1;
	raw = max / n;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* Round max up to a whole tick so the axis ends on a label. */
static double nice_max(double max)
{
	double step = aod_impact_tick_step(max, 5);

	return max > 0 ? ceil(max / step - 1e-9) * step : 1;
}

static double px(const struct panel *p, double x) { return p->x + x / p->xmax * p->w; }
static double py(const struct panel *p, double y) { return p->y + p->h - y / p->ymax * p->h; }

/* Text for XML: control characters escaped as \xNN first, then the XML specials. */
static void put_text(FILE *out, const char *s)
{
	char esc[1024];

	aod_text_escape(s, strlen(s), esc, sizeof(esc), false);
	for (const char *c = esc; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*c, out);
		}
	}
}

static void fmt_tick(char *buf, size_t len, double v, double step)
{
	int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	snprintf(buf, len, "%.*f", decimals, v);
}

/* Frame, grid, ticks and the axis labels of one panel. */
static void axes(FILE *out, const struct panel *p, const char *id, const char *title,
		 const char *xlabel, const char *ylabel, bool xticks)
{
	double xs = aod_impact_tick_step(p->xmax, 8), ys = aod_impact_tick_step(p->ymax, 5);
	char buf[32];

	fprintf(out, "<g id=\"%s-axes\" font-family=\"sans-serif\" font-size=\"12\">\n", id);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", p->x,
		p->y - 12);
	put_text(out, title);
	fputs("</text>\n", out);
	for (double v = 0; v <= p->ymax * (1 + 1e-9); v += ys) {
		fmt_tick(buf, sizeof(buf), v, ys);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			p->x, py(p, v), p->x + p->w, py(p, v), p->x - 6, py(p, v) + 4, buf);
	}
	if (xticks)
		for (double v = 0; v <= p->xmax * (1 + 1e-9); v += xs) {
			fmt_tick(buf, sizeof(buf), v, xs);
			fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"#000\"/><text x=\"%.1f\" y=\"%.1f\" "
				"text-anchor=\"middle\">%s</text>\n",
				px(p, v), p->y + p->h, px(p, v), p->y + p->h + 5, px(p, v),
				p->y + p->h + 18, buf);
		}
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
		"stroke=\"#000\"/>\n", p->x, p->y, p->w, p->h);
	fprintf(out, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
		p->x + p->w / 2, p->y + p->h + 36);
	put_text(out, xlabel);
	fprintf(out, "</text>\n<text class=\"ylabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 %.1f %.1f)\">", p->x - 55, p->y + p->h / 2, p->x - 55,
		p->y + p->h / 2);
	put_text(out, ylabel);
	fputs("</text>\n</g>\n", out);
}

static double sample_cpu_pct(const struct aod_impact_sample *s, size_t i)
{
	double dt = s[i].t_s - s[i - 1].t_s;

	return dt > 0 ? (s[i].cpu_s - s[i - 1].cpu_s) / dt * 100 : 0;
}

/* The time series of the with-agent runs: CPU% (cpu true) or RSS MiB. */
static void series(FILE *out, const struct panel *p, const struct aod_impact_run *runs,
		   size_t nruns, bool cpu)
{
	size_t k = 0;

	fprintf(out, "<g id=\"%s\" fill=\"none\" stroke-width=\"1.5\">\n", cpu ? "cpu" : "rss");
	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];

		if (!run->with_agent)
			continue;
		fprintf(out, "<polyline class=\"%s\" data-run=\"%u\" stroke=\"%s\" points=\"",
			cpu ? "cpu" : "rss", run->index, palette[k++ % NCOLORS]);
		for (size_t i = cpu ? 1 : 0; i < run->nsamples; i++) {
			double y = cpu ? sample_cpu_pct(run->samples, i)
				       : run->samples[i].rss_kib / 1024.0;

			fprintf(out, "%s%.1f,%.1f", i > (cpu ? 1u : 0u) ? " " : "",
				px(p, run->samples[i].t_s), py(p, y));
		}
		fputs("\"/>\n", out);
	}
	fputs("</g>\n", out);
}

static void legend_runs(FILE *out, const struct panel *p, const struct aod_impact_run *runs,
			size_t nruns)
{
	double y = p->y + 10;
	size_t k = 0;

	fputs("<g class=\"legend\" font-family=\"sans-serif\" font-size=\"12\">\n", out);
	for (size_t r = 0; r < nruns && k < 12; r++) {
		if (!runs[r].with_agent)
			continue;
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">run %u</text>\n",
			p->x + p->w + 12, y, p->x + p->w + 32, y, palette[k % NCOLORS],
			p->x + p->w + 38, y + 4, runs[r].index);
		y += 16;
		k++;
	}
	fputs("</g>\n", out);
}

static void wall_bars(FILE *out, const struct panel *p, const struct aod_impact_run *runs,
		      size_t nruns)
{
	double slot = p->w / (double)(nruns ? nruns : 1), bw = slot * 0.6;
	char buf[16];

	fputs("<g id=\"wall\" font-family=\"sans-serif\" font-size=\"12\">\n", out);
	for (size_t r = 0; r < nruns; r++) {
		double wall = aod_impact_run_wall(&runs[r]), x = p->x + slot * (double)r;

		fprintf(out, "<rect class=\"%s\" data-run=\"%u\" data-wall-s=\"%.6f\" x=\"%.1f\" "
			"y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
			runs[r].with_agent ? "with" : "without", runs[r].index, wall,
			x + (slot - bw) / 2, py(p, wall), bw, p->y + p->h - py(p, wall),
			runs[r].with_agent ? COLOR_WITH : COLOR_WITHOUT);
		if (nruns <= 40) {
			snprintf(buf, sizeof(buf), "%u", runs[r].index);
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				x + slot / 2, p->y + p->h + 18, buf);
		}
	}
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">without agent</text>\n"
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">with agent</text>\n</g>\n",
		p->x + p->w + 12, p->y + 5, COLOR_WITHOUT, p->x + p->w + 32, p->y + 14,
		p->x + p->w + 12, p->y + 23, COLOR_WITH, p->x + p->w + 32, p->y + 32);
}

int aod_impact_svg(FILE *out, const char *title, const struct aod_impact_run *runs, size_t nruns)
{
	struct panel cpu = { LEFT, TOP + 30, W - LEFT - RIGHT, PANEL_H, 0, 0 };
	struct panel rss = cpu, wall = cpu;
	double tmax = 0, cmax = 0, rmax = 0, wmax = 0;
	int height;

	for (size_t r = 0; r < nruns; r++) {
		const struct aod_impact_run *run = &runs[r];

		if (aod_impact_run_wall(run) > wmax)
			wmax = aod_impact_run_wall(run);
		for (size_t i = 0; run->with_agent && i < run->nsamples; i++) {
			if (run->samples[i].t_s > tmax)
				tmax = run->samples[i].t_s;
			if (run->samples[i].rss_kib / 1024.0 > rmax)
				rmax = run->samples[i].rss_kib / 1024.0;
			if (i && sample_cpu_pct(run->samples, i) > cmax)
				cmax = sample_cpu_pct(run->samples, i);
		}
	}
	cpu.xmax = rss.xmax = nice_max(tmax);
	cpu.ymax = nice_max(cmax);
	rss.ymax = nice_max(rmax);
	wall.ymax = nice_max(wmax);
	wall.xmax = 1;
	rss.y = cpu.y + PANEL_H + GAP;
	wall.y = rss.y + PANEL_H + GAP;
	height = (int)(wall.y + PANEL_H + 50);

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\">\n<title>", W, height, W, height);
	put_text(out, title);
	fprintf(out, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
		"<text x=\"%d\" y=\"24\" font-family=\"sans-serif\" font-size=\"16\">", LEFT);
	put_text(out, title);
	fputs("</text>\n", out);
	axes(out, &cpu, "cpu", "Agent CPU over the workload (with-agent runs)",
	     "time since the workload started (s)", "CPU (% of one core)", true);
	series(out, &cpu, runs, nruns, true);
	legend_runs(out, &cpu, runs, nruns);
	axes(out, &rss, "rss", "Agent resident memory (VmRSS)", "time since the workload started (s)",
	     "RSS (MiB)", true);
	series(out, &rss, runs, nruns, false);
	legend_runs(out, &rss, runs, nruns);
	axes(out, &wall, "wall", "Workload wall time per run (per iteration)",
	     "run (in the order made)", "wall time (s)", false);
	wall_bars(out, &wall, runs, nruns);
	fputs("</svg>\n", out);
	return ferror(out) ? -EIO : 0;
}
