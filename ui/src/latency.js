// Live latency: for SMB (per command), block (per device and operation) and TCP connect
// (per remote port), a heatmap of the last 120 s and the histogram of the last second,
// from /api/v1/histograms/* every second. The API gives cumulative counts; the view
// keeps the previous reading and shows differences.
import uPlot from './vendor/uPlot.esm.js';
import { h, add, clear, fmtUs, errorBox } from './dom.js';
import { getJSON } from './api.js';
import { Heatmap, label } from './heatmap.js';

const SOURCES = [
  { id: 'smb', title: 'SMB commands', key: (s) => s.command, filter: () => true },
  { id: 'block', title: 'Block devices', key: (s) => `${s.device} ${s.op}`, filter: () => true },
  { id: 'tcp', title: 'TCP connect', key: (s) => `port ${s.port || 'other'}`, filter: (s) => s.kind === 'connect' },
];
const ALL = '(all)';
const RECENT_S = 5;

function sum(a, b) {
  return a.map((v, i) => v + (b[i] || 0));
}

class Panel {
  constructor(src, root) {
    this.src = src;
    this.prev = new Map(); // key -> cumulative counts at the last reading
    this.history = new Map(); // key -> deltas per second (for a switch of series)
    this.select = h('select', { id: 'series-' + src.id, 'aria-label': src.title + ': series',
                                onchange: () => this.redraw() },
      h('option', { value: ALL }, 'all'));
    this.canvas = h('canvas', { class: 'heatmap', role: 'img', 'aria-label': src.title + ' heatmap',
                                'data-samples': '0' });
    this.stats = h('p', { class: 'stats', 'aria-live': 'off' }, 'waiting for the first reading…');
    this.barsBox = h('div', { class: 'bars' });
    this.el = h('section', { class: 'panel', 'data-source': src.id, 'data-last-ops': '0',
                             'data-total': '0' },
      h('h3', {}, src.title), h('label', {}, 'Series ', this.select),
      this.stats, h('div', { class: 'charts' }, this.canvas, this.barsBox));
    add(root, this.el);
    this.heat = null;
    this.plot = null;
  }

  update(j) {
    if (!this.heat) this.heat = new Heatmap(this.canvas, j.slot_max_us);
    this.slotMax = j.slot_max_us;
    this.loaded = j.loaded;
    const seen = new Set();
    let all = new Array(32).fill(0), allDelta = new Array(32).fill(0);
    for (const s of j.series.filter(this.src.filter)) {
      const k = this.src.key(s);
      seen.add(k);
      const prev = this.prev.get(k);
      const d = prev ? s.counts.map((v, i) => Math.max(0, v - prev[i])) : new Array(32).fill(0);
      this.prev.set(k, s.counts);
      if (!this.history.has(k)) {
        this.history.set(k, []);
        this.select.append(h('option', { value: k }, k));
      }
      const hist = this.history.get(k);
      hist.push(d);
      if (hist.length > 120) hist.shift();
      all = sum(all, s.counts);
      allDelta = sum(allDelta, d);
    }
    const ah = this.history.get(ALL) || [];
    ah.push(allDelta);
    if (ah.length > 120) ah.shift();
    this.history.set(ALL, ah);
    this.prev.set(ALL, all);
    for (const [k, hist] of this.history) if (!seen.has(k) && k !== ALL) {
      hist.push(new Array(32).fill(0));
      if (hist.length > 120) hist.shift();
    }
    this.redraw();
  }

  redraw() {
    if (!this.heat) return;
    const k = this.select.value;
    const hist = this.history.get(k) || [];
    this.heat.cols = hist.map((c) => ({ counts: c }));
    this.heat.samples = hist.length;
    this.heat.draw();
    this.canvas.dataset.samples = String(hist.length);
    const last = hist.length ? hist[hist.length - 1] : new Array(32).fill(0);
    const ops = last.reduce((a, b) => a + b, 0);
    // the bars: the last RECENT_S seconds together (one second is often empty)
    const recent = hist.slice(-RECENT_S).reduce((a, c) => sum(a, c), new Array(32).fill(0));
    const total = (this.prev.get(k) || []).reduce((a, b) => a + b, 0);
    this.el.dataset.lastOps = String(ops);
    this.el.dataset.total = String(total);
    add(clear(this.stats), this.loaded === false ? 'probe not loaded · ' : '',
      `${ops} ops in the last second, ${total} since the probe loaded; last ${RECENT_S} s: `,
      `${recent.reduce((a, b) => a + b, 0)} ops, p50 ${fmtUs(pct(recent, this.slotMax, 50))}, p99 ${fmtUs(pct(recent, this.slotMax, 99))} (bars)`);
    this.bars(recent);
  }

  bars(last) {
    const xs = last.map((_, i) => i);
    const data = [xs, last];
    const width = Math.max(240, this.barsBox.clientWidth || 300);
    if (!this.plot) {
      this.plot = new uPlot({
        width, height: 180,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false } },
        axes: [
          { values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? '≤' + label(this.slotMax[v]) : '')), size: 30 },
          { size: 50 },
        ],
        series: [{}, { label: 'ops', fill: 'rgba(40,100,200,0.5)', stroke: '#2864c8',
                       paths: uPlot.paths.bars({ size: [0.9, 40] }) }],
      }, data, this.barsBox);
    } else {
      if (Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: 180 });
      this.plot.setData(data);
    }
  }

  destroy() {
    if (this.plot) this.plot.destroy();
  }
}

// percentile of one second's histogram, interpolated inside the slot
function pct(counts, slotMax, p) {
  const n = counts.reduce((a, b) => a + b, 0);
  if (!n || !slotMax) return null;
  let rank = (p / 100) * n, acc = 0;
  for (let i = 0; i < counts.length; i++) {
    if (acc + counts[i] >= rank && counts[i]) {
      const lo = i === 0 ? 0 : 2 ** i, hi = slotMax[i] === null ? lo : slotMax[i] + 1;
      return lo + ((rank - acc) / counts[i]) * (hi - lo);
    }
    acc += counts[i];
  }
  return null;
}

export function mount(root) {
  const panels = SOURCES.map((s) => new Panel(s, root));
  const err = h('div', { class: 'errors' });
  root.prepend(err);
  let timer = null, stopped = false;
  const tick = async () => {
    try {
      const all = await Promise.all(SOURCES.map((s) => getJSON('api/v1/histograms/' + s.id)));
      if (stopped) return;
      clear(err);
      all.forEach((j, i) => panels[i].update(j));
    } catch (e) {
      if (stopped) return;
      add(clear(err), errorBox(e));
    }
    timer = setTimeout(tick, 1000);
  };
  tick();
  const onResize = () => panels.forEach((p) => p.redraw());
  window.addEventListener('resize', onResize);
  return { stop() { stopped = true; clearTimeout(timer); window.removeEventListener('resize', onResize); panels.forEach((p) => p.destroy()); } };
}
