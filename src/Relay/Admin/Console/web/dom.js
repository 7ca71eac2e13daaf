// Building the page with DOM calls only. Data from the relay (vendor bodies and headers among it) is only ever
// text: it goes into text nodes and attribute values, never into markup.

/** Creates an element: h('a', { href: '#/x', class: 'y' }, 'text', child, ...). */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }

    if (name === 'class') {
      element.className = value;
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'checked' || name === 'value' || name === 'disabled') {
      element[name] = value;
      if (value === true) {
        element.setAttribute(name, '');
      }
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }

  append(element, children);
  return element;
}

/** An SVG element (charts): attributes only, never markup. */
export function svg(tag, attributes, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    element.setAttribute(name, String(value));
  }

  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) {
      continue;
    }

    element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces a container's content, keeping what the operator was doing: the focused control (by id) and which
 * <details> were open (by data-key). Used by pages that refresh themselves.
 */
export function replaceContent(container, ...children) {
  const focused = container.contains(document.activeElement) ? document.activeElement.id : '';
  const open = new Set([...container.querySelectorAll('details[open][data-key]')].map(d => d.dataset.key));
  container.replaceChildren(...children.flat(Infinity).filter(Boolean));
  for (const details of container.querySelectorAll('details[data-key]')) {
    details.open = open.has(details.dataset.key);
  }

  if (focused) {
    document.getElementById(focused)?.focus();
  }
}

/**
 * A table: columns are { label, class } or strings; rows are arrays of cells (nodes or text). With rowHeaders, each
 * row's first cell names the row (a source, a target) and is its header for assistive technology.
 */
export function table(caption, columns, rows, empty = 'Nothing to show.', { rowHeaders = false } = {}) {
  if (rows.length === 0) {
    return h('p', { class: 'empty' }, empty);
  }

  const heads = columns.map(c => (typeof c === 'string' ? { label: c } : c));
  const cell = (content, i) => (rowHeaders && i === 0
    ? h('th', { scope: 'row', class: heads[i]?.class }, content)
    : h('td', { class: heads[i]?.class }, content));
  return h('div', { class: 'table-wrap' },
    h('table', null,
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, heads.map(c => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', null, rows.map(row => h('tr', null, row.map(cell))))));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(p => p).flatMap(([term, value]) => [h('dt', null, term), h('dd', null, value)]));
}

/** A labelled form field: { id, label, input }. */
export function field(id, label, input, hint) {
  input.id = id;
  const parts = [h('label', { for: id }, label), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { id: hintId, class: 'hint' }, hint));
  }

  return h('div', { class: 'field' }, parts);
}

/**
 * Asks before something that cannot be undone: a panel in `slot` with the question, the action's button and Cancel.
 * Cancel takes the focus, so a stray Enter destroys nothing; Escape cancels too, and focus goes back to `opener`.
 * Confirming runs `run`: the panel closes once it succeeds, and stays, with the problem shown, when it fails.
 * `id` prefixes the ids of the question and the buttons.
 */
export function confirmFirst(slot, { opener, id, question, action, run }) {
  const confirm = h('button', { type: 'button', class: 'danger', id: `${id}-confirm-button` }, action);
  const cancel = h('button', { type: 'button', class: 'secondary', id: `${id}-cancel` }, 'Cancel');
  const close = () => { slot.replaceChildren(); opener.focus(); };
  cancel.addEventListener('click', close);
  confirm.addEventListener('click', async () => {
    // One click, one call: a second click while the first is under way would ask the relay twice.
    confirm.disabled = true;
    try {
      await run();
      slot.replaceChildren();
    } catch (error) {
      complain(error);
      confirm.disabled = false;
    }
  });
  const panel = h('div', { class: 'panel confirm', role: 'group', 'aria-labelledby': `${id}-question` },
    h('p', { id: `${id}-question` }, question),
    h('div', { class: 'toolbar' }, confirm, cancel));
  panel.addEventListener('keydown', event => { if (event.key === 'Escape') { close(); } });
  slot.replaceChildren(panel);
  cancel.focus();
}

/** A state word (delivered, dead, open, ...) shown as a badge; the word itself is always there, not only a colour. */
export function badge(word) {
  const text = String(word ?? 'unknown');
  return h('span', { class: `state state-${text.replace(/[^a-z-]/g, '')}` }, text);
}

export function eventLink(id) {
  return h('a', { href: `#/events/${encodeURIComponent(id)}`, class: 'id' }, id);
}

export function targetLink(id, props) {
  return h('a', { href: `#/targets/${encodeURIComponent(id)}`, ...props }, id);
}

// ---- formats: times in UTC, durations and rates in words operators read at a glance ------------------------------

/** 2026-11-23 11:08:00 (UTC), inside a <time> with the exact instant. */
export function time(iso) {
  if (!iso) {
    return '—';
  }

  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }

  const text = date.toISOString().replace('T', ' ').slice(0, 19);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() }, text);
}

export function duration(ms) {
  if (ms === undefined || ms === null) {
    return '—';
  }

  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function age(seconds) {
  if (seconds === undefined || seconds === null) {
    return '—';
  }

  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }

  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }

  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function percent(rate) {
  return rate === undefined || rate === null ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)} %`;
}

export function count(n) {
  return n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US');
}

/** "1 event", "3 events": a count and its noun, plural unless there is exactly one. */
export function counted(n, noun) {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

export function yesNo(value) {
  return value ? 'yes' : 'no';
}

// ---- UTC date-time inputs --------------------------------------------------------------------------------------

/** An <input type="datetime-local"> value (read as UTC) to ISO 8601, or '' when empty or invalid. */
export function inputToIso(value) {
  if (!value) {
    return '';
  }

  const date = new Date(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** ISO 8601 to an <input type="datetime-local"> value in UTC, to the second. */
export function isoToInput(iso) {
  const date = new Date(iso);
  return iso && !Number.isNaN(date.getTime()) ? date.toISOString().slice(0, 19) : '';
}

// ---- notices: one polite status line and one alert line under the header ------------------------------------------

export function notify(message) {
  document.getElementById('problem').textContent = '';
  document.getElementById('notice').textContent = message;
}

export function complain(error) {
  if (error?.name === 'AbortError') {
    return;
  }

  document.getElementById('notice').textContent = '';
  const text = error?.detail ? `${error.title}: ${error.detail}` : (error?.message ?? String(error));
  document.getElementById('problem').textContent = text;
}

export function clearNotices() {
  document.getElementById('notice').textContent = '';
  document.getElementById('problem').textContent = '';
}

/** Runs fn every `ms` until the signal aborts; waits for each run to finish before scheduling the next. */
export function every(ms, fn, signal, enabled = () => true) {
  let timer;
  const tick = async () => {
    if (signal.aborted) {
      return;
    }

    if (enabled()) {
      await fn();
    }

    if (!signal.aborted) {
      timer = setTimeout(tick, ms);
    }
  };
  timer = setTimeout(tick, ms);
  signal.addEventListener('abort', () => clearTimeout(timer));
}
