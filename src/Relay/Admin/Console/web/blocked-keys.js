// A target's blocked keys (ordering: key with onDeadLetter: block): each ordering key held behind a dead letter, with
// how many of its events wait. Redriving that one dead letter delivers it first, then the rest of the key in order.
import * as api from './api.js';
import { complain, count, counted, eventLink, h, notify, replaceContent, table, time } from './dom.js';

/**
 * Returns the function that (re)draws the section. It stays empty while no key has been blocked, so targets that do
 * not block keys show nothing; once keys were shown, an empty list says so, and the operator sees a redrive free them.
 * `afterRedrive` refreshes whatever else on the page a redrive changes (queues, dead letters, this section).
 */
export function blockedKeys(section, { target, signal, afterRedrive }) {
  const base = `targets/${api.seg(target)}`;
  let shown = false;

  async function redrive(blocked) {
    try {
      const result = await api.post(`${base}/dead-letters/redrive`, { ids: [blocked.eventId] }, signal);
      notify(result.redriven
        ? `Dead letter ${blocked.eventId} redriven: it is delivered first, then the ${counted(blocked.waiting, 'event')} waiting behind key ${blocked.key}, in order.`
        : `${blocked.eventId} is no longer a dead letter of ${target}: it was redriven or purged meanwhile.`);
      await afterRedrive();
    } catch (error) {
      complain(error);
    }
  }

  return async function load() {
    let blocked;
    try {
      ({ blocked } = await api.get(`${base}/blocked`, null, signal));
    } catch (error) {
      // A relay without ordered delivery has no blocked keys to list.
      if (api.isMissingEndpoint(error)) {
        return;
      }

      throw error;
    }

    if (blocked.length === 0 && !shown) {
      section.replaceChildren();
      return;
    }

    shown = true;
    const rows = blocked.map(b => [
      h('span', { class: 'mono' }, b.key),
      eventLink(b.eventId),
      time(b.since),
      h('span', { class: 'wrap' }, b.reason ?? '—'),
      count(b.waiting),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Redrive the dead letter holding key ${b.key}`, onclick: () => redrive(b) }, 'Redrive'),
    ]);
    replaceContent(section,
      h('h2', { id: 'blocked-heading' }, 'Blocked keys'),
      h('p', { class: 'hint' },
        `${target} delivers each ordering key's events one at a time, in order, and holds a key whose event was dead-lettered. `
        + 'Redrive that dead letter to deliver it first and then the events waiting behind it. '
        + 'Purging the dead letters (below) releases the keys instead: each key\'s next event goes out, the purged one never does.'),
      table('Blocked keys, oldest first',
        ['Key', 'Held by', 'Since (UTC)', 'Reason', { label: 'Waiting', class: 'num' }, 'Action'],
        rows, 'No key is blocked.', { rowHeaders: true }));
  };
}
