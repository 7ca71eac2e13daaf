// The console's shell: hash routes (#/overview, #/events, #/events/<id>, #/targets, #/targets/<id>, #/sources),
// the navigation, and signing out. Each page module renders into <main> and stops its timers when the signal aborts.
import { csrfToken } from './api.js';
import { clearNotices, complain, h } from './dom.js';
import * as overview from './overview.js';
import * as events from './events.js';
import * as event from './event.js';
import * as targets from './targets.js';
import * as target from './target.js';
import * as sources from './sources.js';

const routes = [
  [/^\/overview$/, overview, 'Overview'],
  [/^\/events$/, events, 'Events'],
  [/^\/events\/(.+)$/, event, 'Event'],
  [/^\/targets$/, targets, 'Targets'],
  [/^\/targets\/(.+)$/, target, 'Target'],
  [/^\/sources$/, sources, 'Sources'],
];

let running = null;
let firstRender = true;

function currentRoute() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/overview';
  const query = raw.indexOf('?');
  const path = query < 0 ? raw : raw.slice(0, query);
  return { path, params: new URLSearchParams(query < 0 ? '' : raw.slice(query + 1)) };
}

function markNavigation(path) {
  const section = `#/${path.split('/')[1] ?? ''}`;
  for (const link of document.querySelectorAll('.top nav a')) {
    if (link.getAttribute('href') === section) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

async function render() {
  // In-page anchors (the skip link) are not routes.
  if (location.hash && !location.hash.startsWith('#/')) {
    return;
  }

  running?.abort();
  const controller = new AbortController();
  running = controller;
  clearNotices();
  const { path, params } = currentRoute();
  markNavigation(path);
  const main = document.getElementById('main');
  main.replaceChildren();
  const match = routes.map(([pattern, page, title]) => ({ found: pattern.exec(path), page, title })).find(r => r.found);
  if (!match) {
    document.title = 'Not found · Relay console';
    main.append(h('h1', { tabindex: -1 }, 'Not found'), h('p', null, 'No such console page. ', h('a', { href: '#/overview' }, 'Go to the overview.')));
    return;
  }

  const id = match.found[1] === undefined ? undefined : decodeURIComponent(match.found[1]);
  document.title = `${id ? `${id} · ` : ''}${match.title} · Relay console`;
  try {
    await match.page.render(main, { id, params, signal: controller.signal });
  } catch (error) {
    complain(error);
  }

  // Move focus to the new page's heading so keyboard and screen reader users start there (not on first load), unless
  // the operator already moved into the page while it loaded: taking a focused button away would swallow their Enter.
  if (!firstRender && running === controller && !main.contains(document.activeElement)) {
    main.querySelector('h1')?.focus();
  }

  firstRender = false;
}

async function signOut() {
  try {
    const response = await fetch(new URL('session/sign-out', document.baseURI), {
      method: 'POST',
      headers: { 'X-Relay-CSRF': csrfToken(), Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!response.ok && response.status !== 401) {
      complain(new Error(`Sign-out failed: HTTP ${response.status}`));
      return;
    }

    sessionStorage.setItem('relay-console-notice', 'Signed out.');
    location.assign(new URL('sign-in', document.baseURI));
  } catch (error) {
    complain(error);
  }
}

document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', render);
render();
