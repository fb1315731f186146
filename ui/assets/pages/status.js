// Status: what runs, how fast data comes in, where it is stored and how
// many series it makes. Each section loads on its own, so one failing API
// only blanks its own box.
import { h, replace, errorBox, loadCss } from '../lib/dom.js';
import { api, selfMetrics } from '../lib/api.js';
import { parseDuration, formatDuration, formatTime } from '../lib/time.js';
import { formatValue } from '../lib/chart.js';
import { href } from '../lib/route.js';

const INGEST_MS = 5000;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function bytes(n) {
  let v = Number(n);
  if (n === null || n === undefined || !Number.isFinite(v)) return '—';
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i ? `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[i]}` : `${v} B`;
}

const count = (n) => (Number.isFinite(Number(n)) ? Number(n).toLocaleString() : '—');

function rate(v) {
  return v < 100 ? String(+v.toFixed(v < 1 ? 3 : v < 10 ? 2 : 1)) : formatValue(v);
}

function retention(seconds) {
  const s = Number(seconds);
  return seconds === null || seconds === undefined || !(s > 0) ? 'forever' : formatDuration(s);
}

function isoSeconds(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) && t > 0 ? t / 1000 : null;
}

/** Sums a counter over the series whose labels include `match`. */
function counter(metrics, name, match = '') {
  let total = null;
  for (const [key, value] of metrics) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (match && !key.includes(match)) continue;
    total = (total || 0) + value;
  }
  return total;
}

const SIGNALS = [
  { signal: 'metrics', label: 'Metrics', unit: 'samples' },
  { signal: 'logs', label: 'Logs', unit: 'lines' },
  { signal: 'traces', label: 'Traces', unit: 'spans' },
];

function section(title, testid, ...extra) {
  const body = h('div', { class: 'status-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const el = h('section', { class: 'panel status-section', 'data-testid': testid },
    h('div', { class: 'status-head' }, h('h2', {}, title), ...extra), body);
  return { el, body };
}

function dl(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function render(main) {
  loadCss('/ui/pages/status.css');
  let ctrl = new AbortController();
  let timer = null;
  let destroyed = false;
  let prev = null;
  let uptimeEl = null;
  let uptimeBase = null;

  const refreshBtn = h('button', { type: 'button', onclick: () => loadAll() }, 'Refresh');
  const ingestStamp = h('span', { class: 'muted stamp' });
  const build = section('Build and runtime', 'status-build');
  const ingest = section('Ingest', 'status-ingest', ingestStamp);
  const storage = section('Storage', 'status-storage');
  const card = section('Cardinality', 'status-cardinality');
  let configText = '';
  const copyBtn = h('button', {
    type: 'button', class: 'copy', hidden: true,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(configText);
        copyBtn.textContent = 'Copied';
      } catch {
        copyBtn.textContent = 'Copy failed: select the text';
      }
      setTimeout(() => { copyBtn.textContent = 'Copy'; }, 2000);
    },
  }, 'Copy');
  const config = section('Configuration', 'status-config', copyBtn);

  replace(main, h('div', { class: 'status-page' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Status'), refreshBtn),
    h('div', { class: 'status-top' }, build.el, ingest.el),
    storage.el, card.el, config.el));

  /** Runs `load` and draws its result into `box`, or its error. */
  async function fill(box, load) {
    const { signal } = ctrl;
    try {
      const node = await load(signal);
      if (!signal.aborted) replace(box, node);
    } catch (e) {
      if (e.name !== 'AbortError' && !signal.aborted) replace(box, errorBox(e));
    }
  }

  function tickUptime() {
    if (uptimeEl && uptimeBase) uptimeEl.textContent = formatDuration(uptimeBase.uptime + (Date.now() - uptimeBase.at) / 1000);
  }

  async function loadBuild(signal) {
    const [b, r] = await Promise.allSettled([
      api('/api/v1/status/buildinfo', null, { signal }),
      api('/api/v1/status/runtimeinfo', null, { signal }),
    ]);
    if (b.status === 'rejected' && b.reason.name === 'AbortError') throw b.reason;
    const out = [];
    if (b.status === 'fulfilled') {
      const d = b.value || {};
      out.push(dl([
        ['Version', d.version && h('strong', {}, d.version)],
        ['Revision', d.revision && h('span', { class: 'mono' }, d.revision)],
        ['Branch', d.branch],
        ['Built', d.buildDate],
        ['Built by', d.buildUser],
        ['Toolchain', d.goVersion],
      ]));
    } else out.push(errorBox(b.reason));
    if (r.status === 'fulfilled') {
      const d = r.value || {};
      const start = isoSeconds(d.startTime);
      const server = isoSeconds(d.serverTime) || Date.now() / 1000;
      uptimeEl = h('span', {});
      uptimeBase = start === null ? null : { uptime: server - start, at: Date.now() };
      tickUptime();
      const ret = parseDuration(String(d.storageRetention || '').trim());
      out.push(dl([
        ['Started', start !== null ? formatTime(start) : d.startTime],
        ['Uptime', uptimeBase ? uptimeEl : null],
        ['Server time', d.serverTime && formatTime(server)],
        ['Working directory', d.CWD && h('span', { class: 'mono' }, d.CWD)],
        ['Retention', d.storageRetention && (Number.isFinite(ret) ? retention(ret) : d.storageRetention)],
        ['Config reload', d.reloadConfigSuccess === undefined ? null : d.reloadConfigSuccess ? 'ok' : h('span', { class: 'badge error' }, 'failed')],
      ]));
    } else if (r.reason.name !== 'AbortError') out.push(errorBox(r.reason));
    return out;
  }

  async function pollIngest() {
    clearTimeout(timer);
    const { signal } = ctrl;
    try {
      const m = await selfMetrics({ signal });
      if (destroyed || signal.aborted) return;
      const now = performance.now();
      const cur = {};
      for (const s of SIGNALS) cur[s.signal] = counter(m, 'hearth_samples_ingested_total', `signal="${s.signal}"`);
      cur.logBytes = counter(m, 'hearth_log_bytes_ingested_total');
      drawIngest(cur, prev ? (now - prev.at) / 1000 : 0);
      prev = { at: now, values: cur };
      ingestStamp.textContent = `every ${INGEST_MS / 1000} s · ${formatTime(Date.now() / 1000).slice(11)}`;
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      replace(ingest.body, errorBox(e));
      prev = null;
    }
    tickUptime();
    if (!destroyed) timer = setTimeout(pollIngest, INGEST_MS);
  }

  function drawIngest(cur, dt) {
    // A counter that went down means Hearth restarted: measure again.
    const perSec = (k) => {
      if (!prev || dt <= 0 || cur[k] === null || prev.values[k] === null) return null;
      const d = cur[k] - prev.values[k];
      return d < 0 ? null : d / dt;
    };
    const measuring = h('span', { class: 'muted' }, 'measuring…');
    const rows = SIGNALS.map((s) => {
      const r = perSec(s.signal);
      const lb = s.signal === 'logs' ? perSec('logBytes') : null;
      return h('tr', { dataset: { signal: s.signal } },
        h('th', { scope: 'row' }, s.label),
        h('td', { class: 'num rate' },
          r === null ? measuring.cloneNode(true) : `${rate(r)} ${s.unit}/s`,
          s.signal === 'logs' && r !== null && lb !== null ? h('div', { class: 'sub' }, `${bytes(lb)}/s`) : null),
        h('td', { class: 'num' },
          cur[s.signal] === null ? '—' : `${count(cur[s.signal])} ${s.unit}`,
          s.signal === 'logs' && cur.logBytes !== null ? h('div', { class: 'sub' }, bytes(cur.logBytes)) : null));
    });
    replace(ingest.body, h('table', { class: 'ingest' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Signal'), h('th', { class: 'num' }, 'Rate'), h('th', { class: 'num' }, 'Total since start'))),
      h('tbody', {}, rows)));
  }

  async function loadStorage(signal) {
    const d = await api('/api/v1/status/storage', null, { signal });
    const sigs = (d && d.signals) || [];
    const rows = [];
    for (const s of sigs) {
      const days = s.days || [];
      const detail = h('tr', { class: 'days', hidden: true },
        h('td', { colspan: 7 }, h('div', { class: 'scroll' }, h('table', { class: 'day-table' },
          h('thead', {}, h('tr', {}, ['Day', 'Parts', 'Rows', 'Size'].map((c, i) => h('th', { class: i ? 'num' : '' }, c)))),
          h('tbody', {}, days.map((x) => h('tr', {},
            h('td', { class: 'mono' }, x.day), h('td', { class: 'num' }, count(x.parts)),
            h('td', { class: 'num' }, count(x.rows)), h('td', { class: 'num' }, bytes(x.bytes)))))))));
      const toggle = days.length ? h('button', {
        type: 'button', class: 'link', 'aria-expanded': 'false',
        onclick: () => {
          detail.hidden = !detail.hidden;
          toggle.setAttribute('aria-expanded', String(!detail.hidden));
          toggle.textContent = `${days.length} day${days.length === 1 ? '' : 's'} ${detail.hidden ? '▸' : '▾'}`;
        },
      }, `${days.length} day${days.length === 1 ? '' : 's'} ▸`) : h('span', { class: 'muted' }, 'none yet');
      rows.push(h('tr', { dataset: { signal: s.signal } },
        h('th', { scope: 'row' }, s.signal),
        h('td', { class: 'num' }, count(s.rows), h('div', { class: 'sub' }, s.rows_are || 'rows')),
        h('td', { class: 'num' }, count(s.parts)),
        h('td', { class: 'num' }, bytes(s.bytes)),
        h('td', { class: 'num' }, bytes(s.head_bytes)),
        h('td', { class: 'num' }, retention(s.retention_seconds)),
        h('td', {}, toggle)), detail);
    }
    const sum = (k) => sigs.reduce((n, s) => n + (Number(s[k]) || 0), 0);
    return [
      dl([
        ['Data directory', h('span', { class: 'mono' }, d.data_dir || '—')],
        ['Size limit', d.retention_size_bytes ? bytes(d.retention_size_bytes) : 'none'],
        ['Total on disk', bytes(sum('bytes'))],
        ['Total in memory', bytes(sum('head_bytes'))],
      ]),
      h('div', { class: 'scroll' }, h('table', { class: 'storage' },
        h('thead', {}, h('tr', {}, ['Signal', 'Rows', 'Parts', 'On disk', 'In memory', 'Retention', 'Per day']
          .map((c, i) => h('th', { class: i && i < 6 ? 'num' : '' }, c)))),
        h('tbody', {}, rows))),
    ];
  }

  function topTable(title, items, { fmt = count, link } = {}) {
    const top = (items || []).slice(0, 10);
    const max = Math.max(1, ...top.map((x) => Number(x.value) || 0));
    return h('div', { class: 'top' }, h('h3', {}, title),
      top.length ? h('table', {}, h('tbody', {}, top.map((x) => {
        const pct = Math.round(((Number(x.value) || 0) / max) * 100);
        const target = link ? link(x.name) : null;
        return h('tr', {},
          h('td', { class: 'name mono' }, target ? h('a', { href: target, title: 'Open in Metrics' }, x.name) : x.name),
          h('td', { class: 'num bar', style: { backgroundSize: `${pct}% 100%` } }, fmt(x.value)));
      }))) : h('p', { class: 'muted' }, 'Nothing yet.'));
  }

  async function loadCardinality(signal) {
    const d = await api('/api/v1/status/tsdb', null, { signal });
    const hs = d.headStats || {};
    const pairLink = (pair) => {
      const i = pair.indexOf('=');
      if (i < 0) return null;
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      const expr = name === '__name__' ? value : `{${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}`;
      return href('metrics', { expr });
    };
    return [
      h('div', { class: 'head-stats' },
        [['series', hs.numSeries], ['label pairs', hs.numLabelPairs], ['chunks', hs.chunkCount]]
          .filter(([, v]) => v !== undefined).map(([k, v]) => h('span', {}, h('strong', {}, count(v)), ` ${k}`)),
        hs.minTime > 0 && hs.maxTime > 0 ? h('span', { class: 'muted' },
          `head from ${formatTime(hs.minTime / 1000)} to ${formatTime(hs.maxTime / 1000)}`) : null),
      h('div', { class: 'tops' },
        topTable('Series by metric name', d.seriesCountByMetricName, { link: (n) => href('metrics', { expr: n }) }),
        topTable('Values by label name', d.labelValueCountByLabelName),
        topTable('Memory by label name', d.memoryInBytesByLabelName, { fmt: bytes }),
        topTable('Series by label pair', d.seriesCountByLabelValuePair, { link: pairLink })),
    ];
  }

  async function loadConfig(signal) {
    const d = await api('/api/v1/status/config', null, { signal });
    configText = (d && d.yaml) || '';
    copyBtn.hidden = !configText;
    return h('pre', { class: 'config mono' }, configText || '(empty)');
  }

  function loadAll() {
    ctrl.abort();
    ctrl = new AbortController();
    for (const s of [build, storage, card, config]) {
      if (!s.body.firstChild) replace(s.body, h('p', { class: 'muted' }, 'Loading…'));
    }
    fill(build.body, loadBuild);
    fill(storage.body, loadStorage);
    fill(card.body, loadCardinality);
    fill(config.body, loadConfig);
    pollIngest();
  }

  loadAll();

  return {
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      ctrl.abort();
    },
  };
}
