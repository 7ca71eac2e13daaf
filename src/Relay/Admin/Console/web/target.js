// One target: its queues; pause and resume; a test event; its blocked keys when it holds any; dead letters (redrive
// all or selected, purge after a confirmation); and replay of a received-at range, counted by a dry run first.
import * as api from './api.js';
import { blockedKeys } from './blocked-keys.js';
import { age, badge, complain, confirmFirst, count, counted, duration, eventLink, field, h, inputToIso, isoToInput, notify, percent, replaceContent, table, time, yesNo } from './dom.js';

const PAGE_SIZE = 50;

export async function render(main, { id, signal }) {
  const base = `targets/${api.seg(id)}`;
  const status = h('section', { 'aria-labelledby': 'status-heading' });
  const blocked = h('section', { 'aria-labelledby': 'blocked-heading' });
  const dead = h('section', { 'aria-labelledby': 'dead-heading' });
  const range = h('section', { 'aria-labelledby': 'replay-heading' });
  main.append(h('p', { class: 'hint' }, h('a', { href: '#/targets' }, '← Targets')), h('h1', { tabindex: -1 }, `Target ${id}`), status, blocked, dead, range);

  let deadCursor = '';
  let info = null;
  const loadBlocked = blockedKeys(blocked, { target: id, signal, afterRedrive: () => refresh() });

  const sayRedriven = result => notify(`${counted(result.redriven, 'dead letter')} of ${id} redriven: back in the ready queue, attempts counted from 1.`);

  /** After a redrive or a purge: the queues, the blocked keys (a purge releases them) and the dead letters. */
  const refresh = () => Promise.all([loadStatus(), loadBlocked(), loadDead()]);

  async function loadStatus() {
    const { targets } = await api.get('targets', null, signal);
    info = targets.find(t => t.id === id);
    if (!info) {
      throw new api.ApiError(404, 'Target not found', `No target '${id}' in the current configuration.`);
    }

    let extra = null;
    try {
      const overview = await api.get('overview', { minutes: 15 }, signal);
      extra = (overview.targets ?? []).find(t => t.id === id) ?? null;
    } catch {
      // GET /admin/overview may not be served by this relay: the queues above are enough.
    }

    const cards = [
      ['Ready', count(info.ready)], ['In flight', count(info.inFlight)], ['Retrying', count(info.retrying)], ['Dead', count(info.dead)],
    ];
    if (extra) {
      cards.push(['Lag', age(extra.lagSeconds)], ['Success (15 min)', percent(extra.successRate)], ['p95 latency', duration(extra.p95Ms)]);
    }

    const pause = h('button', { type: 'button', id: 'pause-toggle', class: info.paused ? '' : 'secondary' }, info.paused ? 'Resume deliveries' : 'Pause deliveries');
    pause.addEventListener('click', () => act(async () => {
      const result = await api.post(`${base}/${info.paused ? 'resume' : 'pause'}`, undefined, signal);
      notify(result.paused ? `Target ${id} paused: events keep queueing, nothing new is delivered.` : `Target ${id} resumed.`);
      await loadStatus();
    }));
    const test = h('button', { type: 'button', id: 'send-test', class: 'secondary' }, 'Send a test event');
    test.addEventListener('click', () => act(async () => {
      const result = await api.post(`${base}/test`, undefined, signal);
      notify(`Test event ${result.id} queued for ${id}.`);
      const link = h('a', { href: `#/events/${encodeURIComponent(result.id)}` }, 'Open the test event');
      document.getElementById('notice').append(' ', link);
      await loadStatus();
    }));

    replaceContent(status,
      h('h2', { id: 'status-heading', class: 'visually-hidden' }, 'Status'),
      h('div', { class: 'toolbar' },
        h('span', null, 'Circuit ', badge(info.circuit)),
        h('span', null, 'Paused: ', info.paused ? badge('paused') : yesNo(false)),
        h('span', { class: 'spacer' }),
        pause, test),
      h('div', { class: 'cards' }, cards.map(([label, value]) => h('div', { class: 'card' }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, value)))));
  }

  async function loadDead() {
    const page = await api.get(`${base}/dead-letters`, { limit: PAGE_SIZE, cursor: deadCursor }, signal);
    const letters = page.deadLetters ?? [];
    const boxes = letters.map(d => h('input', { type: 'checkbox', name: 'dead-letter', value: d.id, id: `select-${d.id}` }));
    const all = h('input', { type: 'checkbox', id: 'select-all-dead' });
    const redriveSelected = h('button', { type: 'button', id: 'redrive-selected', class: 'secondary' }, 'Redrive selected');
    const sync = () => {
      const chosen = boxes.filter(b => b.checked).length;
      redriveSelected.disabled = chosen === 0;
      redriveSelected.textContent = chosen ? `Redrive ${chosen} selected` : 'Redrive selected';
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    };
    boxes.forEach(b => b.addEventListener('change', sync));
    all.addEventListener('change', () => { boxes.forEach(b => { b.checked = all.checked; }); sync(); });

    const redriveAll = h('button', { type: 'button', id: 'redrive-all' }, 'Redrive all');
    const purge = h('button', { type: 'button', id: 'purge', class: 'danger' }, 'Purge all…');
    const confirmation = h('div', { id: 'purge-confirm' });
    redriveAll.addEventListener('click', () => act(async () => {
      const result = await api.post(`${base}/dead-letters/redrive`, undefined, signal);
      sayRedriven(result);
      deadCursor = '';
      await refresh();
    }));
    redriveSelected.addEventListener('click', () => act(async () => {
      const ids = boxes.filter(b => b.checked).map(b => b.value);
      const result = await api.post(`${base}/dead-letters/redrive`, { ids }, signal);
      sayRedriven(result);
      await refresh();
    }));
    purge.addEventListener('click', () => askPurge(confirmation, purge));

    const rows = letters.map((d, i) => [
      h('span', null, boxes[i], h('label', { for: boxes[i].id, class: 'visually-hidden' }, `Select ${d.id}`)),
      time(d.deadAt),
      eventLink(d.id),
      d.source ?? '—',
      d.type ?? '—',
      time(d.receivedAt),
      String(d.attempts ?? 0),
      h('span', { class: 'wrap' }, d.reason ?? '—'),
    ]);
    const paging = h('div', { class: 'toolbar' });
    if (deadCursor) {
      paging.append(h('button', { type: 'button', class: 'secondary', onclick: () => { deadCursor = ''; act(loadDead); } }, 'Newest dead letters'));
    }

    if (page.next) {
      paging.append(h('button', { type: 'button', class: 'secondary', id: 'older-dead', onclick: () => { deadCursor = page.next; act(loadDead); } }, 'Older dead letters'));
    }

    const selectAll = h('span', null, all, h('label', { for: 'select-all-dead', class: 'visually-hidden' }, 'Select every dead letter on this page'));
    replaceContent(dead,
      h('h2', { id: 'dead-heading' }, 'Dead letters'),
      h('p', { class: 'hint' }, 'Events this target refused for good, or that ran out of retries. A redrive puts them back in the ready queue with a fresh retry schedule; a purge drops them.'),
      letters.length ? h('div', { class: 'toolbar' }, redriveAll, redriveSelected, purge) : null,
      confirmation,
      letters.length
        ? table('Dead letters, most recent first', [{ label: selectAll }, 'Dead since (UTC)', 'Event', 'Source', 'Type', 'Received (UTC)', { label: 'Attempts', class: 'num' }, 'Reason'], rows)
        : h('p', { class: 'empty' }, 'No dead letters.'),
      paging);
    sync();
  }

  function askPurge(confirmation, opener) {
    const deadCount = info?.dead ?? 0;
    confirmFirst(confirmation, {
      opener,
      id: 'purge',
      question: `Purge every dead letter of ${id}? They will never be delivered to ${id}; the events stay visible (state purged) until retention expires them.`,
      action: `Purge ${counted(deadCount, 'dead letter')}`,
      run: async () => {
        const result = await api.del(`${base}/dead-letters`, signal);
        notify(`${counted(result.purged, 'dead letter')} of ${id} purged: they will not be delivered.`);
        deadCursor = '';
        await refresh();
      },
    });
  }

  function drawRange() {
    const now = new Date();
    const from = h('input', { type: 'datetime-local', step: 1, value: isoToInput(new Date(now.getTime() - 3600_000).toISOString()), required: true });
    const to = h('input', { type: 'datetime-local', step: 1, value: isoToInput(new Date(now.getTime() + 60_000).toISOString()), required: true });
    const outcome = h('div', { id: 'replay-outcome' });
    const form = h('form', { class: 'filters', 'aria-labelledby': 'replay-heading' },
      field('replay-from', 'From (UTC)', from, 'Received at or after.'),
      field('replay-to', 'To (UTC)', to, 'Received before.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'replay-count' }, 'Count events (dry run)')));
    const reset = () => outcome.replaceChildren();
    from.addEventListener('input', reset);
    to.addEventListener('input', reset);
    form.addEventListener('submit', event => {
      event.preventDefault();
      act(async () => {
        const span = { from: inputToIso(from.value), to: inputToIso(to.value) };
        try {
          const dry = await api.post(`${base}/replay`, { ...span, dryRun: true }, signal);
          showCount(outcome, span, dry.count);
        } catch (error) {
          if (api.isMissingEndpoint(error)) {
            outcome.replaceChildren(h('p', { class: 'problem' }, 'This relay does not support replay by time range yet (POST /admin/targets/{id}/replay).'));
            return;
          }

          throw error;
        }
      });
    });
    range.replaceChildren(
      h('h2', { id: 'replay-heading' }, 'Replay a time range'),
      h('p', { class: 'hint' }, `Deliver again to ${id} every event of its routes received in a range, whatever happened to it before. Count first; nothing is replayed until you confirm.`),
      form,
      outcome);
  }

  function showCount(outcome, span, n) {
    const between = `from ${span.from} to ${span.to}`;
    if (n === 0) {
      outcome.replaceChildren(h('p', { class: 'panel', id: 'replay-count-text', role: 'status' }, `No event received ${between}: nothing to replay.`));
      return;
    }

    const text = `${counted(n, 'event')} received ${between} would be delivered again to ${id}.`;

    const confirm = h('button', { type: 'button', class: 'danger', id: 'replay-confirm' }, `Replay ${counted(n, 'event')}`);
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    cancel.addEventListener('click', () => outcome.replaceChildren());
    confirm.addEventListener('click', () => act(async () => {
      const result = await api.post(`${base}/replay`, { ...span, dryRun: false }, signal);
      outcome.replaceChildren();
      const waiting = result.count - (result.queued ?? result.count);
      notify(`${counted(result.count, 'event')} replayed to ${id}`
        + (waiting > 0 ? ` (${count(waiting)} of them were still waiting from an earlier replay and were not queued twice).` : '.'));
      await loadStatus();
    }));
    outcome.replaceChildren(h('div', { class: 'panel', role: 'group', 'aria-label': 'Confirm the replay' },
      h('p', { id: 'replay-count-text', role: 'status' }, text),
      h('div', { class: 'toolbar' }, confirm, cancel)));
  }

  async function act(fn) {
    try {
      await fn();
    } catch (error) {
      complain(error);
    }
  }

  await loadStatus();
  await loadBlocked();
  await loadDead();
  drawRange();
}
