// The admin API, called with the session cookie. Every call that changes something carries the session's CSRF
// value (the relay_csrf cookie, readable by this page only) in X-Relay-CSRF; the relay refuses it otherwise.

const apiBase = new URL('../', document.baseURI);

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export function csrfToken() {
  const entry = document.cookie.split('; ').find(c => c.startsWith('relay_csrf='));
  return entry ? decodeURIComponent(entry.slice('relay_csrf='.length)) : '';
}

/** Back to the sign-in page, saying why, when the session has ended (expired, key removed, signed out elsewhere). */
export function signInAgain(reason) {
  sessionStorage.setItem('relay-console-notice', reason);
  location.assign(new URL('sign-in', document.baseURI));
}

async function call(method, path, { query, body, signal } = {}) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') {
      url.searchParams.set(name, value);
    }
  }

  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    headers['X-Relay-CSRF'] = csrfToken();
  }

  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }

  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
    signal,
  });

  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }

  if (response.status === 401) {
    signInAgain('Your session has ended. Sign in again.');
    throw new ApiError(401, 'Signed out', 'Your session has ended.');
  }

  if (!response.ok) {
    throw new ApiError(response.status, data?.title ?? `HTTP ${response.status}`, data?.detail ?? '');
  }

  return data;
}

export const get = (path, query, signal) => call('GET', path, { query, signal });
export const post = (path, body, signal) => call('POST', path, { body, signal });
export const del = (path, signal) => call('DELETE', path, { signal });

/** Path segment for an id taken from data (an event or target id). */
export const seg = id => encodeURIComponent(id);

/** True when the relay does not serve that call (yet): an older relay answers 404 for an admin path it lacks. */
export const isMissingEndpoint = error => error instanceof ApiError && error.status === 404 && error.title === 'Not found';
