// Orphaned queues: targets removed from (or renamed in) relay.yaml whose queues still hold events. Nobody delivers
// those events and they never expire until an operator moves them to a configured target or purges them.
import * as api from './api.js';
import { confirmFirst, count, counted, h, notify, table } from './dom.js';

/** GET /admin/orphans; none from a relay that does not list them yet. */
export async function loadOrphans(signal) {
  try {
    return (await api.get('orphans', null, signal)).orphans ?? [];
  } catch (error) {
    if (api.isMissingEndpoint(error)) {
      return [];
    }

    throw error;
  }
}

const owed = o => (o.ready ?? 0) + (o.inFlight ?? 0) + (o.retrying ?? 0) + (o.dead ?? 0);

/** The overview's warning: which removed targets still owe events, and where to settle them. Nothing when none do. */
export function orphansWarning(orphans) {
  if (orphans.length === 0) {
    return null;
  }

  return h('section', { class: 'panel warning', 'aria-labelledby': 'orphans-heading' },
    h('h2', { id: 'orphans-heading' }, 'Removed targets still owe events'),
    h('p', null,
      orphans.map(o => `${o.target} (${counted(owed(o), 'event')})`).join(', '),
      '. No target delivers them, and they never expire. ',
      h('a', { href: '#/targets' }, 'Move or purge them on the Targets page'), '.'));
}

/**
 * The Targets page's panel: each removed target with its queues, a move to one of `configured` and a purge, both
 * asked first. `reload` redraws the page afterwards, whatever the outcome: a move changes the receiving target's
 * queues, and a refused call (another operator settled it first) means this list is out of date.
 */
export function orphansPanel(orphans, configured, { signal, reload }) {
  if (orphans.length === 0) {
    return null;
  }

  const confirmation = h('div', { id: 'orphan-confirm' });
  const settle = (opener, { question, action, call, done }) => confirmFirst(confirmation, {
    opener,
    id: 'orphan',
    question,
    action,
    run: async () => {
      try {
        notify(done(await call()));
      } finally {
        await reload();
      }
    },
  });

  const rows = orphans.map((o, i) => {
    const n = owed(o);
    const choice = h('select', { id: `orphan-${i}-to` },
      h('option', { value: '' }, 'Move to…'),
      configured.map(t => h('option', { value: t }, t)));
    const move = h('button', { type: 'button', disabled: true }, 'Move…');
    const purge = h('button', { type: 'button', class: 'danger' }, 'Purge…');
    choice.addEventListener('change', () => { move.disabled = choice.value === ''; });
    move.addEventListener('click', () => {
      // The target asked about is the one moved to, even if the choice changes while the question is open.
      const to = choice.value;
      settle(move, {
        question: `Move the ${counted(n, 'event')} ${o.target} still owes to ${to}? Waiting and retrying events are queued there with a fresh retry schedule; dead letters become ${to}'s dead letters, to redrive on purpose.`,
        action: `Move ${counted(n, 'event')} to ${to}`,
        call: () => api.post(`orphans/${api.seg(o.target)}/move`, { to }, signal),
        done: r => `${counted(r.moved, 'event')} of ${r.target} moved to ${r.to}.`,
      });
    });
    purge.addEventListener('click', () => settle(purge, {
      question: `Purge the ${counted(n, 'event')} ${o.target} still owes? No target will deliver them; they stay visible (state purged) until retention expires them.`,
      action: `Purge ${counted(n, 'event')}`,
      call: () => api.del(`orphans/${api.seg(o.target)}`, signal),
      done: r => `${counted(r.purged, 'event')} of ${r.target} purged: no target will deliver them.`,
    }));
    return [
      o.target, count(o.ready), count(o.inFlight), count(o.retrying), count(o.dead),
      h('span', { class: 'actions' }, h('label', { for: choice.id, class: 'visually-hidden' }, `Where ${o.target}'s events go`), choice, move, purge),
    ];
  });

  return h('section', { class: 'panel warning', 'aria-labelledby': 'orphans-heading' },
    h('h2', { id: 'orphans-heading' }, 'Removed targets still owe events'),
    h('p', { class: 'hint' }, 'These targets are no longer in the configuration, but their queues still hold events. No target delivers them and they never expire: move them to a configured target, or purge them.'),
    table('Removed targets with events still owed',
      ['Removed target', { label: 'Ready', class: 'num' }, { label: 'In flight', class: 'num' }, { label: 'Retrying', class: 'num' }, { label: 'Dead', class: 'num' }, 'Settle'],
      rows, '', { rowHeaders: true }),
    confirmation);
}
