// Events: search by source, type (glob), target and state, received-at range and id; newest first, paged with
// the API's cursor. The search lives in the hash (#/events?source=...), so it survives a reload and Back works.
import * as api from './api.js';
import { badge, complain, counted, eventLink, field, h, inputToIso, isoToInput, table, time } from './dom.js';

export const STATES = ['pending', 'in-flight', 'delivered', 'retrying', 'dead', 'quarantined', 'purged'];
const FILTERS = ['source', 'type', 'target', 'state', 'from', 'to', 'id'];
const PAGE_SIZE = 50;

export async function render(main, { params, signal }) {
  const value = name => params.get(name) ?? '';
  const sourceList = h('datalist', { id: 'source-options' });
  const targetList = h('datalist', { id: 'target-options' });
  const inputs = {
    source: h('input', { type: 'text', list: 'source-options', value: value('source'), autocomplete: 'off' }),
    type: h('input', { type: 'text', value: value('type'), placeholder: 'signature_request.*', autocomplete: 'off' }),
    target: h('input', { type: 'text', list: 'target-options', value: value('target'), autocomplete: 'off' }),
    state: h('select', null, h('option', { value: '' }, 'Any state'), STATES.map(s => h('option', { value: s }, s))),
    from: h('input', { type: 'datetime-local', step: 1, value: isoToInput(value('from')) }),
    to: h('input', { type: 'datetime-local', step: 1, value: isoToInput(value('to')) }),
    id: h('input', { type: 'text', value: value('id'), autocomplete: 'off', spellcheck: 'false' }),
  };
  inputs.state.value = value('state');

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search events' },
    field('filter-source', 'Source', inputs.source),
    field('filter-type', 'Event type', inputs.type, 'A glob: * matches any run of characters.'),
    field('filter-target', 'Target', inputs.target),
    field('filter-state', 'State', inputs.state, 'With a target: that target\'s state; else any target\'s.'),
    field('filter-from', 'Received from (UTC)', inputs.from),
    field('filter-to', 'Received before (UTC)', inputs.to),
    field('filter-id', 'Id', inputs.id, 'Event id, webhook-id, or the vendor\'s own event id.'),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { location.hash = '#/events'; } }, 'Clear')),
    sourceList, targetList);
  form.addEventListener('submit', event => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of FILTERS) {
      const raw = inputs[name].value.trim();
      const text = name === 'from' || name === 'to' ? inputToIso(raw) : raw;
      if (text) {
        query.set(name, text);
      }
    }

    const next = `#/events${query.size ? `?${query}` : ''}`;
    if (location.hash === next) {
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } else {
      location.hash = next;
    }
  });

  const results = h('section', { 'aria-labelledby': 'results-heading', id: 'event-results' });
  main.append(h('h1', { tabindex: -1 }, 'Events'), form, results);
  fillOptions(sourceList, targetList, signal);

  const query = { limit: PAGE_SIZE, cursor: value('cursor') };
  for (const name of FILTERS) {
    query[name] = value(name);
  }

  try {
    const page = await api.get('events', query, signal);
    const rows = page.events.map(e => [
      time(e.receivedAt),
      eventLink(e.id),
      e.source,
      e.type,
      h('ul', { class: 'states' }, Object.entries(e.targets ?? {}).map(([t, s]) => h('li', null, `${t}: `, badge(s)))),
    ]);
    const paging = h('div', { class: 'toolbar' });
    if (value('cursor')) {
      paging.append(h('a', { href: hashWith(params, null) }, 'Newest events'));
    }

    if (page.next) {
      paging.append(h('a', { href: hashWith(params, page.next), id: 'older-events' }, 'Older events'));
    }

    results.append(
      h('h2', { id: 'results-heading' }, value('cursor') ? 'Results (older page)' : 'Results'),
      h('p', { class: 'hint' }, `${counted(page.events.length, 'event')} on this page, newest first.`),
      table('Events, newest first', ['Received (UTC)', 'Event', 'Source', 'Type', 'Targets'], rows, 'No events match.'),
      paging);
  } catch (error) {
    complain(error);
  }
}

function hashWith(params, cursor) {
  const query = new URLSearchParams(params);
  if (cursor) {
    query.set('cursor', cursor);
  } else {
    query.delete('cursor');
  }

  return `#/events${query.size ? `?${query}` : ''}`;
}

/** Suggestions for the source and target fields; the search works without them. */
async function fillOptions(sourceList, targetList, signal) {
  try {
    const { targets } = await api.get('targets', null, signal);
    targetList.replaceChildren(...targets.map(t => h('option', { value: t.id })));
    const { sources } = await api.get('sources', null, signal);
    sourceList.replaceChildren(...sources.map(s => h('option', { value: s.id })));
  } catch {
    // Suggestions only (GET /admin/sources may not be served by this relay).
  }
}
