// The log lines list of the Logs page: rows, their details panel, and the
// small text helpers both need.
import { h, table, quote } from '../lib/dom.js';
import { formatTimeMs } from '../lib/time.js';

const TRACE_KEYS = ['trace_id', 'traceid', 'traceID', 'traceId'];
const TRACE_IN_LINE = /trace_?id["'=: ]+([0-9a-fA-F]{16,32})\b/i;
// CSI sequences (colours, cursor moves) and the shorter ESC forms.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]/g;

export const stripAnsi = (s) => String(s).replace(ANSI, '');

/** Entries of a `streams` result (with or without categorized labels),
 *  sorted newest first when `backward`. */
export function entriesFromStreams(streams, backward = true) {
  const out = [];
  for (const s of streams || []) {
    const stream = s.stream || {};
    for (const v of s.values || []) {
      const extra = v[2] || {};
      out.push({
        ts: String(v[0]), line: v[1], stream,
        meta: extra.structuredMetadata || {}, parsed: extra.parsed || {},
      });
    }
  }
  out.sort(backward ? (a, b) => cmpTs(b.ts, a.ts) : (a, b) => cmpTs(a.ts, b.ts));
  return out;
}

// Nanosecond timestamps do not fit a double; as digit strings of the same
// length they sort as text.
export function cmpTs(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const seconds = (ts) => (ts.length > 6 ? Number(ts.slice(0, -6)) / 1000 : Number(ts) / 1e9);

/** The label keys worth showing on each row: those whose values differ
 *  between the streams, else service or job. */
export function summaryKeys(streams) {
  const values = new Map();
  for (const s of streams || []) {
    for (const [k, v] of Object.entries(s.stream || {})) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k).add(v);
    }
  }
  const n = (streams || []).length;
  let keys = [...values.keys()].filter((k) => {
    const set = values.get(k);
    return set.size > 1 || (n > 1 && set.size === 1 && (streams || []).some((s) => !(k in (s.stream || {}))));
  });
  // service_name mirrors service; showing both only costs room.
  if (keys.includes('service')) keys = keys.filter((k) => k !== 'service_name');
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (!keys.length) keys = ['service', 'job'].filter((k) => values.has(k)).slice(0, 1);
  return keys.slice(0, 3);
}

const rank = (k) => ({ service: 0, job: 1, app: 2, container: 3 }[k] ?? 9);

function levelOf(e) {
  const lv = e.meta.detected_level || e.parsed.level || e.stream.detected_level || e.stream.level ||
    (String(e.line).match(/\blevel["'=: ]+"?(\w+)/i) || [])[1] || '';
  const l = lv.toLowerCase();
  if (/^(err|error|fatal|crit|critical|panic|emerg|alert)/.test(l)) return 'error';
  if (/^warn/.test(l)) return 'warn';
  if (/^(info|notice)/.test(l)) return 'info';
  if (/^(debug|trace)/.test(l)) return 'debug';
  return '';
}

/** The trace id of an entry, from its metadata or labels, else its text. */
export function traceIdOf(e) {
  for (const src of [e.meta, e.parsed, e.stream]) {
    for (const k of TRACE_KEYS) if (src[k]) return String(src[k]);
  }
  const m = String(e.line).match(TRACE_IN_LINE);
  return m ? m[1] : null;
}

/** One row of the list. `keys` are the labels summarised on it. */
export function lineRow(e, keys) {
  const lv = levelOf(e);
  const all = { ...e.stream };
  const summary = keys.filter((k) => all[k] !== undefined).map((k) => `${k}=${all[k]}`);
  return h('div', {
    class: `log-line${lv ? ` lvl-${lv}` : ''}`, tabindex: 0, role: 'button',
    'aria-expanded': 'false', 'data-testid': 'log-line', dataset: { ts: e.ts },
  },
  h('span', { class: 'log-time mono', title: `${e.ts} ns` }, formatTimeMs(seconds(e.ts))),
  h('span', { class: 'log-labels mono', title: Object.entries(all).map(([k, v]) => `${k}=${v}`).join(' ') },
    summary.join(' ')),
  h('span', { class: 'log-text mono' }, stripAnsi(e.line)));
}

/** The details panel under a row. `onFilter(name, value)` adds a matcher
 *  for a stream label to the query. */
export function details(e, onFilter) {
  const id = traceIdOf(e);
  const kv = (obj, filter) => {
    const rows = Object.entries(obj).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [
      k,
      h('span', { class: 'log-val' }, String(v),
        filter ? h('button', {
          class: 'log-add', type: 'button', title: `Add ${k}=${quote(v)} to the query`,
          'aria-label': `Filter by ${k}`, onclick: (ev) => { ev.stopPropagation(); onFilter(k, v); },
        }, '+') : null),
    ]);
    return table(['Name', 'Value'], rows, { class: 'log-kv mono' });
  };
  const section = (title, obj, filter) => (Object.keys(obj).length
    ? h('div', { class: 'log-section' }, h('h3', {}, title), kv(obj, filter)) : null);
  return h('div', { class: 'log-details', 'data-testid': 'log-details' },
    h('div', { class: 'log-meta' },
      h('span', {}, 'Timestamp ', h('code', {}, e.ts), ' ns'),
      id ? h('a', { href: `#/traces/${encodeURIComponent(id)}`, 'data-testid': 'trace-link', class: 'log-trace' },
        'View trace ', h('code', {}, id)) : null),
    h('div', { class: 'log-sections' },
      section('Stream labels', e.stream, true),
      section('Structured metadata', e.meta, false),
      section('Parsed labels', e.parsed, false)),
    h('pre', { class: 'log-raw mono' }, stripAnsi(e.line)));
}

/** Adds `name="value"` to the first stream selector of `query` (replacing
 *  an equality matcher on the same label), or starts one. */
export function addMatcher(query, name, value) {
  const matcher = `${name}=${quote(value)}`;
  const q = query.trim();
  const span = selectorSpan(q);
  if (!span) return q ? `{${matcher}} ${q}` : `{${matcher}}`;
  const [open, close] = span;
  const inner = q.slice(open + 1, close);
  const re = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(,|$)/gy;
  const parts = [];
  let m;
  let pos = 0;
  while ((m = re.exec(inner)) !== null && m[0].length) {
    parts.push({ name: m[1], op: m[2], text: `${m[1]}${m[2]}${m[3]}` });
    pos = re.lastIndex;
  }
  let body;
  if (pos !== inner.length || !parts.length) {
    // Not a selector we understand in full: append, never lose text.
    body = inner.trim() ? `${inner.trim()}, ${matcher}` : matcher;
  } else {
    const same = parts.find((p) => p.name === name && p.op === '=');
    if (same) same.text = matcher;
    else parts.push({ text: matcher });
    body = parts.map((p) => p.text).join(', ');
  }
  return `${q.slice(0, open)}{${body}}${q.slice(close + 1)}`;
}

// [index of "{", index of its "}"] of the first selector, skipping strings.
function selectorSpan(q) {
  let open = -1;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '"' || c === '`') {
      const end = c === '`' ? q.indexOf('`', i + 1) : closingQuote(q, i);
      if (end < 0) return null;
      i = end;
    } else if (c === '{' && open < 0) {
      open = i;
    } else if (c === '}' && open >= 0) {
      return [open, i];
    }
  }
  return null;
}

function closingQuote(q, i) {
  for (let j = i + 1; j < q.length; j++) {
    if (q[j] === '\\') j++;
    else if (q[j] === '"') return j;
  }
  return -1;
}
