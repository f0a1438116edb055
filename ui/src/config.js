// The running config, read only: the file's text and whether it changed since the agent
// loaded it (kill -HUP reloads).
import { h, add, errorBox } from './dom.js';
import { getJSON } from './api.js';

export function mount(root) {
  getJSON('api/v1/config').then((c) => {
    add(root, 
      h('p', { class: 'meta' }, c.embedded ? 'the embedded default config (no --config)' : c.path,
        ` · loaded hash ${c.loaded_hash}`),
      c.file_changed_since_load ? h('p', { class: 'warn', role: 'status' },
        'The file changed since the agent loaded it: this is the file, not what runs (reload with kill -HUP).') : null,
      h('pre', { class: 'config', id: 'config-text', tabindex: '0' }, c.text));
  }).catch((e) => add(root, errorBox(e)));
  return { stop() {} };
}
