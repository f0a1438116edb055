// Process runs from the store: the agent runs and traces (table runs), and the processes
// of the chosen run (table processes), newest first.
import { h, add, clear, table, fmtTime, fmtBytes, fmtNsDur, errorBox } from './dom.js';
import { getJSON } from './api.js';

function exit(p) {
  if (p.exit_wall_ns === null) return 'running';
  if (p.exit_signal) return `signal ${p.exit_signal}${p.core_dumped ? ' (core)' : ''}`;
  return p.oom_killed ? `OOM killed` : `exit ${p.exit_code}`;
}

export function mount(root, ctx) {
  const runsBox = h('div', {}), procBox = h('div', {});
  add(root, runsBox, procBox);
  const showProcs = async (run) => {
    add(clear(procBox), h('p', {}, 'loading…'));
    try {
      const j = await getJSON(`api/v1/processes?run=${encodeURIComponent(run)}&limit=1000`);
      add(clear(procBox), h('h3', {}, `Processes of run ${run}`), j.items.length ? table([
        ['started', (p) => fmtTime(p.start_wall_ns)],
        ['pid', (p) => p.tgid], ['ppid', (p) => p.ppid], ['comm', (p) => p.comm],
        ['command line', (p) => p.cmdline], ['unit', (p) => p.unit],
        ['duration', (p) => fmtNsDur(p.duration_ns)], ['end', exit],
        ['CPU', (p) => fmtNsDur((p.cpu_user_ns || 0) + (p.cpu_sys_ns || 0))],
        ['peak RSS', (p) => fmtBytes(p.peak_rss_bytes)],
      ], j.items, { class: 'processes' }) : h('p', {}, 'no processes recorded for this run (the process probe records them)'),
      j.truncated ? h('p', {}, 'first 1000 shown') : null);
    } catch (e) {
      add(clear(procBox), errorBox(e));
    }
  };
  getJSON('api/v1/runs?limit=100').then((j) => {
    add(clear(runsBox), table([
      ['run', (r) => h('button', { class: 'link', onclick: () => {
        history.replaceState(null, '', '#/processes/' + r.id); showProcs(r.id);
      } }, String(r.id))],
      ['kind', (r) => r.kind], ['started', (r) => fmtTime(r.started_ns)],
      ['ended', (r) => (r.ended_ns === null ? 'running' : fmtTime(r.ended_ns))],
      ['host', (r) => r.host], ['command / config', (r) => r.command || r.config_path],
      ['exit', (r) => r.exit_code],
    ], j.items, { caption: 'Runs', class: 'runs' }));
    const run = ctx.args[0] || (j.items[0] && j.items[0].id);
    if (run) showProcs(run);
  }).catch((e) => add(clear(runsBox), errorBox(e)));
  return { stop() {} };
}
