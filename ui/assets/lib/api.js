// Calls to Hearth's public HTTP APIs. Every call takes an AbortSignal so a
// page can cancel what it no longer needs.

/** True for the error of a request a page cancelled itself. */
export const isAbort = (e) => Boolean(e) && e.name === 'AbortError';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function url(path, params) {
  const u = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u;
}

async function request(path, { params, method = 'GET', body, headers, signal } = {}) {
  let res;
  try {
    res = await fetch(url(path, params), { method, body, headers, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach Hearth: ${e.message}`, 0);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const reason = (json && (json.error || json.message)) || text.trim() || res.statusText;
    throw new ApiError(`${res.status}: ${reason}`, res.status);
  }
  return json === null ? text : json;
}

/** A Prometheus- or Loki-style call: returns `data`, throws `error`. */
export async function api(path, params, opts = {}) {
  const json = await request(path, { params, ...opts });
  if (json && typeof json === 'object' && 'status' in json && 'data' in json) {
    if (json.status !== 'success') throw new ApiError(json.error || 'query failed', 200);
    return json.data;
  }
  return json;
}

/** A call whose answer is returned as is (Tempo, Alertmanager). */
export function raw(path, params, opts = {}) {
  return request(path, { params, ...opts });
}

/** POSTs a JSON body; returns the answer as is. */
export function postJSON(path, body, opts = {}) {
  return request(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    ...opts,
  });
}

/** DELETE `path`. */
export function del(path, opts = {}) {
  return request(path, { method: 'DELETE', ...opts });
}

/** The plain-text self-metrics, as { name{labels}: value }. */
export async function selfMetrics(opts = {}) {
  const text = await request('/metrics', opts);
  const out = new Map();
  for (const line of String(text).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([^\s{]+)(\{[^}]*\})?\s+(\S+)/);
    if (m) out.set(m[1] + (m[2] || ''), Number(m[3]));
  }
  return out;
}
