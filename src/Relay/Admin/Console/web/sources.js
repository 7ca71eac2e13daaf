// Sources: each configured source, its kind, path, dedupe window and routes, and its counters for the last hour.
import * as api from './api.js';
import { count, h, table, targetLink } from './dom.js';
import { OUTCOMES } from './overview.js';

export async function render(main, { signal }) {
  main.append(h('h1', { tabindex: -1 }, 'Sources'));
  let sources;
  try {
    ({ sources } = await api.get('sources', null, signal));
  } catch (error) {
    if (!api.isMissingEndpoint(error)) {
      throw error;
    }

    main.append(h('p', { class: 'problem' }, 'This relay does not list its sources yet (GET /admin/sources). They are in relay.yaml under sources.'));
    return;
  }

  main.append(
    h('p', { class: 'lead' }, 'Where each vendor calls (or which stream Relay opens), and where its events go. Counters cover the last hour.'),
    table('Sources',
      ['Source', 'Kind', 'Path', 'Dedupe window', 'Routes', ...OUTCOMES.map(([, label]) => ({ label, class: 'num' }))],
      sources.map(s => [
        s.id,
        s.kind,
        s.path ? h('code', null, s.path) : 'stream',
        s.dedupeWindow ?? '—',
        routes(s.routes ?? []),
        ...OUTCOMES.map(([key]) => count(s.lastHour?.[key] ?? 0)),
      ]),
      'No sources are configured.', { rowHeaders: true }));
}

function routes(list) {
  if (list.length === 0) {
    return h('span', { class: 'empty' }, 'none (events are recorded, not delivered)');
  }

  return h('ul', { class: 'routes' }, list.map(r => h('li', null,
    '→ ', targetLink(r.target),
    r.events?.length ? [' events ', h('code', null, r.events.join(', '))] : ' every event',
    r.tags?.length ? [' tags ', h('code', null, r.tags.join(', '))] : null,
    r.when ? [' when ', h('code', null, r.when)] : null)));
}
