// Metrics: a PromQL editor with completion, a graph of a range query and a
// table of an instant query. The query, tab and time range live in the URL.
import { h, replace, errorBox, table, loadCss } from '../lib/dom.js';
import { api, raw, ApiError } from '../lib/api.js';
import { update as updateRoute, current } from '../lib/route.js';
import { resolveRange, autoStep, rangeControls, parseDuration, formatDuration, formatTime } from '../lib/time.js';
import { timeChart } from '../lib/chart.js';

const FUNCTIONS = (
  'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp ' +
  'clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month ' +
  'deg delta deriv double_exponential_smoothing exp floor histogram_avg histogram_count ' +
  'histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum ' +
  'holt_winters hour idelta increase info irate label_join label_replace last_over_time ln log10 ' +
  'log2 mad_over_time max_over_time min_over_time minute month pi predict_linear ' +
  'present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort ' +
  'sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time ' +
  'sum_over_time tan tanh time timestamp vector year').split(' ');
const AGGREGATIONS = 'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(' ');
const KEYWORDS = 'by without on ignoring group_left group_right offset bool and or unless'.split(' ');
// Label lists follow these words: `sum by (job, …)`.
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const MAX_SERIES = 100;
const MAX_ROWS = 500;
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*$/;

// Fetched once per page load: the names barely change while a tab is open.
let metricNames = null;
function loadMetricNames() {
  if (!metricNames) {
    metricNames = api('/api/v1/label/__name__/values').then(
      (d) => (Array.isArray(d) ? d.map(String) : []),
      (e) => { metricNames = null; throw e; });
  }
  return metricNames;
}
const labelCache = new Map();
const valueCache = new Map();
function cached(cache, key, load) {
  if (!cache.has(key)) {
    cache.set(key, load().then((d) => (Array.isArray(d) ? d.map(String) : []),
      (e) => { cache.delete(key); throw e; }));
  }
  return cache.get(key);
}
const matchParam = (metric) => (metric ? { 'match[]': metric } : {});
const labelNames = (metric) => cached(labelCache, metric,
  () => api('/api/v1/labels', matchParam(metric)));
const labelValues = (label, metric) => cached(valueCache, `${label}\u0000${metric}`,
  () => api(`/api/v1/label/${encodeURIComponent(label)}/values`, matchParam(metric)));

/** How Prometheus prints a series: name{a="b", c="d"}. */
export function seriesName(metric) {
  const m = metric || {};
  const pairs = Object.keys(m).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}=${JSON.stringify(String(m[k]))}`);
  return `${m.__name__ || ''}{${pairs.join(', ')}}`;
}

/** What to complete at the end of `before` (the text up to the cursor):
 *  null, or { kind: 'name'|'label'|'value', word, metric, label, quote }. */
export function completionContext(before) {
  let brace = -1;
  let metric = '';
  let str = null;
  let strStart = 0;
  let strLabel = null;
  let pending = null;
  let bracket = false;
  const parens = [];
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (str) {
      if (c === '\\' && str !== '`') i++;
      else if (c === str) {
        // A quoted name inside braces ({"my.label"="x"}) is a label name.
        if (brace >= 0 && strLabel === null) pending = before.slice(strStart, i);
        str = null;
      }
      continue;
    }
    if (c === '#') {
      const nl = before.indexOf('\n', i);
      if (nl < 0) return null;
      i = nl;
    } else if (c === '"' || c === "'" || c === '`') {
      str = c;
      strStart = i + 1;
      const prev = before.slice(0, i).trimEnd().slice(-1);
      strLabel = brace >= 0 && (prev === '=' || prev === '~') ? pending || '' : null;
    } else if (c === '{') {
      brace = i;
      const m = before.slice(0, i).match(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/);
      metric = m ? m[1] : '';
      pending = null;
    } else if (c === '}') {
      brace = -1;
    } else if (c === '[') {
      bracket = true;
    } else if (c === ']') {
      bracket = false;
    } else if (c === '(') {
      const m = before.slice(0, i).match(/([a-zA-Z_]+)\s*$/);
      parens.push(m ? m[1] : '');
    } else if (c === ')') {
      parens.pop();
    } else if (c === ',' && brace >= 0) {
      pending = null;
    } else if (brace >= 0 && /[a-zA-Z_]/.test(c)) {
      const m = before.slice(i).match(/^[a-zA-Z_][a-zA-Z0-9_]*/);
      pending = m[0];
      i += m[0].length - 1;
    }
  }
  if (str) {
    if (brace < 0 || !strLabel) return null;
    return { kind: 'value', word: before.slice(strStart), label: strLabel, metric, quote: str };
  }
  if (bracket) return null;
  const wm = before.match(IDENT);
  const word = wm ? wm[0] : '';
  const lead = before.slice(0, before.length - word.length);
  const prev = lead.trimEnd().slice(-1);
  if (brace >= 0) {
    return prev === '{' || prev === ',' ? { kind: 'label', word, metric } : null;
  }
  if (GROUPING.has(parens[parens.length - 1]) && (prev === '(' || prev === ',')) {
    return { kind: 'label', word, metric: '', grouping: true };
  }
  // "5m" or "1e3" is a number, not a name to complete.
  if (/[0-9.]$/.test(lead)) return null;
  return { kind: 'name', word };
}

/** Candidates that start with `word` first, then those containing it. */
function rank(list, word, keepExact, limit = 60) {
  const w = word.toLowerCase();
  const starts = [];
  const contains = [];
  const seen = new Set();
  for (const item of list) {
    const name = item.value.toLowerCase();
    if (seen.has(item.value) || (w && name === w && !keepExact)) continue;
    if (name.startsWith(w)) starts.push(item);
    else if (w && name.includes(w)) contains.push(item);
    else continue;
    seen.add(item.value);
  }
  return starts.concat(contains).slice(0, limit);
}

export function render(main, route) {
  loadCss('/ui/pages/metrics.css');
  let ctl = null;
  let chart = null;
  let shownExpr = null;
  let lastKey = '';
  let lastResult = null;
  let forceNext = false;
  let params = route.params;

  // The editor and its completion popup.
  const input = h('textarea', {
    class: 'query', rows: 1, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off',
    placeholder: 'PromQL, e.g. rate(metric_total[5m])', 'aria-label': 'PromQL expression',
    'aria-autocomplete': 'list', 'aria-controls': 'metrics-completions',
    dataset: { testid: 'promql-input' },
  });
  const popup = h('div', {
    class: 'completions', id: 'metrics-completions', role: 'listbox', hidden: true,
    dataset: { testid: 'completions' },
  });
  const runBtn = h('button', { class: 'primary', type: 'button', dataset: { testid: 'run-query' } }, 'Run');
  const tabBtn = (name, label) => h('button', {
    type: 'button', role: 'tab', dataset: { testid: `tab-${name}`, tab: name },
    onclick: () => commit({ tab: name === 'graph' ? '' : name }),
  }, label);
  const tabs = { graph: tabBtn('graph', 'Graph'), table: tabBtn('table', 'Table') };
  const rangeSlot = h('span', { class: 'range-slot' });
  const stepInput = h('input', {
    class: 'step', size: 5, 'aria-label': 'Step', title: 'Resolution of the graph (a duration; empty: automatic)',
    dataset: { testid: 'step-input' },
  });
  const stacked = h('input', { type: 'checkbox', dataset: { testid: 'stacked-toggle' } });
  const graphOnly = h('span', { class: 'graph-only' },
    h('label', { class: 'step-label' }, 'Step ', stepInput),
    h('label', { class: 'stacked-label' }, stacked, ' Stacked'));
  const status = h('span', { class: 'muted run-status', 'aria-live': 'polite' });
  const results = h('div', { class: 'results' });

  replace(main, h('div', { class: 'metrics-page' },
    h('div', { class: 'panel editor-panel' },
      h('div', { class: 'editor-row' },
        h('div', { class: 'editor' }, input, popup),
        runBtn),
      h('div', { class: 'muted editor-help' }, 'Enter runs · Shift+Enter new line · Ctrl+Space completes')),
    h('div', { class: 'tabs', role: 'tablist' }, tabs.graph, tabs.table),
    h('div', { class: 'toolbar metrics-controls' }, rangeSlot, graphOnly, status),
    results));

  const editorExpr = () => input.value.trim();

  /** Writes view changes and the editor's query into the URL, as a new
   *  history entry so that Back returns to the previous view. */
  function commit(changes, { force = false } = {}) {
    const expr = editorExpr();
    forceNext = force || expr !== (current().params.get('expr') || '');
    updateRoute({ ...changes, expr }, { push: true });
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + 2}px`;
  }

  // ---- completion ----
  let items = [];
  let sel = 0;
  let ctx = null;
  let compSeq = 0;

  function closePopup() {
    compSeq++;
    items = [];
    popup.hidden = true;
    popup.replaceChildren();
    input.removeAttribute('aria-activedescendant');
  }

  // When the typed word is already complete, nothing is preselected so that
  // Enter runs the query instead of replacing `sum` by `sum_over_time`.
  function showItems(list, exact) {
    items = list;
    sel = exact ? -1 : 0;
    if (!list.length) { closePopup(); return; }
    replace(popup, list.map((it, i) => h('div', {
      role: 'option', id: `metrics-comp-${i}`, dataset: { value: it.value, kind: it.kind },
      onmousedown: (e) => { e.preventDefault(); accept(i); },
    }, it.value)));
    popup.hidden = false;
    highlight();
  }

  function highlight() {
    [...popup.children].forEach((el, i) => {
      el.classList.toggle('selected', i === sel);
      el.setAttribute('aria-selected', String(i === sel));
    });
    const el = popup.children[sel];
    if (el) {
      input.setAttribute('aria-activedescendant', el.id);
      el.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  async function complete(explicit = false) {
    const seq = ++compSeq;
    try {
      if (input.selectionStart !== input.selectionEnd) { closePopup(); return; }
      const c = completionContext(input.value.slice(0, input.selectionStart));
      if (!c || (c.kind === 'name' && !c.word && !explicit)) { closePopup(); return; }
      let list;
      if (c.kind === 'name') {
        const names = await loadMetricNames().catch(() => []);
        list = [
          ...names.map((v) => ({ value: v, kind: 'metric' })),
          ...AGGREGATIONS.map((v) => ({ value: v, kind: 'aggregation' })),
          ...FUNCTIONS.map((v) => ({ value: v, kind: 'function' })),
          ...KEYWORDS.map((v) => ({ value: v, kind: 'keyword' })),
        ];
      } else if (c.kind === 'label') {
        const names = await labelNames(c.metric);
        list = names.filter((n) => !c.grouping || n !== '__name__').map((v) => ({ value: v, kind: 'label' }));
      } else {
        list = (await labelValues(c.label, c.metric)).map((v) => ({ value: v, kind: 'value' }));
      }
      if (seq !== compSeq) return;
      ctx = c;
      // A value typed in full still offers itself, to close the quote.
      const isValue = c.kind === 'value';
      showItems(rank(list, c.word, isValue), !isValue && list.some((it) => it.value === c.word));
    } catch {
      // Completion is a help: a failed lookup just shows nothing.
      if (seq === compSeq) closePopup();
    }
  }

  function accept(i) {
    const it = items[i];
    const c = ctx;
    if (!it || !c) return;
    const pos = input.selectionStart;
    const text = input.value;
    const start = pos - c.word.length;
    let end = pos;
    let insert = it.value;
    let again = false;
    if (c.kind === 'value') {
      const q = c.quote;
      if (q !== '`') insert = insert.replace(/\\/g, '\\\\').split(q).join(`\\${q}`);
      while (end < text.length && text[end] !== q && text[end] !== '\n') end += text[end] === '\\' ? 2 : 1;
      end = Math.min(end, text.length);
      insert += q;
      if (text[end] === q) end++;
    } else {
      end += (text.slice(pos).match(/^[a-zA-Z0-9_:]*/) || [''])[0].length;
      const after = text.slice(end);
      if (c.kind === 'label' && !c.grouping && !/^\s*(=|!=|=~|!~)/.test(after)) {
        insert += '="';
        again = true;
      } else if ((it.kind === 'function' || it.kind === 'aggregation') && !/^\s*\(/.test(after)) {
        insert += '(';
      }
    }
    input.setRangeText(insert, start, end, 'end');
    autosize();
    closePopup();
    input.focus();
    if (again) complete();
  }

  input.addEventListener('input', () => { autosize(); complete(); });
  input.addEventListener('blur', closePopup);
  input.addEventListener('click', closePopup);
  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    const open = !popup.hidden && items.length > 0;
    if (open && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      sel = sel < 0 && e.key === 'ArrowUp' ? items.length - 1
        : (sel + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
      highlight();
    } else if (open && (e.key === 'Tab' || (e.key === 'Enter' && sel >= 0)) && !e.shiftKey) {
      e.preventDefault();
      accept(Math.max(sel, 0));
    } else if (open && e.key === 'Escape') {
      e.preventDefault();
      closePopup();
    } else if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      complete(true);
    } else if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      run();
    } else if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) {
      closePopup();
    }
  });

  function run() {
    closePopup();
    commit({}, { force: true });
  }
  runBtn.addEventListener('click', run);
  stacked.addEventListener('change', () => commit({ stacked: stacked.checked ? '1' : '' }));
  stepInput.addEventListener('change', () => {
    const v = stepInput.value.trim();
    const secs = parseDuration(v);
    if (v && !(secs > 0)) {
      stepInput.setCustomValidity('not a duration, e.g. 30s or 1m');
      stepInput.reportValidity();
      return;
    }
    stepInput.setCustomValidity('');
    commit({ step: v });
  });

  // ---- results ----
  function clearChart() {
    if (chart) chart.destroy();
    chart = null;
  }

  function notices(json) {
    return [...(json.warnings || []), ...(json.infos || [])]
      .map((w) => h('div', { class: 'notice', role: 'status' }, String(w)));
  }

  function noData(tab) {
    return h('p', { class: 'muted no-data' },
      `No data: the query returned no series ${tab === 'graph' ? 'in this time range' : 'at this time'}.`);
  }

  function showHint() {
    clearChart();
    status.textContent = '';
    const list = h('div', { class: 'metric-picks', dataset: { testid: 'metric-suggestions' } });
    replace(results, h('div', { class: 'panel hint' },
      h('p', {}, 'Type a PromQL expression above and press Enter, or start from a metric:'),
      list));
    loadMetricNames().then((names) => {
      const pick = names.filter((n) => !n.startsWith('ALERTS')).slice(0, 12);
      replace(list, pick.length ? pick.map((n) => h('button', {
        type: 'button', class: 'mono',
        onclick: () => { input.value = n; autosize(); input.focus(); input.setSelectionRange(n.length, n.length); },
      }, n)) : h('span', { class: 'muted' }, 'No metrics stored yet.'));
    }, (e) => replace(list, errorBox(e)));
  }

  function draw(res, range) {
    clearChart();
    const { json, tab } = res;
    const data = json.data || {};
    const out = notices(json);
    const result = data.result;
    if (tab === 'graph') {
      const all = Array.isArray(result) ? result : [];
      if (!all.length) { replace(results, out, noData('graph')); status.textContent = ''; return; }
      const shown = all.slice(0, MAX_SERIES);
      if (all.length > shown.length) {
        out.push(h('div', { class: 'notice' }, `Showing the first ${shown.length} of ${all.length} series.`));
      }
      const series = shown.map((s) => ({
        label: seriesName(s.metric),
        points: (s.values || []).map(([t, v]) => {
          const n = Number(v);
          return [Number(t), Number.isFinite(n) ? n : null];
        }),
      }));
      const box = h('div', { class: 'metrics-chart', dataset: { testid: 'metrics-chart' } });
      replace(results, out, box);
      const small = window.matchMedia('(max-width: 640px)').matches;
      try {
        chart = timeChart(box, series, {
          stacked: params.get('stacked') === '1', height: small ? 240 : 320, onZoom: (z) => commit(z),
        });
      } catch (e) {
        results.append(errorBox(e));
      }
      status.textContent = `${all.length} series · step ${formatDuration(range.step)}`;
      return;
    }
    let rows = [];
    let cols = ['Series', 'Value'];
    const at = (t) => h('span', { class: 'muted ts', title: String(t) }, ` @ ${formatTime(Number(t))}`);
    if (data.resultType === 'scalar' || data.resultType === 'string') {
      cols = [data.resultType === 'scalar' ? 'Scalar' : 'String', 'Time'];
      const [t, v] = Array.isArray(result) ? result : [];
      rows = [[h('span', { class: 'mono' }, String(v)), formatTime(Number(t))]];
    } else if (Array.isArray(result)) {
      if (!result.length) { replace(results, out, noData('table')); status.textContent = ''; return; }
      if (data.resultType === 'matrix') cols = ['Series', 'Values'];
      rows = result.slice(0, MAX_ROWS).map((s) => [
        h('span', { class: 'labels' }, seriesName(s.metric)),
        data.resultType === 'matrix'
          ? h('div', { class: 'samples' }, (s.values || []).map(([t, v]) => h('div', { class: 'mono' }, String(v), at(t))))
          : h('span', { class: 'mono' }, s.value ? String(s.value[1]) : '—'),
      ]);
      if (result.length > MAX_ROWS) {
        out.push(h('div', { class: 'notice' }, `Showing the first ${MAX_ROWS} of ${result.length} series.`));
      }
    }
    replace(results, out, h('div', { class: 'scroll' },
      table(cols, rows, { class: 'metrics-table', dataset: { testid: 'metrics-table' } })));
    const n = Array.isArray(result) && data.resultType !== 'scalar' && data.resultType !== 'string' ? result.length : 1;
    status.textContent = `${n} result${n === 1 ? '' : 's'} at ${formatTime(range.end)}`;
  }

  async function fetchResult(expr, tab, range, signal) {
    const path = tab === 'graph' ? '/api/v1/query_range' : '/api/v1/query';
    const q = tab === 'graph'
      ? { query: expr, start: range.start.toFixed(3), end: range.end.toFixed(3), step: range.step }
      : { query: expr, time: range.end.toFixed(3) };
    const json = await raw(path, q, { signal });
    if (!json || typeof json !== 'object') throw new ApiError('unexpected answer from the server', 200);
    if (json.status !== 'success') throw new ApiError(json.error || 'query failed', 200);
    return { json, tab };
  }

  async function apply(r, force) {
    params = r.params;
    const expr = (params.get('expr') || '').trim();
    if (expr !== shownExpr) {
      if (expr !== editorExpr()) input.value = expr;
      shownExpr = expr;
      autosize();
    }
    const tab = params.get('tab') === 'table' ? 'table' : 'graph';
    for (const [name, btn] of Object.entries(tabs)) {
      btn.classList.toggle('active', name === tab);
      btn.setAttribute('aria-selected', String(name === tab));
    }
    graphOnly.hidden = tab !== 'graph';
    const range = resolveRange(params, '1h');
    const userStep = parseDuration(params.get('step') || '');
    range.step = userStep > 0 ? userStep : autoStep(range.span);
    stepInput.value = params.get('step') || '';
    stepInput.placeholder = formatDuration(autoStep(range.span));
    stacked.checked = params.get('stacked') === '1';
    replace(rangeSlot, rangeControls(params, (ch) => commit(ch)));

    const key = JSON.stringify([expr, tab, params.get('range'), params.get('end'), params.get('step')]);
    if (ctl) ctl.abort();
    ctl = null;
    if (!expr) { lastKey = ''; lastResult = null; showHint(); return; }
    if (!force && key === lastKey && lastResult) { draw(lastResult, range); return; }
    lastKey = key;
    lastResult = null;
    const my = new AbortController();
    ctl = my;
    results.classList.add('loading');
    status.textContent = 'Running…';
    try {
      const res = await fetchResult(expr, tab, range, my.signal);
      if (my.signal.aborted) return;
      lastResult = res;
      draw(res, range);
    } catch (e) {
      if (e.name === 'AbortError' || my.signal.aborted) return;
      lastKey = '';
      clearChart();
      status.textContent = '';
      replace(results, errorBox(e));
    } finally {
      if (ctl === my) { ctl = null; results.classList.remove('loading'); }
    }
  }

  apply(route, true);
  if (!route.params.get('expr')) input.focus();
  loadMetricNames().catch(() => {});

  return {
    update(r) {
      const force = forceNext;
      forceNext = false;
      closePopup();
      apply(r, force);
    },
    destroy() {
      if (ctl) ctl.abort();
      compSeq++;
      clearChart();
    },
  };
}
