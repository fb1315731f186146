// Durations, time ranges and their controls, shared by the pages.
import { h } from './dom.js';

const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Seconds in a Prometheus-style duration ("1h30m", "90s", "2d"), or a
 *  plain number of seconds; NaN when it is neither. */
export function parseDuration(text) {
  const s = String(text || '').trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let used = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    used += m[0].length;
  }
  return used === s.length && used > 0 ? total : NaN;
}

/** A short duration for people: 90 → "1m30s". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  let rest = Math.round(seconds);
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || '0s';
}

/** A span duration from nanoseconds: "850µs", "12.3ms", "1.2s". */
export function formatNanos(ns) {
  const n = Number(ns);
  if (n < 1e3) return `${n}ns`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}µs`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}ms`;
  return `${(n / 1e9).toFixed(2)}s`;
}

/** Local date and time of unix seconds, to the second. */
export function formatTime(seconds) {
  const d = new Date(seconds * 1000);
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Same as formatTime with milliseconds. */
export function formatTimeMs(seconds) {
  const ms = String(Math.floor((seconds * 1000) % 1000)).padStart(3, '0');
  return `${formatTime(seconds)}.${ms}`;
}

export const RANGE_PRESETS = ['5m', '15m', '1h', '3h', '6h', '12h', '1d', '2d', '7d'];

/** { start, end } in unix seconds from URL params `range` (a duration,
 *  default `fallback`) and optional `end` (unix seconds). */
export function resolveRange(params, fallback = '1h') {
  const span = parseDuration(params.get('range') || fallback) || parseDuration(fallback);
  const endParam = Number(params.get('end'));
  const end = Number.isFinite(endParam) && endParam > 0 ? endParam : Date.now() / 1000;
  return { start: end - span, end, span };
}

/** A step giving about `points` points over `span` seconds, rounded to a
 *  whole number of seconds (at least 1). */
export function autoStep(span, points = 250) {
  const raw = Math.max(1, span / points);
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  return nice.find((n) => n >= raw) || Math.ceil(raw / 86400) * 86400;
}

/** The range controls: a preset or typed duration, and an optional end. */
export function rangeControls(params, onChange, fallback = '1h') {
  const range = h('input', {
    class: 'range', list: 'range-presets', value: params.get('range') || fallback,
    'aria-label': 'Time range', size: 5, title: 'Time range, e.g. 1h, 30m, 2d',
  });
  const presets = h('datalist', { id: 'range-presets' }, RANGE_PRESETS.map((p) => h('option', { value: p })));
  const endValue = Number(params.get('end'));
  const end = h('input', {
    type: 'datetime-local', class: 'end', 'aria-label': 'End time', step: 1,
    value: endValue > 0 ? toLocalInput(endValue) : '',
    title: 'End of the range (empty: now)',
  });
  const fire = () => {
    const secs = end.value ? new Date(end.value).getTime() / 1000 : '';
    if (Number.isNaN(parseDuration(range.value))) {
      range.setCustomValidity('not a duration');
      range.reportValidity();
      return;
    }
    range.setCustomValidity('');
    onChange({ range: range.value.trim(), end: secs ? String(Math.round(secs)) : '' });
  };
  range.addEventListener('change', fire);
  end.addEventListener('change', fire);
  return h('span', { class: 'range-controls' }, range, presets, end);
}

function toLocalInput(seconds) {
  const d = new Date(seconds * 1000);
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
