// Signs in with fetch so the page can say what went wrong; the key goes in a form-encoded POST body, never a URL.
// Without scripts the form posts itself and the relay answers with a redirect or this page with the error.
const form = document.getElementById('sign-in');
const key = document.getElementById('key');
const error = document.getElementById('sign-in-error');
const notice = document.getElementById('sign-in-notice');

notice.textContent = sessionStorage.getItem('relay-console-notice') ?? '';
sessionStorage.removeItem('relay-console-notice');
key.focus();

form.addEventListener('submit', async event => {
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  error.textContent = '';
  notice.textContent = '';
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: 'POST',
      headers: { Accept: 'application/json' },
      body: new URLSearchParams(new FormData(form)),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
    if (response.ok) {
      key.value = '';
      location.replace(new URL('./', document.baseURI));
      return;
    }

    let detail = `Sign-in failed (HTTP ${response.status}).`;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      // not a problem document: keep the status line
    }

    error.textContent = detail;
    key.select();
    key.focus();
  } catch {
    error.textContent = 'The relay could not be reached. Try again.';
  } finally {
    button.disabled = false;
  }
});
