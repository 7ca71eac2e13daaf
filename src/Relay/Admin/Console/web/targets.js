// Targets: every configured target with its queues, circuit and pause, each linking to its own page; above them, the
// removed targets whose queues still hold events, to move or purge.
import * as api from './api.js';
import { badge, count, h, replaceContent, table, targetLink, yesNo } from './dom.js';
import { loadOrphans, orphansPanel } from './orphans.js';

export async function render(main, { signal }) {
  const orphans = h('div');
  const list = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Targets'), orphans, list);

  async function load() {
    const [{ targets }, removed] = await Promise.all([api.get('targets', null, signal), loadOrphans(signal)]);
    replaceContent(orphans, orphansPanel(removed, targets.map(t => t.id), { signal, reload: load }));
    replaceContent(list,
      h('p', { class: 'lead' }, 'Open a target to handle its dead letters and blocked keys, pause or resume it, send it a test event or replay a time range.'),
      table('Targets',
        ['Target', { label: 'Ready', class: 'num' }, { label: 'In flight', class: 'num' }, { label: 'Retrying', class: 'num' }, { label: 'Dead', class: 'num' }, 'Circuit', 'Paused'],
        targets.map(t => [targetLink(t.id), count(t.ready), count(t.inFlight), count(t.retrying), count(t.dead), badge(t.circuit), t.paused ? badge('paused') : yesNo(false)]),
        'No targets are configured.', { rowHeaders: true }));
  }

  await load();
}
