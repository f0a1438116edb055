// The latest health report the agent made (health.interval_sec): its scalar fields, then
// each part as a table or as JSON.
import { h, add, clear, table, errorBox } from './dom.js';
import { getJSON } from './api.js';

function part(name, v) {
  if (name === 'summary' && !Array.isArray(v)) {
    return h('section', { class: 'details', 'aria-label': 'summary' }, h('h3', {}, 'Summary'),
      h('dl', {}, Object.entries(v).flatMap(([k, x]) => [h('dt', {}, k),
        h('dd', {}, x !== null && typeof x === 'object' ? h('pre', {}, JSON.stringify(x, null, 2)) : String(x))])));
  }
  if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
    const cols = [...new Set(v.flatMap((x) => Object.keys(x).filter((k) => typeof x[k] !== 'object' || x[k] === null)))].slice(0, 8);
    return h('details', { open: v.length <= 20 }, h('summary', {}, `${name} (${v.length})`),
      table(cols.map((k) => [k, (r) => r[k]]), v));
  }
  return h('details', {}, h('summary', {}, name), h('pre', {}, JSON.stringify(v, null, 2)));
}

export function mount(root) {
  let timer = null, stopped = false;
  const tick = async () => {
    try {
      const j = await getJSON('api/v1/health');
      if (stopped) return;
      const r = j.report || {};
      const scalars = Object.entries(r).filter(([, v]) => v === null || typeof v !== 'object');
      // the summary (status, problems) first and open; the parts after it, closed
      const parts = Object.entries(r).filter(([, v]) => v !== null && typeof v === 'object')
        .sort(([a], [b]) => (a === 'summary' ? -1 : b === 'summary' ? 1 : 0));
      add(clear(root), h('p', { class: 'meta' }, `report ${j.runs} made by this agent`),
        h('dl', { class: 'health-summary' }, scalars.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
        parts.map(([k, v]) => part(k, v)));
    } catch (e) {
      if (stopped) return;
      add(clear(root), errorBox(e));
    }
    timer = setTimeout(tick, 10000);
  };
  tick();
  return { stop() { stopped = true; clearTimeout(timer); } };
}
