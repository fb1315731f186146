// The single page: a nav bar and one page module at a time, chosen by the
// URL's hash. Page modules are loaded on first use so that the first load
// stays small.
import { current } from './lib/route.js';
import { errorBox, replace } from './lib/dom.js';

const PAGES = {
  metrics: () => import('./pages/metrics.js'),
  logs: () => import('./pages/logs.js'),
  traces: () => import('./pages/traces.js'),
  alerts: () => import('./pages/alerts.js'),
  status: () => import('./pages/status.js'),
};

const main = document.getElementById('main');
let active = null;
// Counts navigations, so that a page module still loading when the user
// moves on is not shown (and left running) after the newer page.
let navigation = 0;

async function show() {
  const seq = ++navigation;
  let route;
  try {
    route = current();
  } catch (e) {
    replace(main, errorBox(e));
    return;
  }
  const load = PAGES[route.page];
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === route.page);
  }
  // A page that keeps its DOM (an open editor, a live tail) handles a
  // change of its own params itself.
  if (active && active.page === route.page && active.view && active.view.update) {
    active.view.update(route);
    return;
  }
  if (active && active.view && active.view.destroy) active.view.destroy();
  active = null;
  if (!load) {
    replace(main, errorBox(`No page "${route.page}".`));
    return;
  }
  try {
    const mod = await load();
    if (seq !== navigation) return;
    replace(main);
    document.title = `${route.page[0].toUpperCase()}${route.page.slice(1)} · Hearth`;
    active = { page: route.page, view: mod.render(main, route) };
  } catch (e) {
    replace(main, errorBox(e));
  }
}

window.addEventListener('hashchange', show);
show();
