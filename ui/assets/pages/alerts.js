// Alerts: what fires now, the silences that mute it, and the rules behind
// it. Everything is re-read every 10 s; an open silence form survives the
// refresh because its element is moved into the redrawn row.
import { h, replace, errorBox, loadCss } from '../lib/dom.js';
import { api, raw, postJSON, del } from '../lib/api.js';
import { parseDuration, formatDuration, formatTime } from '../lib/time.js';
import { formatValue } from '../lib/chart.js';
import { href, update } from '../lib/route.js';

const REFRESH_MS = 10000;
const CREATOR_KEY = 'hearth.silence.createdBy';
const OPS = ['=', '!=', '=~', '!~'];

/** A stable key for a label set, whatever the order of its keys. */
function labelKey(labels) {
  return JSON.stringify(Object.entries(labels || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function seconds(iso) {
  const t = Date.parse(iso);
  // Go's zero time ("0001-01-01…") means "never".
  return Number.isFinite(t) && t > 0 ? t / 1000 : null;
}

/** "5m ago" / "in 1h59m", to the two largest units. */
function relative(iso) {
  const t = seconds(iso);
  if (t === null) return 'never';
  const d = Date.now() / 1000 - t;
  const parts = formatDuration(Math.max(1, Math.round(Math.abs(d)))).match(/\d+[a-z]+/g) || [];
  const text = parts.slice(0, 2).join('');
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** Evaluation times are often well under a millisecond. */
function took(s) {
  const n = Number(s) || 0;
  return n > 0 && n < 0.001 ? `${Math.round(n * 1e6)}µs` : formatDuration(n);
}

function timeEl(iso) {
  const t = seconds(iso);
  return h('time', { datetime: iso, title: t === null ? '' : formatTime(t) }, relative(iso));
}

function chips(labels, skip = []) {
  const entries = Object.entries(labels || {}).filter(([k]) => !skip.includes(k));
  if (!entries.length) return null;
  return h('span', { class: 'chips' }, entries.map(([k, v]) => h('span', { class: 'chip', title: `${k}="${v}"` }, `${k}=${v}`)));
}

/** Every whitespace-separated term must appear in the name or a k=v label. */
function matches(filter, name, labels) {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return true;
  const hay = [name, ...Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`)].map((s) => String(s || '').toLowerCase());
  return terms.every((t) => hay.some((s) => s.includes(t)));
}

/** Alertmanager's matcher semantics: regexes are anchored, a missing
 *  label is the empty string. */
function matcherMatches(m, labels) {
  const v = labels[m.name] ?? '';
  let ok;
  if (m.isRegex) {
    try {
      ok = new RegExp(`^(?:${m.value})$`).test(v);
    } catch {
      return false;
    }
  } else ok = v === m.value;
  return m.isEqual === false ? !ok : ok;
}

function opOf(m) {
  const not = m.isEqual === false;
  if (m.isRegex) return not ? '!~' : '=~';
  return not ? '!=' : '=';
}

function storedCreator() {
  try {
    return localStorage.getItem(CREATOR_KEY) || 'hearth-ui';
  } catch {
    return 'hearth-ui';
  }
}

export function render(main, route) {
  loadCss('/ui/pages/alerts.css');
  let filter = route.params.get('filter') || '';
  let data = {};
  let errors = {};
  let ctrl = null;
  let timer = null;
  let destroyed = false;
  // POSTs and DELETEs are not cancelled by a refresh, only by leaving.
  const actions = new AbortController();
  const forms = new Map();
  let expiredOpen = false;
  let fresh = null;
  let flashTimer = null;

  const filterInput = h('input', {
    type: 'search', class: 'alerts-filter', placeholder: 'Filter by name or label (e.g. severity=critical)',
    value: filter, 'aria-label': 'Filter alerts and rules',
    oninput: () => update({ filter: filterInput.value.trim() }, { push: false }),
  });
  const refreshBtn = h('button', { type: 'button', onclick: () => refresh() }, 'Refresh');
  const stamp = h('span', { class: 'muted stamp' });
  const alertsCount = h('span', { class: 'muted count' });
  const silencesCount = h('span', { class: 'muted count' });
  const rulesCount = h('span', { class: 'muted count' });
  const alertsBox = h('div', { class: 'alert-list', 'data-testid': 'alerts-list' });
  const flash = h('div', { class: 'flash', role: 'status' });
  const silencesBox = h('div', { class: 'silence-list', 'data-testid': 'silences-list' });
  const rulesBox = h('div', { class: 'rule-list', 'data-testid': 'rules-list' });

  replace(main, h('div', { class: 'alerts-page' },
    h('div', { class: 'toolbar alerts-toolbar' },
      h('h1', {}, 'Alerts'), filterInput, refreshBtn, stamp),
    h('section', {}, h('h2', {}, 'Firing and pending ', alertsCount), alertsBox),
    h('section', {}, h('h2', {}, 'Silences ', silencesCount), flash, silencesBox),
    h('section', {}, h('h2', {}, 'Rules ', rulesCount), rulesBox)));

  async function refresh() {
    clearTimeout(timer);
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const { signal } = ctrl;
    refreshBtn.disabled = true;
    const opts = { signal };
    const got = await Promise.allSettled([
      api('/api/v1/alerts', null, opts),
      raw('/api/v2/alerts', null, opts),
      raw('/api/v2/silences', null, opts),
      api('/api/v1/rules', null, opts),
    ]);
    if (signal.aborted || destroyed) return;
    const names = ['alerts', 'v2', 'silences', 'rules'];
    data = {};
    errors = {};
    got.forEach((r, i) => {
      if (r.status === 'fulfilled') data[names[i]] = r.value;
      else errors[names[i]] = r.reason;
    });
    draw();
    stamp.textContent = `updated ${formatTime(Date.now() / 1000).slice(11)}`;
    refreshBtn.disabled = false;
    timer = setTimeout(refresh, REFRESH_MS);
  }

  function activeSilences() {
    return Array.isArray(data.silences) ? data.silences.filter((s) => s.status && s.status.state === 'active') : [];
  }

  function draw() {
    drawAlerts();
    drawSilences();
    drawRules();
  }

  function drawAlerts() {
    if (errors.alerts) {
      alertsCount.textContent = '';
      replace(alertsBox, errorBox(errors.alerts));
      return;
    }
    const list = (data.alerts && data.alerts.alerts) || [];
    const v2 = new Map((Array.isArray(data.v2) ? data.v2 : []).map((a) => [labelKey(a.labels), a]));
    const keys = new Set(list.map((a) => labelKey(a.labels)));
    for (const k of forms.keys()) if (!keys.has(k)) forms.delete(k);
    const firing = list.filter((a) => a.state === 'firing').length;
    alertsCount.textContent = `${firing} firing, ${list.length - firing} pending`;
    const shown = list.filter((a) => matches(filter, a.labels.alertname, a.labels)).sort((a, b) =>
      (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
      String(a.labels.alertname).localeCompare(String(b.labels.alertname)) ||
      String(a.activeAt).localeCompare(String(b.activeAt)));
    const silences = activeSilences();
    // Moving an open form into its redrawn row blurs it: give the focus
    // (and the caret) back so that a refresh does not interrupt typing.
    const focused = alertsBox.contains(document.activeElement) ? document.activeElement : null;
    const caret = focused && 'selectionStart' in focused ? [focused.selectionStart, focused.selectionEnd] : null;
    replace(alertsBox,
      errors.v2 ? h('div', { class: 'notice' }, `Silenced state unknown: ${errors.v2.message}`) : null,
      shown.length ? shown.map((a) => alertRow(a, v2.get(labelKey(a.labels)), silences))
        : h('p', { class: 'muted empty' }, list.length ? 'No alert matches the filter.' : 'Nothing is firing or pending.'));
    if (focused && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
      if (caret && caret[0] !== null) {
        try {
          focused.setSelectionRange(caret[0], caret[1]);
        } catch { /* not a text field */ }
      }
    }
  }

  function alertRow(a, v2, silences) {
    const key = labelKey(a.labels);
    const name = a.labels.alertname || '(no alertname)';
    // The notifier re-checks silences on its next evaluation; until then a
    // matching active silence already tells the truth.
    const by = new Set((v2 && v2.status && v2.status.silencedBy) || []);
    for (const s of silences) if (s.matchers.every((m) => matcherMatches(m, a.labels))) by.add(s.id);
    const inhibited = v2 && v2.status && (v2.status.inhibitedBy || []).length > 0;
    const silenced = by.size > 0 || (v2 && v2.status && v2.status.state === 'suppressed' && !inhibited);
    const ann = a.annotations || {};
    const row = h('article', {
      class: `alert-row ${a.state}`, 'data-testid': 'alert-row',
      dataset: { alertname: name, state: a.state, silenced: silenced ? 'true' : 'false' },
    },
    h('div', { class: 'alert-head' },
      h('span', { class: `badge ${a.state}` }, a.state),
      h('strong', { class: 'alert-name' }, name),
      silenced ? h('span', { class: 'badge silenced', title: `Silenced by ${[...by].join(', ') || 'a silence'}` }, 'silenced') : null,
      inhibited ? h('span', { class: 'badge silenced', title: 'Inhibited by another alert' }, 'inhibited') : null,
      chips(a.labels, ['alertname'])),
    h('div', { class: 'alert-meta muted' },
      h('span', {}, 'active since ', timeEl(a.activeAt)),
      a.value !== undefined ? h('span', {}, 'value ', h('span', { class: 'mono' }, formatValue(Number(a.value)))) : null),
    ann.summary ? h('div', { class: 'alert-summary' }, ann.summary) : null,
    ann.description ? h('div', { class: 'alert-desc muted' }, ann.description) : null,
    h('div', { class: 'alert-actions' },
      h('button', {
        type: 'button', 'data-testid': 'silence-button', 'aria-expanded': forms.has(key) ? 'true' : 'false',
        onclick: (e) => {
          if (forms.has(key)) {
            forms.get(key).remove();
            forms.delete(key);
            e.currentTarget.setAttribute('aria-expanded', 'false');
          } else {
            const form = silenceForm(a, key);
            forms.set(key, form);
            row.append(form);
            e.currentTarget.setAttribute('aria-expanded', 'true');
            form.querySelector('textarea').focus();
          }
        },
      }, 'Silence')),
    forms.get(key) || null);
    return row;
  }

  function silenceForm(alert, key) {
    const matchersBox = h('div', { class: 'matchers' });
    const addMatcher = (name = '', value = '', op = '=') => {
      const row = h('div', { class: 'matcher' },
        h('input', { class: 'm-name mono', value: name, placeholder: 'label', 'aria-label': 'Label name' }),
        h('select', { class: 'm-op', 'aria-label': 'Match operator' }, OPS.map((o) => h('option', { value: o, selected: o === op }, o))),
        h('input', { class: 'm-value mono', value, placeholder: 'value', 'aria-label': 'Label value' }),
        h('button', { type: 'button', class: 'remove', title: 'Remove this matcher', 'aria-label': 'Remove matcher', onclick: () => row.remove() }, '×'));
      matchersBox.append(row);
    };
    const labels = Object.entries(alert.labels).sort(([a], [b]) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)));
    for (const [k, v] of labels) addMatcher(k, v);
    const ends = h('span', { class: 'muted ends' });
    const duration = h('input', { class: 'duration', value: '2h', size: 6, 'aria-label': 'Duration', oninput: () => showEnd() });
    const showEnd = () => {
      const s = parseDuration(duration.value);
      ends.textContent = s > 0 ? `until ${formatTime(Date.now() / 1000 + s)}` : 'not a duration (e.g. 2h, 30m, 1d)';
    };
    showEnd();
    const creator = h('input', { class: 'creator', value: storedCreator(), 'aria-label': 'Created by' });
    const comment = h('textarea', { class: 'comment', rows: 2, 'data-testid': 'silence-comment', placeholder: 'Why is this silenced? (required)', 'aria-label': 'Comment' });
    const msg = h('div', { class: 'form-msg' });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'silence-submit' }, 'Create silence');
    const fail = (text, focus) => {
      replace(msg, errorBox(text));
      if (focus) focus.focus();
    };
    const form = h('form', {
      class: 'silence-form', 'data-testid': 'silence-form', novalidate: true,
      oninput: () => replace(msg),
      onsubmit: async (e) => {
        e.preventDefault();
        replace(msg);
        const matchers = [...matchersBox.querySelectorAll('.matcher')].map((r) => {
          const op = r.querySelector('.m-op').value;
          return { name: r.querySelector('.m-name').value.trim(), value: r.querySelector('.m-value').value, isRegex: op.endsWith('~'), isEqual: !op.startsWith('!') };
        }).filter((m) => m.name);
        if (!matchers.length) return fail('Add at least one matcher.');
        const secs = parseDuration(duration.value);
        if (!(secs > 0)) return fail('The duration must look like 2h, 30m or 1d.', duration);
        const createdBy = creator.value.trim();
        if (!createdBy) return fail('Say who creates the silence.', creator);
        if (!comment.value.trim()) return fail('A comment is required: say why this is silenced.', comment);
        const now = Date.now();
        submit.disabled = true;
        try {
          const res = await postJSON('/api/v2/silences', {
            matchers, startsAt: new Date(now).toISOString(), endsAt: new Date(now + secs * 1000).toISOString(),
            createdBy, comment: comment.value.trim(),
          }, { signal: actions.signal });
          try {
            localStorage.setItem(CREATOR_KEY, createdBy);
          } catch { /* private mode: not remembered, no harm */ }
          forms.delete(key);
          form.remove();
          fresh = res && res.silenceID;
          replace(flash, h('div', { class: 'notice ok' }, `Silence created${fresh ? ` (${fresh})` : ''}.`));
          clearTimeout(flashTimer);
          flashTimer = setTimeout(() => replace(flash), 15000);
          await refresh();
        } catch (err) {
          if (err.name !== 'AbortError') fail(err);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('div', { class: 'form-title' }, 'New silence: alerts matching all of'),
    matchersBox,
    h('button', { type: 'button', class: 'add', onclick: () => addMatcher() }, '+ Matcher'),
    h('div', { class: 'form-grid' },
      h('label', {}, h('span', {}, 'Duration'), h('span', { class: 'inline' }, duration, ends)),
      h('label', {}, h('span', {}, 'Created by'), creator),
      h('label', { class: 'wide' }, h('span', {}, 'Comment'), comment)),
    msg,
    h('div', { class: 'form-actions' }, submit,
      h('button', { type: 'button', onclick: () => { forms.delete(key); form.remove(); drawAlerts(); } }, 'Cancel')));
    return form;
  }

  function drawSilences() {
    if (errors.silences) {
      silencesCount.textContent = '';
      replace(silencesBox, errorBox(errors.silences));
      return;
    }
    const all = Array.isArray(data.silences) ? data.silences : [];
    const state = (s) => (s.status && s.status.state) || 'expired';
    const live = all.filter((s) => state(s) !== 'expired')
      .sort((a, b) => (state(a) === 'active' ? 0 : 1) - (state(b) === 'active' ? 0 : 1) || String(a.endsAt).localeCompare(String(b.endsAt)));
    const expired = all.filter((s) => state(s) === 'expired').sort((a, b) => String(b.endsAt).localeCompare(String(a.endsAt)));
    silencesCount.textContent = `${live.length} active or pending, ${expired.length} expired`;
    const details = expired.length ? h('details', {
      class: 'expired', open: expiredOpen, ontoggle: () => { expiredOpen = details.open; },
    }, h('summary', {}, `Expired (${expired.length})`), expired.map((s) => silenceRow(s, state(s)))) : null;
    replace(silencesBox,
      live.length ? live.map((s) => silenceRow(s, state(s))) : h('p', { class: 'muted empty' }, 'No active silences.'),
      details);
    const hit = fresh && silencesBox.querySelector(`[data-silence-id="${CSS.escape(fresh)}"]`);
    if (hit) {
      hit.classList.add('fresh');
      hit.scrollIntoView({ block: 'nearest' });
      fresh = null;
    }
  }

  function silenceRow(s, state) {
    const msg = h('div');
    const row = h('article', { class: `silence-row ${state}`, 'data-testid': 'silence-row', dataset: { silenceId: s.id, state } },
      h('div', { class: 'silence-head' },
        h('span', { class: `badge s-${state}` }, state),
        h('span', { class: 'chips' }, (s.matchers || []).map((m) => h('span', { class: 'chip' }, `${m.name}${opOf(m)}"${m.value}"`)))),
      h('div', { class: 'silence-meta muted' },
        h('span', {}, 'starts ', timeEl(s.startsAt)),
        h('span', {}, state === 'expired' ? 'ended ' : 'ends ', timeEl(s.endsAt)),
        h('span', {}, 'by ', h('strong', {}, s.createdBy || '?')),
        h('span', { class: 'mono id', title: 'Silence id' }, s.id)),
      s.comment ? h('div', { class: 'silence-comment' }, s.comment) : null,
      state !== 'expired' ? h('div', { class: 'silence-actions' }, h('button', {
        type: 'button', 'data-testid': 'expire-silence',
        onclick: async (e) => {
          const btn = e.currentTarget;
          btn.disabled = true;
          try {
            await del(`/api/v2/silence/${encodeURIComponent(s.id)}`, { signal: actions.signal });
            await refresh();
          } catch (err) {
            if (err.name !== 'AbortError') replace(msg, errorBox(err));
            btn.disabled = false;
          }
        },
      }, 'Expire')) : null,
      msg);
    return row;
  }

  function drawRules() {
    if (errors.rules) {
      rulesCount.textContent = '';
      replace(rulesBox, errorBox(errors.rules));
      return;
    }
    const groups = (data.rules && data.rules.groups) || [];
    const total = groups.reduce((n, g) => n + (g.rules || []).length, 0);
    rulesCount.textContent = `${total} in ${groups.length} group${groups.length === 1 ? '' : 's'}`;
    const shown = groups.map((g) => ({ g, rules: (g.rules || []).filter((r) => matches(filter, r.name, r.labels)) }))
      .filter(({ rules }) => rules.length || !filter);
    replace(rulesBox, shown.length ? shown.map(({ g, rules }) => h('section', { class: 'rule-group panel', dataset: { group: g.name } },
      h('div', { class: 'group-head' },
        h('h3', {}, g.name),
        h('span', { class: 'muted group-meta' },
          g.file ? h('span', { class: 'mono' }, g.file) : null,
          h('span', {}, `every ${formatDuration(g.interval)}`),
          h('span', {}, 'evaluated ', timeEl(g.lastEvaluation)),
          h('span', {}, `took ${took(g.evaluationTime)}`))),
      rules.length ? rules.map(ruleRow) : h('p', { class: 'muted empty' }, 'No rules.')))
      : h('p', { class: 'muted empty' }, groups.length ? 'No rule matches the filter.' : 'No rules are loaded.'));
  }

  function ruleRow(r) {
    const alerting = r.type === 'alerting';
    const health = r.health || 'unknown';
    const n = (r.alerts || []).length;
    return h('div', { class: 'rule-row', 'data-testid': 'rule-row', dataset: { rule: r.name, type: r.type, state: r.state || '', health } },
      h('div', { class: 'rule-head' },
        h('strong', { class: 'rule-name mono' }, r.name),
        alerting ? h('span', { class: `badge ${r.state || 'inactive'}` }, r.state || 'inactive') : h('span', { class: 'badge' }, 'recording'),
        h('span', { class: `badge ${health === 'ok' ? 'ok' : health === 'err' ? 'error' : ''}`, title: 'Health of the last evaluation' }, health === 'err' ? 'error' : health),
        n ? h('span', { class: 'muted' }, `${n} alert${n === 1 ? '' : 's'}`) : null),
      h('a', { class: 'rule-expr mono', href: href('metrics', { expr: r.query }), title: 'Open in Metrics' }, r.query),
      h('div', { class: 'rule-meta muted' },
        alerting ? h('span', {}, r.duration > 0 ? `for ${formatDuration(r.duration)}` : 'fires at once (no for)') : null,
        alerting && r.keepFiringFor ? h('span', {}, `keep firing for ${formatDuration(r.keepFiringFor)}`) : null,
        h('span', {}, 'evaluated ', timeEl(r.lastEvaluation)),
        r.evaluationTime !== undefined ? h('span', {}, `took ${took(r.evaluationTime)}`) : null,
        chips(r.labels)),
      alerting && r.annotations && r.annotations.summary ? h('div', { class: 'rule-summary' }, r.annotations.summary) : null,
      r.lastError ? h('div', { class: 'error' }, r.lastError) : null);
  }

  refresh();

  return {
    update(next) {
      filter = next.params.get('filter') || '';
      if (document.activeElement !== filterInput) filterInput.value = filter;
      if (Object.keys(data).length || Object.keys(errors).length) draw();
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      clearTimeout(flashTimer);
      if (ctrl) ctrl.abort();
      actions.abort();
    },
  };
}
