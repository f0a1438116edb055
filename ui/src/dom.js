// Small DOM helpers. Text from the agent (comm, paths, summaries) only ever goes in as
// text nodes, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function fmtTime(ns) {
  if (ns === null || ns === undefined) return '';
  const d = new Date(Number(BigInt(ns) / 1000000n));
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + ' GiB';
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}

export function fmtUs(us) {
  if (us === null || us === undefined) return '–';
  if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';
  if (us >= 1e3) return (us / 1e3).toFixed(2) + ' ms';
  return Math.round(us) + ' µs';
}

export function fmtNsDur(ns) {
  return ns === null || ns === undefined ? '' : fmtUs(ns / 1000);
}

// A table from rows and [heading, row => cell] columns, in a scrollable box.
export function table(columns, rows, opts = {}) {
  const head = h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)));
  const body = rows.map((r) => {
    const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {},
      columns.map(([, f]) => {
        const v = f(r);
        return h('td', {}, v instanceof Node ? v : v === null || v === undefined ? '' : String(v));
      }));
    return tr;
  });
  return h('div', { class: 'table-wrap' },
    h('table', { class: opts.class || '' },
      opts.caption ? h('caption', {}, opts.caption) : null,
      h('thead', {}, head), h('tbody', {}, body)));
}

export function errorBox(err) {
  const needsToken = err && err.status === 401;
  return h('p', { class: needsToken ? 'refused' : 'error', role: 'alert',
                  'data-status': err && err.status ? err.status : '' },
    needsToken ? 'Refused without the API token (401): ' : 'Error: ',
    err && err.message ? err.message : String(err),
    needsToken ? ' Enter the token (the content of http.token_file) above.' : '');
}

// el.append(), but arrays are flattened and null/undefined/false left out.
export function add(el, ...kids) {
  for (const c of kids.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
