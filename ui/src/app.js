// aod's web UI: one page, views chosen by the #fragment, each refreshing itself while it
// is shown. Keys: 1..8 switch views (outside text fields), Tab moves through everything.
import { h, clear } from './dom.js';
import { token, setToken } from './api.js';
import * as overview from './overview.js';
import * as latency from './latency.js';
import * as anomalies from './anomalies.js';
import * as bundles from './bundles.js';
import * as processes from './processes.js';
import * as health from './health.js';
import * as config from './config.js';

const VIEWS = [
  ['overview', 'Overview', overview],
  ['latency', 'Live latency', latency],
  ['anomalies', 'Anomalies', anomalies],
  ['bundles', 'Bundles', bundles],
  ['processes', 'Processes', processes],
  ['health', 'Health', health],
  ['config', 'Config', config],
];

let current = null;

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const v = VIEWS.find(([id]) => id === parts[0]) || VIEWS[0];
  return { id: v[0], title: v[1], mod: v[2], args: parts.slice(1).map(decodeURIComponent) };
}

function show() {
  const r = route();
  if (current && current.stop) current.stop();
  current = null;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === r.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = clear(document.getElementById('main'));
  const heading = h('h2', { tabindex: '-1', id: 'view-title' }, r.title);
  const body = h('div', { class: 'view', id: 'view-' + r.id });
  main.append(heading, body);
  document.title = 'aod · ' + r.title;
  current = r.mod.mount(body, { args: r.args });
  if (document.activeElement && document.activeElement.closest('#nav')) heading.focus();
}

function nav() {
  const el = document.getElementById('nav');
  VIEWS.forEach(([id, title], i) => {
    el.append(h('a', { href: '#/' + id, 'data-view': id, title: `${title} (key ${i + 1})` },
      h('kbd', {}, String(i + 1)), ' ', title));
  });
}

function tokenForm() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const state = document.getElementById('token-state');
  const shown = () => { state.textContent = token() ? 'token set' : 'no token'; };
  input.value = '';
  shown();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    input.value = '';
    shown();
    show();
  });
  document.getElementById('token-clear').addEventListener('click', () => {
    setToken('');
    shown();
    show();
  });
}

function keys() {
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    const n = Number(e.key);
    if (n >= 1 && n <= VIEWS.length) {
      location.hash = '#/' + VIEWS[n - 1][0];
      document.getElementById('view-title')?.focus();
    }
  });
}

nav();
tokenForm();
keys();
window.addEventListener('hashchange', show);
show();
