// One event: what arrived (redacted headers and body), its state with each target, why each route sent it or not,
// every delivery attempt, and replay to all or chosen targets. Refreshes itself while a delivery is still under way.
import * as api from './api.js';
import { badge, complain, duration, every, facts, h, notify, replaceContent, table, targetLink, time } from './dom.js';
import { routeDecisionsSection } from './route-decisions.js';

const SETTLED = new Set(['delivered', 'dead', 'purged', 'quarantined']);
const REFRESH_MS = 2000;

export async function render(main, { id, signal }) {
  const heading = h('h1', { tabindex: -1 }, 'Event ', h('span', { class: 'id' }, id));
  const summary = h('section', { 'aria-label': 'Summary' });
  const targets = h('section', { 'aria-labelledby': 'targets-heading' });
  const routes = h('section', { 'aria-labelledby': 'routes-heading' });
  const attempts = h('section', { 'aria-labelledby': 'attempts-heading' });
  const request = h('section', { 'aria-labelledby': 'request-heading' });
  main.append(h('p', { class: 'hint' }, h('a', { href: '#/events' }, '← Events')), heading, summary, targets, routes, attempts, request);

  let current = null;
  async function load() {
    try {
      current = await api.get(`events/${api.seg(id)}`, null, signal);
    } catch (error) {
      complain(error);
      return;
    }

    replaceContent(summary, summaryFacts(current));
    drawTargets(targets, current, replay);
    replaceContent(attempts,
      h('h2', { id: 'attempts-heading' }, 'Attempts'),
      h('p', { class: 'hint' }, 'Every delivery attempt, oldest first. A replay or redrive starts a target\'s count again; the history keeps the earlier attempts.'),
      table('Delivery attempts, oldest first',
        ['Time (UTC)', 'Target', { label: 'Attempt', class: 'num' }, 'Status', { label: 'Duration', class: 'num' }, 'Error'],
        (current.attempts ?? []).map(a => [time(a.at), a.target, String(a.attempt), status(a.status), duration(a.durationMs), a.error ?? '']),
        'No delivery attempt yet.'));
    // What arrived and how it was routed never change: drawn once, so a refresh does not move the reader's place.
    if (!request.hasChildNodes()) {
      routes.append(...routeDecisionsSection(current));
      request.append(...requestParts(current));
    }
  }

  async function replay(chosen) {
    try {
      const body = chosen ? { targets: chosen } : undefined;
      const result = await api.post(`events/${api.seg(id)}/replay`, body, signal);
      notify(`Replay queued: ${Object.entries(result.targets).map(([t, outcome]) => `${t} ${outcome}`).join(', ')}.`);
      await load();
    } catch (error) {
      complain(error);
    }
  }

  await load();
  every(REFRESH_MS, load, signal, () => current !== null && Object.values(current.targets ?? {}).some(t => !SETTLED.has(t.state)));
}

/** The target's HTTP status, marked as a success or a failure (in words as well as colour: "HTTP 400"). */
function status(code) {
  if (code === undefined || code === null) {
    return h('span', { class: 'status-bad' }, 'no response');
  }

  return h('span', { class: code >= 200 && code < 300 ? 'status-ok' : 'status-bad' }, `HTTP ${code}`);
}

function summaryFacts(e) {
  return facts([
    ['Source', e.source],
    ['Type', e.type],
    ['Received (UTC)', time(e.receivedAt)],
    ['Request', `${e.method}${e.query ? ` ${e.query}` : ''}`],
    ['Content type', e.contentType ?? '—'],
    e.tags?.length ? ['Tags', e.tags.join(', ')] : null,
  ]);
}

function drawTargets(section, e, replay) {
  const selected = new Set([...section.querySelectorAll('input[name="replay-target"]:checked')].map(c => c.value));
  const names = Object.keys(e.targets ?? {});
  const boxes = names.map(t => h('input', { type: 'checkbox', name: 'replay-target', value: t, id: `replay-${t}`, checked: selected.has(t) }));
  const rows = names.map((t, i) => {
    const s = e.targets[t];
    const when = s.deliveredAt ? ['delivered ', time(s.deliveredAt)] : s.deadAt ? ['dead since ', time(s.deadAt)] : s.nextAttemptAt ? ['next attempt ', time(s.nextAttemptAt)] : '—';
    return [
      h('span', null, boxes[i], ' ', h('label', { for: `replay-${t}`, class: 'visually-hidden' }, `Replay to ${t}`)),
      targetLink(t),
      badge(s.state),
      String(s.attempts ?? 0),
      h('span', null, when),
      s.reason ?? '',
    ];
  });

  const replaySelected = h('button', { type: 'button', id: 'replay-selected', class: 'secondary' }, 'Replay to selected targets');
  const replayAll = h('button', { type: 'button', id: 'replay-all' }, 'Replay to all targets');
  const syncButton = () => { replaySelected.disabled = !boxes.some(b => b.checked); };
  boxes.forEach(b => b.addEventListener('change', syncButton));
  syncButton();
  replaySelected.addEventListener('click', () => replay(boxes.filter(b => b.checked).map(b => b.value)));
  replayAll.addEventListener('click', () => replay(null));

  replaceContent(section,
    h('h2', { id: 'targets-heading' }, 'Targets'),
    table('State with each target', [{ label: 'Select' }, 'Target', 'State', { label: 'Attempts', class: 'num' }, 'When', 'Reason'], rows, 'This event has no target.'),
    h('div', { class: 'toolbar' }, replayAll, replaySelected,
      h('span', { class: 'hint' }, 'A replay delivers the event again, even after a success, with the same webhook-id.')));
}

function requestParts(e) {
  return [
    h('h2', { id: 'request-heading' }, 'Request'),
    h('p', { class: 'hint' }, 'As received, with signatures, tokens and URL query strings masked.'),
    h('h3', null, 'Headers'),
    table('Request headers', ['Name', 'Value'], (e.headers ?? []).map(x => [h('span', { class: 'mono' }, x.name), h('span', { class: 'wrap' }, x.value)]), 'No headers were stored.'),
    h('h3', null, 'Body'),
    body(e),
  ];
}

/** JSON pretty-printed; a form as a table of fields; anything else as text; binary as base64. */
function body(e) {
  const text = e.body ?? '';
  const type = (e.contentType ?? '').toLowerCase();
  if (e.bodyEncoding === 'base64') {
    return [h('p', { class: 'hint' }, 'Not UTF-8 text: shown as base64.'), h('pre', { class: 'body', tabindex: 0, 'aria-label': 'Body (base64)' }, text)];
  }

  if (text.length === 0) {
    return h('p', { class: 'empty' }, 'Empty body.');
  }

  if (type.includes('json')) {
    try {
      return h('pre', { class: 'body', tabindex: 0, 'aria-label': 'Body (JSON)' }, JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      // not valid JSON after all: show it as it is
    }
  }

  if (type.startsWith('application/x-www-form-urlencoded')) {
    const fields = [...new URLSearchParams(text)];
    return table('Form fields', ['Field', 'Value'], fields.map(([name, value]) => [h('span', { class: 'mono' }, name), h('span', { class: 'wrap' }, value)]), 'No fields.');
  }

  return h('pre', { class: 'body', tabindex: 0, 'aria-label': 'Body' }, text);
}
