// An event's route decisions: each route of its source, in order, with whether it sent the event to its target and,
// if not, why. This is where an operator sees why an event never reached a target.
import { h, table, targetLink, yesNo } from './dom.js';

/** The API's reason words (GET /admin/events/{id}, routes[].reason) as an operator reads them. */
const REASONS = new Map([
  ['matched', 'matched'],
  ['eventType', 'its type matched none of the route\'s events patterns'],
  ['tags', 'it had none of the route\'s tags'],
  ['when', 'the route\'s when condition was false'],
  ['whenFailed', 'the route\'s when condition could not be evaluated'],
  ['unrouted', 'the source kept it without routing it'],
]);

/** A reason in words; a reason this console does not know yet is shown as the relay sent it. */
function reasonInWords(reason) {
  return REASONS.get(reason) ?? String(reason ?? '—');
}

export function routeDecisionsSection(e) {
  const rows = (e.routes ?? []).map(r => [
    targetLink(r.target),
    yesNo(r.matched),
    reasonInWords(r.reason),
    h('span', { class: 'wrap' }, r.detail ?? ''),
  ]);
  return [
    h('h2', { id: 'routes-heading' }, 'Routes'),
    h('p', { class: 'hint' }, 'Each route of the source, in order, as decided when the event was accepted.'),
    table('Route decisions, in route order', ['Target', 'Matched', 'Why', 'Detail'], rows,
      'No route decision was kept: the source has no routes, or the event was accepted before Relay kept them.'),
  ];
}
