// The page and its state live in the URL's hash (`#/metrics?expr=…`), so
// every view can be bookmarked and shared, and `/metrics` stays the
// self-metrics endpoint.

// A hand-edited URL may hold a broken escape; show it as typed.
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** { page, params: URLSearchParams } of the current hash. */
export function current() {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const [page, ...rest] = path.split('/');
  return {
    page: page || 'metrics',
    rest: rest.map(decodeSegment),
    params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)),
  };
}

/** A link to a page with params. */
export function href(page, params = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const qs = p.toString();
  return `#/${page}${qs ? `?${qs}` : ''}`;
}

/** Changes params of the current page. `push` adds a history entry (a new
 *  query); otherwise the entry is replaced (a tweak). Pages re-render on
 *  hashchange. */
export function update(changes, { push = true } = {}) {
  const { page, rest, params } = current();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') params.delete(k);
    else params.set(k, v);
  }
  const path = [page, ...rest.map(encodeURIComponent)].join('/');
  const qs = params.toString();
  const next = `#/${path}${qs ? `?${qs}` : ''}`;
  if (next === window.location.hash) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (push) {
    window.location.hash = next;
  } else {
    history.replaceState(null, '', next);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }
}
