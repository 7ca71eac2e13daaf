// Overview: a warning when removed targets still owe events; per source, events per minute by outcome (last 15
// minutes); per target, queues, lag, success rate, p95, circuit and pause; stream connectors. Refreshes itself every
// 5 seconds while the box is ticked.
import * as api from './api.js';
import { age, badge, complain, count, duration, every, h, percent, replaceContent, svg, table, targetLink, time, yesNo } from './dom.js';
import { loadOrphans, orphansWarning } from './orphans.js';

const WINDOW_MINUTES = 15;
const REFRESH_MS = 5000;
export const OUTCOMES = [
  ['accepted', 'Accepted'],
  ['duplicate', 'Duplicate'],
  ['unauthorized', 'Unauthorized'],
  ['bad_request', 'Bad request'],
  ['unavailable', 'Unavailable'],
  ['unrouted', 'Unrouted'],
];

export async function render(main, { signal }) {
  const auto = h('input', { type: 'checkbox', id: 'auto-refresh', checked: true });
  const updated = h('span', { class: 'hint', id: 'updated' });
  const content = h('div', { id: 'overview' });
  main.append(
    h('h1', { tabindex: -1 }, 'Overview'),
    h('div', { class: 'toolbar' },
      auto, h('label', { for: 'auto-refresh' }, `Refresh every ${REFRESH_MS / 1000} seconds`),
      h('button', { type: 'button', class: 'secondary', onclick: () => load() }, 'Refresh now'),
      updated),
    content);

  async function load() {
    try {
      const [data, orphans] = await Promise.all([api.get('overview', { minutes: WINDOW_MINUTES }, signal), loadOrphans(signal)]);
      replaceContent(content, orphansWarning(orphans), sourcesSection(data), targetsSection(data.targets, true), connectorsSection(data.connectors ?? []));
      updated.textContent = `Updated ${new Date(data.generatedAt ?? Date.now()).toISOString().slice(11, 19)} UTC`;
    } catch (error) {
      if (!api.isMissingEndpoint(error)) {
        complain(error);
        return;
      }

      // A relay without GET /admin/overview still lists its targets' queues.
      try {
        const { targets } = await api.get('targets', null, signal);
        replaceContent(content,
          h('p', { class: 'hint' }, 'This relay does not serve per-source counts, latency or connectors yet (GET /admin/overview); showing queue depths only.'),
          targetsSection(targets, false));
        updated.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
      } catch (inner) {
        complain(inner);
      }
    }
  }

  await load();
  every(REFRESH_MS, load, signal, () => auto.checked);
}

function sourcesSection(data) {
  const sources = data.sources ?? [];
  const minutes = data.windowMinutes ?? WINDOW_MINUTES;
  const rows = sources.map(s => [
    s.id,
    s.kind,
    ...OUTCOMES.map(([key]) => count(s.totals?.[key] ?? 0)),
    chart(s),
  ]);
  const perMinute = sources.map(s => h('details', { 'data-key': `minutes-${s.id}` },
    h('summary', null, `${s.id}: per minute`),
    table(`Events per minute for ${s.id}, oldest first`, ['Minute (UTC)', ...OUTCOMES.map(([, label]) => ({ label, class: 'num' }))],
      (s.minutes ?? []).map(m => [time(m.at), ...OUTCOMES.map(([key]) => count(m[key] ?? 0))]))));
  return h('section', { 'aria-labelledby': 'sources-heading' },
    h('h2', { id: 'sources-heading' }, 'Sources'),
    h('p', { class: 'lead' }, `Requests and streamed events per outcome over the last ${minutes} minutes.`),
    table('Events per source and outcome', ['Source', 'Kind', ...OUTCOMES.map(([, label]) => ({ label, class: 'num' })), 'Per minute'], rows, 'No sources are configured.', { rowHeaders: true }),
    legend(),
    perMinute);
}

/** Stacked bars, one per minute, oldest on the left; the numbers are in the per-minute table as well. */
function chart(source) {
  const minutes = source.minutes ?? [];
  const bar = 7;
  const gap = 2;
  const height = 36;
  const totals = minutes.map(m => OUTCOMES.reduce((sum, [key]) => sum + (m[key] ?? 0), 0));
  const peak = Math.max(1, ...totals);
  const width = Math.max(1, minutes.length) * (bar + gap);
  const picture = svg('svg', { class: 'minutes', width, height: height + 2, viewBox: `0 0 ${width} ${height + 2}`, role: 'img', 'aria-label': `${source.id}, events per minute, oldest first: ${totals.join(', ') || 'none'}` });
  picture.append(svg('rect', { class: 'axis', x: 0, y: height, width, height: 2 }));
  minutes.forEach((m, i) => {
    let y = height;
    for (const [key] of OUTCOMES) {
      const value = m[key] ?? 0;
      if (value === 0) {
        continue;
      }

      const size = Math.max(1, Math.round((value / peak) * height));
      y -= size;
      picture.append(svg('rect', { class: `o-${key}`, x: i * (bar + gap), y, width: bar, height: size }, svg('title', null, `${new Date(m.at).toISOString().slice(11, 16)} ${key}: ${value}`)));
    }
  });
  return picture;
}

function legend() {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' }, OUTCOMES.map(([key, label]) => h('li', null, h('span', { class: `swatch o-${key}` }), label)));
}

function targetsSection(targets, full) {
  const columns = ['Target', { label: 'Ready', class: 'num' }, { label: 'In flight', class: 'num' }, { label: 'Retrying', class: 'num' }, { label: 'Dead', class: 'num' }];
  if (full) {
    columns.push({ label: 'Lag', class: 'num' }, { label: 'Success (15 min)', class: 'num' }, { label: 'p95 latency', class: 'num' });
  }

  columns.push('Circuit', 'Paused');
  const rows = targets.map(t => {
    const row = [targetLink(t.id, { id: `overview-target-${t.id}` }), count(t.ready), count(t.inFlight), count(t.retrying), count(t.dead)];
    if (full) {
      row.push(age(t.lagSeconds), percent(t.successRate), duration(t.p95Ms));
    }

    row.push(badge(t.circuit), t.paused ? badge('paused') : yesNo(false));
    return row;
  });
  return h('section', { 'aria-labelledby': 'targets-heading' },
    h('h2', { id: 'targets-heading' }, 'Targets'),
    full ? h('p', { class: 'lead' }, 'Lag is the age of the oldest event ready for delivery. Success rate and p95 cover the last 15 minutes of attempts.') : null,
    table('Targets', columns, rows, 'No targets are configured.', { rowHeaders: true }));
}

function connectorsSection(connectors) {
  return h('section', { 'aria-labelledby': 'connectors-heading' },
    h('h2', { id: 'connectors-heading' }, 'Stream connectors'),
    table('Stream connectors',
      ['Source', 'Kind', 'State', 'Holder', 'Last event (UTC)', { label: 'Events', class: 'num' }, { label: 'Reconnects', class: 'num' }, 'Last error'],
      connectors.map(c => [
        c.source, c.kind, badge(c.connected ? 'connected' : 'disconnected'), c.holder ?? '—', time(c.lastEventAt),
        count(c.eventsReceived), count(c.reconnects), c.lastError ?? '—',
      ]),
      'No stream sources are configured.', { rowHeaders: true }));
}
