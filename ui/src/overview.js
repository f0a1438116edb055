// Overview: probe states and loss counters (/api/v1/status), the output budget
// (/metrics), recent anomalies (token). Every 2 s.
import { h, add, clear, table, fmtBytes, fmtTime, errorBox } from './dom.js';
import { getJSON, getText } from './api.js';

const LOSS = [
  ['ring buffer drops', (s) => s.probes.reduce((a, p) => a + (p.counters.ringbuf_drops || 0), 0)],
  ['event queue overflows', (s) => s.dispatcher.event_queue_overflows],
  ['flight recorder overwritten', (s) => s.dispatcher.flight_recorder_overwritten],
  ['detector window drops', (s) => s.detector.window_dropped],
  ['detector late drops', (s) => s.detector.late_dropped],
  ['anomaly queue overflows', (s) => s.anomalies.queue_overflows],
  ['in-flight maps full', (s) => s.probes.reduce((a, p) => a + (p.counters.inflight_full || 0), 0)],
  ['anomaly log errors', (s) => s.anomalies.log_errors],
  ['store records lost', (s) => (s.store ? s.store.lost : null)],
];

function metric(text, name) {
  const m = text.match(new RegExp('^' + name + ' ([0-9.e+]+)$', 'm'));
  return m ? Number(m[1]) : null;
}

function probes(s) {
  return table([
    ['probe', (p) => p.name],
    ['state', (p) => h('span', { class: 'state state-' + p.state }, p.state)],
    ['mode', (p) => p.mode],
    ['reason', (p) => p.reason],
    ['ops', (p) => p.counters.ops ?? ''],
    ['events', (p) => p.counters.events ?? ''],
    ['ring drops', (p) => p.counters.ringbuf_drops ?? ''],
    ['in-flight full', (p) => p.counters.inflight_full ?? ''],
  ], s.probes, { caption: 'Probes', class: 'probes' });
}

function losses(s) {
  return table([['counter', (r) => r[0]], ['count', (r) => r[1]]],
    LOSS.map(([name, f]) => [name, f(s) ?? '–']), { caption: 'Loss counters (never reset)' });
}

function budget(text) {
  const used = metric(text, 'aod_output_bytes'), total = metric(text, 'aod_output_budget_bytes');
  const pct = used !== null && total ? Math.min(100, (100 * used) / total) : null;
  return h('section', { class: 'budget', 'aria-label': 'Output budget' },
    h('h3', {}, 'Output budget'),
    pct === null ? h('p', {}, 'not known yet')
      : h('div', {},
        h('progress', { max: '100', value: pct.toFixed(1), 'aria-label': 'output used' }),
        h('p', {}, `${fmtBytes(used)} of ${fmtBytes(total)} (${pct.toFixed(1)} %)`)));
}

async function recent() {
  const box = h('section', { 'aria-label': 'Recent anomalies' }, h('h3', {}, 'Recent anomalies'));
  try {
    const a = await getJSON('api/v1/anomalies?since=-24h&limit=10');
    if (!a.items.length) add(box, h('p', {}, 'none in the last 24 h'));
    else add(box, table([
      ['time', (r) => fmtTime(r.wall_ns)],
      ['rule', (r) => h('a', { href: '#/anomalies/' + r.id }, r.rule)],
      ['source', (r) => r.source], ['type', (r) => r.type], ['count', (r) => r.total],
    ], a.items));
  } catch (e) {
    add(box, errorBox(e));
  }
  return box;
}

export function mount(root) {
  let timer = null, stopped = false;
  const tick = async () => {
    let s, m = '';
    try {
      s = await getJSON('api/v1/status');
      m = await getText('metrics');
    } catch (e) {
      if (!stopped) add(clear(root), errorBox(e));
      timer = setTimeout(tick, 2000);
      return;
    }
    const rec = await recent();
    if (stopped) return;
    add(clear(root), 
      h('p', { class: 'meta' }, `aod ${s.version}, pid ${s.pid}, up ${Math.round(s.uptime_s)} s, `,
        `${s.anomalies.total} anomalies, config ${s.config.path || 'embedded'}`),
      h('div', { class: 'grid' }, probes(s), losses(s), budget(m)), rec);
    timer = setTimeout(tick, 2000);
  };
  tick();
  return { stop() { stopped = true; clearTimeout(timer); } };
}
