// Logs: a LogQL explorer over the Loki API — log lines with a volume
// histogram, metric queries as charts, a label browser and a live tail.
import { h, append, replace, errorBox, loadCss } from '../lib/dom.js';
import { api, isAbort } from '../lib/api.js';
import { resolveRange, autoStep, rangeControls } from '../lib/time.js';
import { timeChart } from '../lib/chart.js';
import { update as go } from '../lib/route.js';
import { entriesFromStreams, summaryKeys, lineRow, details, addMatcher, cmpTs } from './logs-lines.js';

const LIMITS = ['100', '500', '1000', '5000'];
const TAIL_KEEP = 1000;
// Asks Loki for structured metadata and parsed labels apart from the stream.
const CATEGORIZE = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
// Also the colour order of the histogram: info takes the first colour (blue)
// and error the second (orange-red).
const LEVEL_ORDER = ['info', 'error', 'warn', 'warning', 'debug', 'trace', 'unknown'];

const ns = (seconds) => `${Math.round(seconds * 1000)}000000`;

export function render(main, route) {
  loadCss('/ui/pages/logs.css');
  let params = route.params;
  let run = null; // AbortController of the query on show
  let charts = [];
  let list = null; // { el, keys, query, entries: WeakMap(row → entry) }
  let tail = null; // { socket, ctrl, query, count, stopped }

  const input = h('textarea', {
    class: 'query', rows: 1, spellcheck: false, autocomplete: 'off', 'aria-label': 'LogQL query',
    placeholder: '{job="demo"} |= "error"   (Enter runs, Shift+Enter adds a line)',
    'data-testid': 'logql-input',
    onkeydown: (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submit();
      }
    },
    oninput: () => fit(),
  });
  const runBtn = h('button', { class: 'primary', type: 'button', 'data-testid': 'run-logs', onclick: () => submit() }, 'Run');
  const limitSel = h('select', {
    'aria-label': 'Line limit', title: 'Most lines to show',
    onchange: () => go({ limit: limitSel.value }, { push: false }),
  }, LIMITS.map((l) => h('option', { value: l }, `${l} lines`)));
  const dirSel = h('select', {
    'aria-label': 'Order', onchange: () => go({ dir: dirSel.value }, { push: false }),
  }, h('option', { value: 'backward' }, 'Newest first'), h('option', { value: 'forward' }, 'Oldest first'));
  const tailBtn = h('button', {
    type: 'button', 'data-testid': 'tail-toggle', 'aria-pressed': 'false', onclick: () => (tail ? stopTail('tail stopped') : startTail()),
  }, 'Tail');
  const tailStatus = h('span', { class: 'tail-status muted', 'data-testid': 'tail-status', role: 'status' });
  const rangeSlot = h('span', { class: 'logs-range' });

  const labelsBody = h('div', { class: 'lb-body' });
  const browser = h('details', { class: 'panel label-browser', 'data-testid': 'label-browser' },
    h('summary', {}, 'Label browser'), labelsBody);
  let lbCtrl = null;
  browser.addEventListener('toggle', () => { if (browser.open) loadLabels(); });

  const out = h('div', { class: 'logs-out' });
  replace(main,
    h('div', { class: 'panel logs-editor' },
      input,
      h('div', { class: 'toolbar' }, runBtn, rangeSlot, limitSel, dirSel, tailBtn, tailStatus)),
    browser,
    out);

  function fit() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 240)}px`;
  }

  function submit() {
    stopTail();
    go({ q: input.value.trim() });
  }

  function sync() {
    input.value = params.get('q') || '';
    const lim = params.get('limit');
    limitSel.value = LIMITS.includes(lim) ? lim : '500';
    dirSel.value = params.get('dir') === 'forward' ? 'forward' : 'backward';
    replace(rangeSlot, rangeControls(params, (c) => go(c, { push: false })));
    requestAnimationFrame(fit);
  }

  function clearOut(...children) {
    for (const c of charts) c.destroy();
    charts = [];
    list = null;
    replace(out, ...children);
  }

  async function execute() {
    if (run) run.abort();
    const q = (params.get('q') || '').trim();
    if (!q) {
      clearOut(h('p', { class: 'muted' }, 'Write a LogQL query and press Enter, e.g. ',
        h('a', { href: '#/logs?q=' + encodeURIComponent('{job="demo"}') }, h('code', {}, '{job="demo"}')),
        '. The label browser helps build the stream selector.'));
      return;
    }
    run = new AbortController();
    const { signal } = run;
    const { start, end, span } = resolveRange(params);
    const limit = limitSel.value;
    const direction = dirSel.value;
    clearOut(h('p', { class: 'muted' }, 'Running…'));
    // The volume query is only useful for a log query, but asking at once
    // saves a round trip; its outcome is ignored for a metric query.
    // Every log query starts with its selector; a metric query never does.
    const volStep = autoStep(span, 60);
    const volume = !q.startsWith('{') ? Promise.resolve({ error: new Error('not a log query') })
      : api('/loki/api/v1/query_range', {
        query: `sum by (detected_level) (count_over_time(${q} [${volStep}s]))`,
        start: ns(start), end: ns(end), step: volStep,
      }, { signal }).then((data) => ({ data }), (error) => ({ error }));
    try {
      const step = autoStep(span);
      const data = await api('/loki/api/v1/query_range', {
        query: q, start: ns(start), end: ns(end), limit, direction, step,
      }, { signal, headers: CATEGORIZE });
      if (signal.aborted) return;
      if (data.resultType === 'streams') {
        await showLogs(q, data, volume, { start, end, step: volStep, limit: Number(limit), direction }, signal);
      } else {
        showMetric(data, step);
      }
    } catch (e) {
      if (isAbort(e)) return;
      clearOut(errorBox(e));
    }
  }

  async function showLogs(q, data, volume, opts, signal) {
    const streams = data.result || [];
    const entries = entriesFromStreams(streams, opts.direction !== 'forward');
    const volEl = h('div', { class: 'logs-volume', 'data-testid': 'logs-volume' });
    const listEl = h('div', { class: 'log-lines', 'data-testid': 'log-lines' });
    const stats = h('p', { class: 'muted logs-stats' }, statsText(entries.length, streams.length, data, opts.limit));
    const more = h('button', { type: 'button', class: 'logs-more', 'data-testid': 'logs-more', hidden: true },
      opts.direction === 'forward' ? 'Load newer lines' : 'Load older lines');
    clearOut(stats, volEl, listEl, more);
    list = { el: listEl, keys: summaryKeys(streams), query: q, entries: new WeakMap(), seen: new Set() };
    fillList(entries);
    pageOn(q, entries, opts, more, stats, signal);
    const vol = await volume;
    if (signal.aborted || !volEl.isConnected) return;
    if (vol.error) {
      if (isAbort(vol.error)) return;
      append(volEl, h('p', { class: 'muted' }, `No volume histogram: ${vol.error.message || vol.error}`));
      return;
    }
    const series = volumeSeries(vol.data.result || [], opts);
    if (!series.length) {
      append(volEl, h('p', { class: 'muted' }, 'No lines in this range.'));
      return;
    }
    try {
      charts.push(timeChart(volEl, series, { bars: true, stacked: true, height: 130, onZoom: (z) => go(z) }));
    } catch (e) {
      append(volEl, h('p', { class: 'muted' }, `No volume histogram: ${e.message}`));
    }
  }

  // Paging as Grafana does: the next request starts at the last line
  // shown (that nanosecond included, since several lines may share it)
  // and lines already listed are dropped.
  function pageOn(q, first, opts, more, stats, signal) {
    let last = first.length ? first[first.length - 1].ts : null;
    let shown = first.length;
    const backward = opts.direction !== 'forward';
    more.hidden = !last || first.length < opts.limit;
    more.onclick = async () => {
      more.disabled = true;
      try {
        const bound = backward
          ? { start: ns(opts.start), end: (BigInt(last) + 1n).toString() }
          : { start: last, end: ns(opts.end) };
        const data = await api('/loki/api/v1/query_range', {
          query: q, ...bound, limit: opts.limit, direction: opts.direction,
        }, { signal, headers: CATEGORIZE });
        const page = entriesFromStreams(data.result || [], backward);
        const fresh = page.filter((e) => !list.seen.has(entryKey(e)));
        fillList(fresh);
        shown += fresh.length;
        if (page.length) last = page[page.length - 1].ts;
        stats.textContent = `${shown} lines shown`;
        more.hidden = fresh.length === 0 || page.length < opts.limit;
      } catch (e) {
        if (!isAbort(e)) more.replaceWith(errorBox(e));
      } finally {
        more.disabled = false;
      }
    };
  }

  function fillList(entries) {
    const frag = document.createDocumentFragment();
    for (const e of entries) {
      list.seen.add(entryKey(e));
      frag.append(rowFor(e));
    }
    if (!entries.length && !list.el.children.length) frag.append(h('p', { class: 'muted log-empty' }, 'No lines match.'));
    list.el.append(frag);
  }

  function rowFor(e) {
    const row = lineRow(e, list.keys);
    list.entries.set(row, e);
    return row;
  }

  function showMetric(data, step) {
    const result = data.result || [];
    if (data.resultType === 'scalar') {
      clearOut(h('p', { class: 'logs-scalar mono' }, String(result[1])));
      return;
    }
    if (!result.length) {
      clearOut(h('p', { class: 'muted' }, 'The query returned no series.'));
      return;
    }
    const label = (m) => {
      const pairs = Object.entries(m || {}).map(([k, v]) => `${k}="${v}"`);
      return `{${pairs.join(', ')}}`;
    };
    if (data.resultType === 'vector') {
      clearOut(h('div', { class: 'panel scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Series'), h('th', { class: 'num' }, 'Value'))),
        h('tbody', {}, result.map((r) => h('tr', {},
          h('td', { class: 'labels' }, label(r.metric)), h('td', { class: 'num' }, r.value[1])))))));
      return;
    }
    const series = result.map((r) => ({
      label: label(r.metric),
      points: r.values.map(([t, v]) => [Number(t), Number.isFinite(Number(v)) ? Number(v) : null]),
    }));
    const holder = h('div', { class: 'panel logs-chart', 'data-testid': 'logs-chart' });
    clearOut(h('p', { class: 'muted logs-stats' },
      `${series.length} series · step ${step}s${execText(data)}`), holder);
    charts.push(timeChart(holder, series, { height: 300, onZoom: (z) => go(z) }));
  }

  // Buckets with no lines are absent from the answer; zeros keep the bars
  // on the query's whole range.
  function volumeSeries(result, { start, end, step }) {
    const withPoints = result.filter((r) => (r.values || []).length);
    if (!withPoints.length) return [];
    const anchor = Number(withPoints[0].values[0][0]);
    const first = anchor - Math.floor((anchor - start) / step) * step;
    const grid = [];
    for (let t = first; t <= end + 1e-6; t += step) grid.push(t);
    const name = (r) => (r.metric && r.metric.detected_level) || 'lines';
    withPoints.sort((a, b) => levelRank(name(a)) - levelRank(name(b)));
    return withPoints.map((r) => {
      const at = new Map(r.values.map(([t, v]) => [Number(t), Number(v)]));
      return { label: name(r), points: grid.map((t) => [t, at.get(t) || 0]) };
    });
  }

  out.addEventListener('click', (ev) => {
    if (ev.target.closest('a, button, .log-details')) return;
    const row = ev.target.closest('.log-line');
    // Selecting text to copy it is not a request for details.
    if (row && !String(window.getSelection() || '')) toggle(row);
  });
  out.addEventListener('keydown', (ev) => {
    const row = ev.target.closest && ev.target.closest('.log-line');
    if (row && ev.target === row && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      toggle(row);
    }
  });

  function toggle(row) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('log-details')) {
      next.remove();
      row.setAttribute('aria-expanded', 'false');
      return;
    }
    const e = list && list.entries.get(row);
    if (!e) return;
    row.after(details(e, (k, v) => { input.value = addMatcher(input.value, k, v); fit(); input.focus(); }));
    row.setAttribute('aria-expanded', 'true');
  }

  // --- live tail ---

  async function startTail() {
    const q = input.value.trim();
    if (!q) {
      setTail('Write a log query to tail.', 'bad');
      return;
    }
    // A query still on its way would replace the tailed list when done.
    if (run && !list) run.abort();
    const ctrl = new AbortController();
    tail = { socket: null, ctrl, query: q, count: 0, stopped: false };
    tailBtn.textContent = 'Stop tail';
    tailBtn.setAttribute('aria-pressed', 'true');
    tailBtn.classList.add('on');
    setTail('connecting…');
    // A refused WebSocket upgrade tells the browser nothing, so the query is
    // checked first to show the server's own message.
    try {
      const now = Date.now() / 1000;
      const data = await api('/loki/api/v1/query_range', {
        query: q, start: ns(now - 1), end: ns(now), limit: 1,
      }, { signal: ctrl.signal });
      if (data.resultType !== 'streams') throw new Error('Tail needs a log query (a selector and filters), not a metric query.');
    } catch (e) {
      if (isAbort(e)) return;
      stopTail();
      setTail(`tail failed: ${e.message}`, 'bad');
      return;
    }
    if (!list || list.query !== q) {
      const listEl = h('div', { class: 'log-lines', 'data-testid': 'log-lines' });
      clearOut(listEl);
      list = { el: listEl, keys: ['service', 'job'], query: q, entries: new WeakMap(), seen: new Set(), tailOnly: true };
    }
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const qs = new URLSearchParams({ query: q, start: ns(Date.now() / 1000), limit: limitSel.value });
    let socket;
    try {
      socket = new WebSocket(`${proto}://${window.location.host}/loki/api/v1/tail?${qs}`);
    } catch (e) {
      stopTail();
      setTail(`tail failed: ${e.message}`, 'bad');
      return;
    }
    tail.socket = socket;
    const mine = tail;
    socket.onopen = () => setTail('tailing… waiting for new lines');
    socket.onmessage = (ev) => onTailMessage(mine, ev.data);
    socket.onerror = () => { mine.failed = true; };
    socket.onclose = (ev) => {
      if (mine.stopped) return;
      const why = ev.reason || (ev.code === 1000 ? 'closed by the server'
        : ev.code === 1006 ? 'the connection failed or was dropped' : `code ${ev.code}`);
      stopTail();
      setTail(`tail closed: ${why}${ev.code && ev.code !== 1000 ? ` (${ev.code})` : ''}`, 'bad');
    };
  }

  function onTailMessage(t, text) {
    if (t.stopped || !list) return;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.error) {
      stopTail();
      setTail(`tail failed: ${msg.error}`, 'bad');
      return;
    }
    // Without the categorize header the stream labels hold everything.
    const entries = entriesFromStreams(msg.streams, false);
    if (list.el.querySelector('.log-empty')) list.el.querySelector('.log-empty').remove();
    for (const e of entries.sort((a, b) => cmpTs(a.ts, b.ts))) list.el.prepend(rowFor(e));
    t.count += entries.length;
    let rows = list.el.querySelectorAll('.log-line');
    for (let i = rows.length - 1; i >= TAIL_KEEP; i--) {
      const d = rows[i].nextElementSibling;
      if (d && d.classList.contains('log-details')) d.remove();
      rows[i].remove();
    }
    const dropped = Array.isArray(msg.dropped_entries) ? msg.dropped_entries.length : 0;
    if (dropped) t.dropped = (t.dropped || 0) + dropped;
    if (msg.missed_batches) t.missed = (t.missed || 0) + Number(msg.missed_batches);
    const notes = [];
    if (t.dropped) notes.push(`${t.dropped} dropped`);
    if (t.missed) notes.push(`${t.missed} batches missed (too slow)`);
    setTail(`tailing… ${t.count} new line${t.count === 1 ? '' : 's'}${notes.length ? ` · ${notes.join(' · ')}` : ''}`);
  }

  function stopTail(message) {
    if (!tail) return;
    const t = tail;
    tail = null;
    t.stopped = true;
    t.ctrl.abort();
    if (t.socket && t.socket.readyState <= 1) t.socket.close(1000, 'stopped');
    tailBtn.textContent = 'Tail';
    tailBtn.setAttribute('aria-pressed', 'false');
    tailBtn.classList.remove('on');
    setTail(message || '');
  }

  function setTail(text, kind) {
    tailStatus.textContent = text;
    tailStatus.classList.toggle('bad', kind === 'bad');
  }

  // --- label browser ---

  async function loadLabels() {
    if (lbCtrl) lbCtrl.abort();
    lbCtrl = new AbortController();
    const { signal } = lbCtrl;
    const { start, end } = resolveRange(params);
    const values = h('div', { class: 'lb-values' });
    replace(labelsBody, h('p', { class: 'muted' }, 'Loading labels…'));
    try {
      const names = await api('/loki/api/v1/labels', { start: ns(start), end: ns(end) }, { signal });
      if (!names || !names.length) {
        replace(labelsBody, h('p', { class: 'muted' }, 'No labels in this range.'));
        return;
      }
      const buttons = names.map((n) => h('button', {
        type: 'button', class: 'lb-label', 'aria-pressed': 'false',
        onclick: (ev) => {
          for (const b of buttons) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
          loadValues(n, values);
        },
      }, n));
      replace(labelsBody,
        h('p', { class: 'muted lb-hint' }, 'Pick a label, then a value to add it to the query.'),
        h('div', { class: 'lb-names' }, buttons), values);
    } catch (e) {
      if (!isAbort(e)) replace(labelsBody, errorBox(e));
    }
  }

  async function loadValues(name, box) {
    if (lbCtrl) lbCtrl.abort();
    lbCtrl = new AbortController();
    const { signal } = lbCtrl;
    const { start, end } = resolveRange(params);
    replace(box, h('p', { class: 'muted' }, `Loading values of ${name}…`));
    try {
      const vals = await api(`/loki/api/v1/label/${encodeURIComponent(name)}/values`,
        { start: ns(start), end: ns(end) }, { signal });
      const shown = (vals || []).slice(0, 500);
      replace(box,
        h('h3', {}, name, h('span', { class: 'muted' }, ` · ${(vals || []).length} value${(vals || []).length === 1 ? '' : 's'}`)),
        h('div', { class: 'lb-list' }, shown.map((v) => h('button', {
          type: 'button', class: 'lb-value mono', title: `Add ${name}="${v}" to the query`,
          onclick: () => { input.value = addMatcher(input.value, name, v); fit(); input.focus(); },
        }, v))),
        vals && vals.length > shown.length ? h('p', { class: 'muted' }, `First ${shown.length} shown.`) : null);
    } catch (e) {
      if (!isAbort(e)) replace(box, errorBox(e));
    }
  }

  sync();
  execute();

  return {
    update(next) {
      params = next.params;
      stopTail();
      sync();
      execute();
      if (browser.open) loadLabels();
    },
    destroy() {
      stopTail();
      if (run) run.abort();
      if (lbCtrl) lbCtrl.abort();
      for (const c of charts) c.destroy();
      charts = [];
    },
  };
}

function entryKey(e) {
  return `${e.ts}\u0000${JSON.stringify(e.stream)}\u0000${e.line}`;
}

function levelRank(name) {
  const i = LEVEL_ORDER.indexOf(String(name).toLowerCase());
  return i < 0 ? LEVEL_ORDER.length : i;
}

function execText(data) {
  const s = data.stats && data.stats.summary;
  return s && Number.isFinite(s.execTime) ? ` · ${(s.execTime * 1000).toFixed(1)} ms` : '';
}

function statsText(lines, streams, data, limit) {
  const s = data.stats && data.stats.summary;
  const scanned = s && s.totalLinesProcessed ? ` · ${s.totalLinesProcessed.toLocaleString()} scanned` : '';
  const capped = lines >= limit ? ' · limit reached: load more below, or narrow the range' : '';
  return `${lines} line${lines === 1 ? '' : 's'} from ${streams} stream${streams === 1 ? '' : 's'}${execText(data)}${scanned}${capped}`;
}
