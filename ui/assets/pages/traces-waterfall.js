// One trace as a tree of spans: parsing the OTLP/JSON answer, the
// waterfall, and the details of one span.
import { h, replace, table } from '../lib/dom.js';
import { formatNanos, formatTimeMs } from '../lib/time.js';
import { PALETTE } from '../lib/chart.js';

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES = ['unset', 'ok', 'error'];

// Nanosecond timestamps do not fit a double, so offsets are taken in BigInt.
function nanos(v) {
  try {
    return BigInt(String(v ?? '0').split('.')[0] || '0');
  } catch {
    return 0n;
  }
}

/** Ids as hex; OTLP/JSON from some senders carries them in base64. */
export function hexId(id) {
  const s = String(id || '');
  if (/^[0-9a-f]*$/i.test(s)) return s.toLowerCase();
  try {
    return Array.from(atob(s), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch {
    return s;
  }
}

// Enums come as numbers from Hearth but as "SPAN_KIND_SERVER" from others.
function enumName(v, names) {
  if (typeof v === 'number') return names[v] || String(v);
  const s = String(v ?? '').toLowerCase().replace(/^(span_kind|status_code)_/, '');
  return /^\d+$/.test(s) ? names[Number(s)] || s : s || names[0];
}

/** The text of an OTLP AnyValue. */
export function attrValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return `[${((v.arrayValue || {}).values || []).map(attrValue).join(', ')}]`;
  if ('kvlistValue' in v) {
    return `{${((v.kvlistValue || {}).values || []).map((kv) => `${kv.key}=${attrValue(kv.value)}`).join(', ')}}`;
  }
  return '';
}

function hash(s) {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(x);
}

/** A service's colour wherever no trace is at hand (the search list). */
export function serviceColor(name) {
  return PALETTE[hash(String(name)) % PALETTE.length];
}

/** A small coloured square for a service. */
export function swatch(color) {
  return h('span', { class: 'swatch', style: { background: color }, 'aria-hidden': 'true' });
}

/** The spans of an OTLP/JSON trace in tree order, or null when it has none. */
export function parseTrace(json) {
  const spans = [];
  for (const batch of (json && (json.batches || json.resourceSpans)) || []) {
    const resource = (batch.resource && batch.resource.attributes) || [];
    const svc = resource.find((a) => a.key === 'service.name');
    const service = (svc && attrValue(svc.value)) || 'unknown service';
    for (const scoped of batch.scopeSpans || batch.instrumentationLibrarySpans || []) {
      for (const s of scoped.spans || []) {
        const start = nanos(s.startTimeUnixNano);
        const end = nanos(s.endTimeUnixNano);
        const status = s.status || {};
        spans.push({
          id: hexId(s.spanId), parent: hexId(s.parentSpanId), traceId: hexId(s.traceId),
          name: s.name || '', service, resource, start, end: end < start ? start : end,
          kind: enumName(s.kind ?? 0, KINDS), status: enumName(status.code ?? 0, STATUSES),
          message: status.message || '', attributes: s.attributes || [], events: s.events || [],
          links: s.links || [], children: [], depth: 0,
        });
      }
    }
  }
  if (!spans.length) return null;
  let start = spans[0].start;
  let end = spans[0].end;
  for (const s of spans) {
    if (s.start < start) start = s.start;
    if (s.end > end) end = s.end;
  }
  const byId = new Map(spans.map((s) => [s.id, s]));
  const roots = [];
  for (const s of spans) {
    const p = s.parent && s.parent !== s.id ? byId.get(s.parent) : null;
    (p ? p.children : roots).push(s);
  }
  const byStart = (a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);
  const flat = [];
  const seen = new Set();
  const walk = (list, depth) => {
    list.sort(byStart);
    for (const s of list) {
      if (seen.has(s)) continue;
      seen.add(s);
      s.depth = depth;
      flat.push(s);
      walk(s.children, depth + 1);
    }
  };
  walk(roots, 0);
  // Spans in a parent cycle are reachable from no root; show them anyway.
  const lost = spans.filter((s) => !seen.has(s));
  if (lost.length) walk(lost, 0);

  // Distinct colours inside a trace, stable across traces where possible.
  const colors = new Map();
  const used = new Set();
  for (const name of [...new Set(spans.map((s) => s.service))].sort()) {
    let i = hash(name) % PALETTE.length;
    for (let k = 0; k < PALETTE.length && used.has(i); k++) i = (i + 1) % PALETTE.length;
    used.add(i);
    colors.set(name, PALETTE[i]);
  }
  return {
    spans: flat, byId, start, end, colors,
    root: flat[0],
    traceId: flat[0].traceId,
    services: colors.size,
    errors: spans.filter((s) => s.status === 'error').length,
  };
}

/** Unix seconds (to the millisecond) of a nanosecond BigInt. */
export function nanosToSeconds(n) {
  return Number(n / 1000000n) / 1000;
}

function signedNanos(n) {
  return n < 0 ? `-${formatNanos(-n)}` : `+${formatNanos(n)}`;
}

/** The waterfall. onSelect(spanId) is called on a click; select(id) marks
 *  a span (expanding its ancestors). */
export function waterfall(trace, onSelect) {
  const collapsed = new Set();
  const total = Number(trace.end - trace.start) || 1;
  let selected = '';
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    h('span', { class: 'wf-tick', style: { left: `${f * 100}%` } }, f ? formatNanos(Math.round(total * f)) : '0'));
  const body = h('div', { class: 'wf-rows', role: 'tree', 'aria-label': 'Spans' });
  const el = h('div', { class: 'waterfall', 'data-testid': 'waterfall' },
    h('div', { class: 'wf-head' }, h('div', { class: 'wf-name' }, 'Service / span'), h('div', { class: 'wf-axis' }, ticks)),
    body);

  function keydown(e, s) {
    const row = e.currentTarget;
    if (e.key === 'Enter' || e.key === ' ') onSelect(s.id);
    else if (e.key === 'ArrowDown' && row.nextElementSibling) row.nextElementSibling.focus();
    else if (e.key === 'ArrowUp' && row.previousElementSibling) row.previousElementSibling.focus();
    else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && s.children.length) {
      if (e.key === 'ArrowLeft') collapsed.add(s.id);
      else collapsed.delete(s.id);
      draw();
      body.querySelector(`[data-span-id="${CSS.escape(s.id)}"]`).focus();
    } else return;
    e.preventDefault();
  }

  function row(s) {
    const closed = collapsed.has(s.id);
    const color = trace.colors.get(s.service);
    const dur = Number(s.end - s.start);
    const left = (Number(s.start - trace.start) / total) * 100;
    const width = (dur / total) * 100;
    // The label goes after the bar unless that would run off the right edge.
    const labelStyle = left + width < 72 ? { left: `calc(${left + width}% + 4px)` } : { right: `calc(${100 - left}% + 4px)` };
    const inside = left + width >= 72 && left < 15;
    if (inside) Object.assign(labelStyle, { right: `calc(${100 - left - width}% + 4px)`, left: '' });
    const toggle = s.children.length
      ? h('button', {
        class: 'wf-toggle', type: 'button', title: closed ? 'Expand' : 'Collapse',
        'aria-label': `${closed ? 'Expand' : 'Collapse'} ${s.name}`, 'aria-expanded': String(!closed),
        onclick: (e) => {
          e.stopPropagation();
          if (closed) collapsed.delete(s.id);
          else collapsed.add(s.id);
          draw();
        },
      }, closed ? '▸' : '▾')
      : h('span', { class: 'wf-toggle' });
    const error = s.status === 'error';
    const el = h('div', {
      class: `wf-row${error ? ' wf-err' : ''}${s.id === selected ? ' selected' : ''}`,
      'data-testid': 'span-row', dataset: { spanId: s.id }, role: 'treeitem', tabindex: 0,
      'aria-level': String(s.depth + 1), 'aria-selected': String(s.id === selected),
      onclick: () => onSelect(s.id), onkeydown: (e) => keydown(e, s),
    },
    h('div', { class: 'wf-name', title: `${s.service}: ${s.name}` },
      toggle, swatch(color),
      h('span', { class: 'wf-label' },
        h('span', { class: 'wf-svc' }, s.service),
        h('span', { class: 'wf-op' }, s.name)),
      error ? h('span', { class: 'badge error', title: s.message || 'error' }, '!') : null),
    h('div', { class: 'wf-track' },
      h('span', { class: 'wf-bar', style: { left: `${left}%`, width: `${width}%`, background: color } }),
      h('span', { class: inside ? 'wf-dur inside' : 'wf-dur', style: labelStyle }, formatNanos(dur))));
    el.style.setProperty('--depth', s.depth);
    return el;
  }

  function draw() {
    const rows = [];
    let hideBelow = Infinity;
    for (const s of trace.spans) {
      if (s.depth > hideBelow) continue;
      hideBelow = collapsed.has(s.id) ? s.depth : Infinity;
      rows.push(row(s));
    }
    replace(body, rows);
  }

  function select(id) {
    selected = id || '';
    const seen = new Set();
    for (let p = trace.byId.get(selected); p && !seen.has(p); p = trace.byId.get(p.parent)) {
      seen.add(p);
      if (p.id !== selected) collapsed.delete(p.id);
    }
    // Redrawing drops the focus; keep it for keyboard users.
    const hadFocus = body.contains(document.activeElement);
    draw();
    const row = hadFocus && selected && body.querySelector(`[data-span-id="${CSS.escape(selected)}"]`);
    if (row) row.focus({ preventScroll: true });
  }

  draw();
  return { el, select };
}

function attrTable(attrs, empty) {
  if (!attrs.length) return h('p', { class: 'muted' }, empty);
  return table(['Key', 'Value'], attrs.map((a) => [h('span', { class: 'mono' }, a.key), h('span', { class: 'mono val' }, attrValue(a.value))]), { class: 'kv' });
}

/** The details of one span. traceHref(id) links to another trace. */
export function spanDetails(trace, s, traceHref) {
  const offset = Number(s.start - trace.start);
  const parent = s.parent ? trace.byId.get(s.parent) : null;
  const statusText = s.status + (s.message ? `: ${s.message}` : '');
  const facts = [
    ['Service', h('span', {}, swatch(trace.colors.get(s.service)), ' ', s.service)],
    ['Name', s.name],
    ['Kind', s.kind],
    ['Status', s.status === 'error' ? h('span', { class: 'badge error' }, statusText) : statusText],
    ['Span ID', h('span', { class: 'mono' }, s.id)],
    ['Parent ID', s.parent ? h('span', { class: 'mono' }, s.parent, parent ? '' : ' (not in this trace)') : h('span', { class: 'muted' }, 'none (root)')],
    ['Start', `${formatTimeMs(nanosToSeconds(s.start))} (+${formatNanos(offset)})`],
    ['Duration', formatNanos(Number(s.end - s.start))],
  ];
  const events = s.events.map((e) => [
    h('span', { class: 'mono' }, signedNanos(Number(nanos(e.timeUnixNano) - s.start))),
    e.name || '',
    h('span', { class: 'mono val' }, (e.attributes || []).map((a) => `${a.key}=${attrValue(a.value)}`).join(' ')),
  ]);
  const links = s.links.map((l) => {
    const id = hexId(l.traceId);
    return [h('a', { class: 'mono', href: traceHref(id) }, id.slice(0, 16)), h('span', { class: 'mono' }, hexId(l.spanId))];
  });
  return [
    h('h2', {}, s.name || '(no name)'),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h3', {}, 'Span attributes'), attrTable(s.attributes, 'None.'),
    h('h3', {}, 'Resource attributes'), attrTable(s.resource, 'None.'),
    h('h3', {}, `Events (${events.length})`),
    events.length ? h('div', { class: 'scroll' }, table(['Offset', 'Name', 'Attributes'], events, { class: 'kv events' })) : h('p', { class: 'muted' }, 'None.'),
    links.length ? [h('h3', {}, 'Links'), table(['Trace', 'Span'], links, { class: 'kv' })] : null,
  ];
}
