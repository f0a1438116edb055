// Bundles: the list (every 5 s), one bundle's summary and manifest, and downloads (fetched
// with the token, handed to the browser as a blob: there is no cookie to carry it).
import { h, add, clear, table, fmtTime, fmtBytes, errorBox } from './dom.js';
import { getJSON, getBlob, post } from './api.js';

async function download(b, status) {
  status.textContent = `downloading ${b.file}…`;
  try {
    const blob = await getBlob(`api/v1/bundles/${b.id}/download`);
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: b.file });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = `downloaded ${b.file} (${fmtBytes(blob.size)})`;
  } catch (e) {
    add(clear(status), errorBox(e));
  }
}

function listView(root) {
  let timer = null, stopped = false;
  const status = h('div', { 'aria-live': 'polite', class: 'status-line' });
  const snap = h('button', { id: 'snapshot', onclick: async () => {
    try {
      await post('api/v1/snapshot');
      status.textContent = 'snapshot queued: the bundle appears here when written';
    } catch (e) { add(clear(status), errorBox(e)); }
  } }, 'Make a bundle now');
  const list = h('div', {});
  add(root, h('p', {}, snap), status, list);
  const tick = async () => {
    try {
      const j = await getJSON('api/v1/bundles');
      if (stopped) return;
      add(clear(list), j.items.length ? table([
        ['time', (b) => fmtTime(b.id)],
        ['source', (b) => b.source], ['type', (b) => b.type], ['size', (b) => fmtBytes(b.size)],
        ['', (b) => h('span', { class: 'actions' },
          h('a', { href: '#/bundles/' + b.id, class: 'summary-link' }, 'summary'), ' ',
          h('button', { class: 'link', onclick: () => download(b, status) }, 'download'))],
      ], j.items, { class: 'bundles', rowAttrs: (b) => ({ 'data-id': b.id }) }) : h('p', {}, 'no bundles yet'));
    } catch (e) {
      if (stopped) return;
      add(clear(list), errorBox(e));
    }
    timer = setTimeout(tick, 5000);
  };
  tick();
  return { stop() { stopped = true; clearTimeout(timer); } };
}

function actions(manifest) {
  const acts = manifest && Array.isArray(manifest.actions) ? manifest.actions : [];
  if (!acts.length) return null;
  const cols = Object.keys(acts[0]).filter((k) => typeof acts[0][k] !== 'object').slice(0, 8);
  return table(cols.map((k) => [k, (r) => r[k]]), acts, { caption: 'Actions (manifest.json)' });
}

function oneView(root, id) {
  const status = h('div', { 'aria-live': 'polite', class: 'status-line' });
  add(root, h('p', {}, h('a', { href: '#/bundles' }, '← all bundles')), status);
  getJSON('api/v1/bundles/' + encodeURIComponent(id)).then((b) => {
    add(root, 
      h('p', { class: 'meta' }, `${b.file}, ${fmtBytes(b.size)}, written ${fmtTime(b.id)} `,
        h('button', { class: 'link', onclick: () => download(b, status) }, 'download')),
      h('h3', {}, 'summary.txt'),
      h('pre', { class: 'summary', id: 'bundle-summary', tabindex: '0' },
        b.summary === null ? '(no summary.txt in this bundle)' : b.summary),
      b.summary_truncated ? h('p', {}, '(cut at 1 MiB: download the bundle for the rest)') : null,
      actions(b.manifest),
      h('details', {}, h('summary', {}, 'manifest.json'), h('pre', {}, JSON.stringify(b.manifest, null, 2))));
  }).catch((e) => add(root, errorBox(e)));
  return { stop() {} };
}

export function mount(root, ctx) {
  return ctx.args[0] ? oneView(root, ctx.args[0]) : listView(root);
}
