// Targets: every configured target with its queues, circuit and pause; each links to its own page.
import * as api from './api.js';
import { badge, count, h, table, targetLink, yesNo } from './dom.js';

export async function render(main, { signal }) {
  main.append(h('h1', { tabindex: -1 }, 'Targets'));
  const { targets } = await api.get('targets', null, signal);
  main.append(
    h('p', { class: 'lead' }, 'Open a target to handle its dead letters, pause or resume it, send it a test event or replay a time range.'),
    table('Targets',
      ['Target', { label: 'Ready', class: 'num' }, { label: 'In flight', class: 'num' }, { label: 'Retrying', class: 'num' }, { label: 'Dead', class: 'num' }, 'Circuit', 'Paused'],
      targets.map(t => [targetLink(t.id), count(t.ready), count(t.inFlight), count(t.retrying), count(t.dead), badge(t.circuit), t.paused ? badge('paused') : yesNo(false)]),
      'No targets are configured.', { rowHeaders: true }));
}
