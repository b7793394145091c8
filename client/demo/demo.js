// Demo page for auth-client.js. Shows answers and the decoded session,
// never the access token itself.
import { createAuthClient, AuthError } from '../auth-client.js';

/** The API: `?api=` when it is on this page's origin (a link must never send
 * the credentials typed here elsewhere), else the one this origin's own
 * script stored under `localStorage['serverless-auth-demo:api']` (no link
 * can set that), else this origin. */
function apiBase() {
  const parse = (url, base) => { try { return new URL(url, base); } catch { return null; } };
  const param = new URLSearchParams(location.search).get('api');
  if (param) {
    const url = parse(param, location.href);
    if (url?.origin === location.origin) return url.href;
    console.warn(`demo: ?api=${param} ignored: not this page's origin`);
  }
  const stored = localStorage.getItem('serverless-auth-demo:api');
  return (stored && parse(stored)?.href) || location.origin;
}
const baseUrl = apiBase().replace(/\/+$/, '');
const client = createAuthClient({ baseUrl });

const $ = (id) => document.getElementById(id);
$('api').textContent = baseUrl;

/** Shows one answer: a label, the HTTP status and the JSON body. */
function show(label, status, body) {
  const text = body === undefined ? '' : `\n${JSON.stringify(body, null, 2)}`;
  $('output').textContent = `${label} → ${status}${text}`;
}

/** Runs an action and shows its outcome, errors included. */
async function run(label, action) {
  try {
    await action();
  } catch (e) {
    if (e instanceof AuthError) {
      show(label, e.status, { error: e.code, message: e.message, retryAfter: e.retryAfter });
    } else {
      show(label, 'network error', { message: String(e?.message ?? e) });
    }
  }
}

/** Calls a protected route through the client's fetch and shows the answer. */
async function call(label, path, init) {
  const res = await client.fetch(baseUrl + path, init);
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  show(label, res.status, body);
}

function renderSession() {
  const s = client.session();
  $('session').textContent = s
    ? `sub:     ${s.sub}\nroles:   ${s.roles.join(', ')}\nsid:     ${s.sid ?? '(not in token)'}\n` +
      `expires: in ${Math.max(0, Math.round((s.expiresAt - Date.now()) / 1000))} s`
    : 'not signed in';
}
client.onChange(renderSession);
setInterval(renderSession, 1000);

const credentials = () => [$('username').value, $('password').value];

$('register').addEventListener('click', () =>
  run('POST /auth/register', async () => show('POST /auth/register', 201, await client.register(...credentials()))));

$('credentials').addEventListener('submit', (event) => {
  event.preventDefault();
  run('POST /auth/login', async () => {
    const session = await client.login(...credentials());
    $('password').value = '';
    show('POST /auth/login', 200, { session });
  });
});

$('me').addEventListener('click', () => run('GET /me', () => call('GET /me', '/me')));
$('sessions').addEventListener('click', () =>
  run('GET /auth/sessions', async () => show('GET /auth/sessions', 200, { sessions: await client.sessions() })));
$('change-password').addEventListener('click', () =>
  run('POST /auth/password', async () => {
    await client.changePassword($('password').value, $('new-password').value);
    $('password').value = $('new-password').value = '';
    show('POST /auth/password', 204);
  }));
$('delete-account').addEventListener('click', () =>
  run('DELETE /auth/account', async () => {
    await client.deleteAccount($('password').value);
    $('password').value = '';
    show('DELETE /auth/account', 204);
  }));
$('refresh').addEventListener('click', () =>
  run('POST /auth/refresh', async () => show('POST /auth/refresh', 200, { session: await client.refresh() })));
$('logout').addEventListener('click', () =>
  run('POST /auth/logout', async () => { await client.logout(); show('POST /auth/logout', 204); }));
$('logout-all').addEventListener('click', () =>
  run('POST /auth/logout {"all":true}', async () => {
    await client.logout({ all: true });
    show('POST /auth/logout {"all":true}', 204);
  }));

// Restore the session from the refresh cookie, if there is one.
client.refresh().then(
  () => show('POST /auth/refresh (page load)', 200, { session: client.session() }),
  (e) => show('POST /auth/refresh (page load)', e instanceof AuthError ? e.status : 'network error',
    { message: e instanceof AuthError ? 'not signed in' : String(e?.message ?? e) }),
);
