// The agent's API (docs/api.md). The token lives in this tab's sessionStorage and goes
// out as an Authorization header; no cookies are involved (credentials: 'omit').

const KEY = 'aod-token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(path, init = {}) {
  const headers = Object.assign({}, init.headers);
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let r;
  try {
    r = await fetch(path, Object.assign({}, init, { headers, cache: 'no-store', credentials: 'omit' }));
  } catch (e) {
    throw new ApiError(0, 'the agent did not answer (' + e.message + ')');
  }
  if (!r.ok) {
    let msg = r.statusText;
    try {
      const j = await r.json();
      if (j && j.error) msg = j.error;
    } catch (e) { /* not JSON: keep the status text */ }
    throw new ApiError(r.status, msg);
  }
  return r;
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export async function getText(path) {
  return (await request(path)).text();
}

export async function getBlob(path) {
  return (await request(path)).blob();
}

export async function post(path) {
  return (await request(path, { method: 'POST' })).json();
}
