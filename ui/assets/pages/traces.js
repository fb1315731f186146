// Traces: a TraceQL search (with fields that write the TraceQL for people
// who do not know it) and one trace as a waterfall.
import { h, replace, errorBox, quote, loadCss } from '../lib/dom.js';
import { raw, isAbort } from '../lib/api.js';
import { formatNanos, formatTime, formatTimeMs, formatDuration, resolveRange, rangeControls } from '../lib/time.js';
import { href, update as go } from '../lib/route.js';
import { parseTrace, waterfall, spanDetails, serviceColor, swatch, nanosToSeconds } from './traces-waterfall.js';

// Kept in the trace view's URL so that "back" returns to the same results.
const SEARCH_KEYS = ['q', 'range', 'end', 'limit', 'service', 'name', 'min', 'max'];
const DEFAULT_LIMIT = 20;


function searchParams(params) {
  const out = new URLSearchParams();
  for (const k of SEARCH_KEYS) if (params.get(k)) out.set(k, params.get(k));
  return out;
}

function traceHref(id, params) {
  const qs = searchParams(params).toString();
  return `#/traces/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`;
}

export function render(main, route) {
  loadCss('/ui/pages/traces.css');
  let view = null;
  let key = null;
  const show = (r) => {
    const next = r.rest[0] ? `trace:${r.rest[0]}` : 'search';
    if (view && next === key) {
      view.update(r);
      return;
    }
    if (view) view.destroy();
    replace(main);
    key = next;
    view = r.rest[0] ? traceView(main, r) : searchView(main, r);
  };
  show(route);
  return { update: show, destroy: () => view && view.destroy() };
}

// A TraceQL duration ("100ms", "1m30s"); a bare number means milliseconds.
// null when it is not one.
function normDuration(text) {
  const s = text.trim();
  if (!s) return '';
  if (/^\d+(\.\d+)?$/.test(s)) return `${s}ms`;
  return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s) ? s : null;
}

function field(label, control) {
  return h('label', { class: 'tr-field' }, h('span', { class: 'muted' }, label), control);
}

// Options from a tag-values answer, keeping `keep` even when it is not
// among them (a value from the URL before the list has loaded).
function fillSelect(select, values, anyLabel, keep) {
  const list = [...new Set(values)].sort((a, b) => a.localeCompare(b));
  if (keep && !list.includes(keep)) list.unshift(keep);
  replace(select, h('option', { value: '' }, anyLabel), list.map((v) => h('option', { value: v }, v)));
  select.value = keep || '';
}

const tagValues = (r) => ((r && r.tagValues) || []).map((t) => String(t.value));

function searchView(main, route) {
  let params = route.params;
  let searchCtl = null;
  let namesCtl = null;
  const tagsCtl = new AbortController();

  const service = h('select', { 'data-testid': 'trace-service', 'aria-label': 'Service', onchange: () => { loadNames(''); fieldsChanged(); } });
  const spanName = h('select', { 'aria-label': 'Span name', onchange: fieldsChanged });
  const durInput = (label) => h('input', {
    class: 'tr-dur-input', size: 7, placeholder: 'e.g. 100ms', 'aria-label': label, title: 'e.g. 250ms, 1.5s, 2m',
    autocomplete: 'off', onchange: fieldsChanged,
  });
  const min = durInput('Minimum duration');
  const max = durInput('Maximum duration');
  const input = h('input', {
    class: 'query', 'data-testid': 'traceql-input', 'aria-label': 'TraceQL query', spellcheck: false,
    autocomplete: 'off', placeholder: '{ resource.service.name="checkout" && duration>100ms }',
    onkeydown: (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        run();
      }
    },
  });
  const limit = h('input', { type: 'number', min: 1, max: 1000, class: 'tr-limit', 'aria-label': 'Maximum number of traces' });
  const rangeSlot = h('span', {});
  const tagNote = h('span', { class: 'notice' });
  const results = h('div', { class: 'trace-results', 'data-testid': 'trace-results', 'aria-live': 'polite' });

  const fields = () => ({ service: service.value, name: spanName.value, min: min.value.trim(), max: max.value.trim() });

  function run(extra = {}) {
    const q = input.value.trim() || '{}';
    // A hand-edited query is no longer what the fields say: forget them.
    if (q !== built() && Object.values(fields()).some(Boolean)) {
      fillSelect(service, [...service.options].map((o) => o.value).filter(Boolean), 'Any service', '');
      loadNames('');
      min.value = '';
      max.value = '';
    }
    go({ q, limit: limit.value || String(DEFAULT_LIMIT), ...fields(), ...extra });
  }

  // The TraceQL the fields describe; null when a duration is not one.
  function built() {
    const parts = [];
    if (service.value) parts.push(`resource.service.name=${quote(service.value)}`);
    if (spanName.value) parts.push(`name=${quote(spanName.value)}`);
    for (const [el, op] of [[min, '>'], [max, '<']]) {
      const d = normDuration(el.value);
      if (d === null) return null;
      if (d) parts.push(`duration${op}${d}`);
    }
    return parts.length ? `{${parts.join(' && ')}}` : '{}';
  }

  function fieldsChanged() {
    for (const el of [min, max]) {
      const bad = normDuration(el.value) === null;
      el.setCustomValidity(bad ? 'not a duration, e.g. 100ms or 1.5s' : '');
      if (bad) {
        el.reportValidity();
        return;
      }
    }
    input.value = built();
    run();
  }

  function loadNames(keep) {
    if (namesCtl) namesCtl.abort();
    namesCtl = new AbortController();
    fillSelect(spanName, [], 'Any span name', keep);
    const q = service.value ? { q: `{resource.service.name=${quote(service.value)}}` } : {};
    raw('/api/v2/search/tag/name/values', q, { signal: namesCtl.signal })
      .then((r) => fillSelect(spanName, tagValues(r), 'Any span name', spanName.value))
      .catch((e) => { if (!isAbort(e)) tagNote.textContent = `span names unavailable: ${e.message}`; });
  }

  // Puts the URL's state into the controls.
  function sync() {
    input.value = params.get('q') || '{}';
    limit.value = params.get('limit') || String(DEFAULT_LIMIT);
    min.value = params.get('min') || '';
    max.value = params.get('max') || '';
    const svc = params.get('service') || '';
    if (svc !== service.value) {
      fillSelect(service, [...service.options].map((o) => o.value).filter(Boolean), 'Any service', svc);
      loadNames(params.get('name') || '');
    } else if ((params.get('name') || '') !== spanName.value) {
      fillSelect(spanName, [...spanName.options].map((o) => o.value).filter(Boolean), 'Any span name', params.get('name') || '');
    }
    replace(rangeSlot, rangeControls(params, (changes) => run(changes)));
  }

  async function search() {
    if (searchCtl) searchCtl.abort();
    searchCtl = new AbortController();
    const { start, end } = resolveRange(params);
    const lim = Number(params.get('limit')) || DEFAULT_LIMIT;
    replace(results, h('p', { class: 'muted' }, 'Searching…'));
    try {
      const res = await raw('/api/search', {
        q: params.get('q') || '{}', start: Math.floor(start), end: Math.ceil(end), limit: lim,
      }, { signal: searchCtl.signal });
      const traces = (res && res.traces) || [];
      if (!traces.length) {
        replace(results, h('p', { class: 'muted' }, 'No traces match in this time range.'));
        return;
      }
      replace(results,
        h('p', { class: 'muted tr-count' }, `${traces.length} trace${traces.length === 1 ? '' : 's'}`,
          traces.length >= lim ? ` (the limit; raise it to see more)` : ''),
        h('div', { class: 'tr-head', 'aria-hidden': 'true' },
          h('span', {}, 'Trace'), h('span', {}, 'Root'), h('span', {}, 'Start'),
          h('span', { class: 'num' }, 'Duration'), h('span', { class: 'num' }, 'Spans')),
        traces.map(resultRow));
    } catch (e) {
      if (!isAbort(e)) replace(results, errorBox(e));
    }
  }

  function resultRow(t) {
    const stats = Object.values(t.serviceStats || {});
    const spans = stats.reduce((n, s) => n + (Number(s.spanCount) || 0), 0);
    const errors = stats.reduce((n, s) => n + (Number(s.errorCount) || 0), 0);
    const id = String(t.traceID || '');
    let startSec = NaN;
    try {
      startSec = Number(BigInt(String(t.startTimeUnixNano || '0')) / 1000000n) / 1000;
    } catch { /* shown as blank */ }
    return h('a', { class: 'trace-row', href: traceHref(id, params), 'data-testid': 'trace-row', dataset: { traceId: id } },
      h('span', { class: 'tr-id mono', title: id }, id.slice(0, 16)),
      h('span', { class: 'tr-root' },
        t.rootServiceName ? swatch(serviceColor(t.rootServiceName)) : null,
        h('b', {}, t.rootServiceName || '(root span not received)'), ' ',
        h('span', {}, t.rootTraceName || ''),
        errors ? h('span', { class: 'badge error' }, `${errors} error${errors === 1 ? '' : 's'}`) : null),
      h('span', { class: 'tr-start' }, Number.isFinite(startSec) && startSec > 0 ? formatTime(startSec) : ''),
      h('span', { class: 'tr-dur num' }, t.durationMs ? formatNanos(t.durationMs * 1e6) : '<1ms'),
      h('span', { class: 'tr-spans num' }, `${spans} span${spans === 1 ? '' : 's'}`));
  }

  replace(main, h('div', { class: 'traces-page' },
    h('h1', {}, 'Traces'),
    h('div', { class: 'panel' },
      h('div', { class: 'tr-fields' },
        field('Service', service), field('Span name', spanName), field('Min duration', min), field('Max duration', max)),
      field('TraceQL', input),
      h('div', { class: 'toolbar' }, rangeSlot,
        h('label', { class: 'tr-inline' }, h('span', { class: 'muted' }, 'Limit'), limit),
        h('button', { class: 'primary', type: 'button', 'data-testid': 'run-traces', onclick: () => run() }, 'Run'),
        tagNote)),
    results));

  fillSelect(service, [], 'Any service', params.get('service') || '');
  sync();
  loadNames(params.get('name') || '');
  raw('/api/v2/search/tag/resource.service.name/values', {}, { signal: tagsCtl.signal })
    .then((r) => fillSelect(service, tagValues(r), 'Any service', service.value))
    .catch((e) => { if (!isAbort(e)) tagNote.textContent = `services unavailable: ${e.message}`; });
  search();

  return {
    update(r) {
      params = r.params;
      sync();
      search();
    },
    destroy() {
      tagsCtl.abort();
      if (namesCtl) namesCtl.abort();
      if (searchCtl) searchCtl.abort();
    },
  };
}

function stat(label, value) {
  return h('div', { class: 'tr-stat' }, h('span', { class: 'muted' }, label), h('b', {}, value));
}

function traceView(main, route) {
  const id = route.rest[0];
  let params = route.params;
  const ctl = new AbortController();
  let trace = null;
  let wf = null;
  let shown = null;
  const back = h('a', { class: 'tr-back' }, '← Search results');
  const setBack = () => {
    const qs = searchParams(params).toString();
    back.href = `#/traces${qs ? `?${qs}` : ''}`;
  };
  setBack();
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading trace…'));
  const details = h('div', { class: 'span-details panel', 'data-testid': 'span-details' });
  replace(main, h('div', { class: 'traces-page' }, h('div', { class: 'toolbar' }, back), content));

  function showSpan(spanId, scroll) {
    if (!trace) return;
    const s = trace.byId.get(spanId);
    wf.select(s ? spanId : '');
    if (!s) {
      details.remove();
      shown = null;
      return;
    }
    if (shown !== spanId) {
      replace(details,
        h('button', { class: 'tr-close', type: 'button', 'aria-label': 'Close span details', onclick: () => go({ span: '' }, { push: false }) }, '×'),
        spanDetails(trace, s, (other) => traceHref(other, params)));
      shown = spanId;
    }
    if (!details.isConnected) content.querySelector('.tr-body').append(details);
    // On a narrow screen the panel sits below the waterfall, out of sight.
    if (scroll && matchMedia('(max-width: 1099px)').matches) details.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function logsLink() {
    const startSec = Number(trace.start) / 1e9;
    const end = Math.ceil(Number(trace.end) / 1e9 + 300);
    const range = formatDuration(Math.ceil((end - startSec + 300) / 60) * 60);
    const tid = trace.traceId || id.toLowerCase();
    return h('a', {
      class: 'tr-logs', 'data-testid': 'trace-logs-link',
      href: href('logs', { q: `{service_name=~".+"} |= ${quote(tid)}`, range, end: String(end) }),
    }, 'Logs for this trace');
  }

  async function load() {
    try {
      const json = await raw(`/api/traces/${encodeURIComponent(id)}`, {}, { signal: ctl.signal, headers: { Accept: 'application/json' } });
      trace = parseTrace(json);
    } catch (e) {
      if (isAbort(e)) return;
      replace(content, e.status === 404 ? notFound() : errorBox(e));
      return;
    }
    if (!trace) {
      replace(content, notFound());
      return;
    }
    const root = trace.root;
    const total = Number(trace.end - trace.start);
    wf = waterfall(trace, (spanId) => {
      pendingScroll = true;
      go({ span: spanId }, { push: false });
    });
    replace(content,
      h('div', { class: 'trace-header panel', 'data-testid': 'trace-header' },
        h('h1', {}, 'Trace ', h('span', { class: 'mono tr-tid' }, trace.traceId || id)),
        h('p', { class: 'tr-rootline' }, swatch(trace.colors.get(root.service)), ' ', h('b', {}, root.service), ' ', root.name),
        h('div', { class: 'tr-stats' },
          stat('Start', formatTimeMs(nanosToSeconds(trace.start))),
          stat('Duration', formatNanos(total)),
          stat('Spans', String(trace.spans.length)),
          stat('Services', String(trace.services)),
          stat('Errors', trace.errors ? h('span', { class: 'badge error' }, String(trace.errors)) : '0')),
        h('div', { class: 'toolbar' }, logsLink())),
      h('div', { class: 'tr-body' }, h('div', { class: 'tr-wf panel scroll' }, wf.el)));
    showSpan(params.get('span') || '', false);
  }

  function notFound() {
    return h('div', { class: 'error tr-notfound', role: 'alert' },
      h('b', {}, 'Trace not found'), `: no trace with id ${id}. It may be older than the retention, or not received yet.`);
  }

  let pendingScroll = false;
  load();
  return {
    update(r) {
      params = r.params;
      setBack();
      showSpan(params.get('span') || '', pendingScroll);
      pendingScroll = false;
    },
    destroy() {
      ctl.abort();
    },
  };
}
