// The anomaly timeline: the last hour's anomalies from the store (every second), as marks
// on a time axis and as a list; a mark or a row opens the details (the anomalies.jsonl
// object: keys, worst events) and links the bundle of the same id.
import { h, add, clear, table, fmtTime, errorBox } from './dom.js';
import { getJSON } from './api.js';

const SPAN_S = 3600;

function timeline(items, nowMs, open) {
  const box = h('div', { class: 'timeline', role: 'list', 'aria-label': 'Anomalies over the last hour' });
  for (const a of items) {
    const t = Number(BigInt(a.wall_ns) / 1000000n);
    const x = 100 - ((nowMs - t) / (SPAN_S * 1000)) * 100;
    if (x < 0) continue;
    const b = h('button', { class: 'mark mark-' + a.source, role: 'listitem',
                            title: `${a.rule} at ${fmtTime(a.wall_ns)}`, 'data-id': String(a.id),
                            onclick: () => open(a) }, '');
    b.style.left = `calc(${x.toFixed(3)}% - 5px)`;
    add(box, b);
  }
  add(box, h('span', { class: 'axis axis-left' }, '1 h ago'), h('span', { class: 'axis axis-right' }, 'now'));
  return box;
}

function details(a) {
  return h('section', { class: 'details', id: 'anomaly-details', 'data-id': String(a.id), tabindex: '-1' },
    h('h3', {}, `${a.rule} · ${a.source} ${a.type}`),
    h('dl', {},
      h('dt', {}, 'fired'), h('dd', {}, fmtTime(a.wall_ns)),
      h('dt', {}, 'window'), h('dd', {}, `${fmtTime(a.window_start_ns)} – ${fmtTime(a.window_end_ns)}`),
      h('dt', {}, 'count'), h('dd', {}, `${a.total} (acceptable ${a.acceptable_count}${a.dropped ? `, ${a.dropped} dropped` : ''})`),
      h('dt', {}, 'emergency'), h('dd', {}, a.emergency ? 'yes' : 'no'),
      h('dt', {}, 'bundle'), h('dd', {}, h('a', { href: '#/bundles/' + a.id }, 'bundle ' + a.id))),
    h('details', { open: true }, h('summary', {}, 'anomaly record'),
      h('pre', {}, JSON.stringify(a.json, null, 2))));
}

export function mount(root, ctx) {
  let timer = null, stopped = false, selected = ctx.args[0] || null, items = [];
  const top = h('div', {}), list = h('div', {}), det = h('div', {});
  add(root, top, list, det);
  const open = (a) => {
    selected = String(a.id);
    history.replaceState(null, '', '#/anomalies/' + a.id);
    add(clear(det), details(a));
    det.firstChild.focus();
  };
  const tick = async () => {
    try {
      const j = await getJSON('api/v1/anomalies?since=-1h&limit=500');
      if (stopped) return;
      items = j.items;
      add(clear(top), timeline(items, Date.now(), open),
        h('p', { class: 'meta' }, `${items.length} anomalies in the last hour${j.truncated ? ' (more not shown)' : ''}`));
      add(clear(list), table([
        ['time', (a) => fmtTime(a.wall_ns)],
        ['rule', (a) => h('button', { class: 'link', onclick: () => open(a) }, a.rule)],
        ['source', (a) => a.source], ['type', (a) => a.type], ['count', (a) => a.total],
        ['emergency', (a) => (a.emergency ? 'yes' : '')],
      ], items, { class: 'anomalies', rowAttrs: (a) => ({ 'data-id': String(a.id), 'data-rule': a.rule }) }));
      if (selected && !det.firstChild) {
        const a = items.find((x) => String(x.id) === selected);
        if (a) add(det, details(a));
      }
    } catch (e) {
      if (stopped) return;
      add(clear(top), errorBox(e));
      clear(list);
    }
    timer = setTimeout(tick, 1000);
  };
  tick();
  return { stop() { stopped = true; clearTimeout(timer); } };
}
