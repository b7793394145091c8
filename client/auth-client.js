/**
 * Browser client for the serverless-auth API (ES module, no dependencies).
 *
 * It logs in, keeps the short-lived access token, refreshes it from the
 * HttpOnly refresh cookie before it expires, and offers an authenticated
 * `fetch`. Guarantees:
 * - The access token lives in this module's memory only: never in
 *   localStorage, sessionStorage, cookies or IndexedDB, and never logged.
 *   Tabs pass it to each other by BroadcastChannel messages, not storage.
 * - The token goes only to the API: `fetch` attaches it to requests for the
 *   origin of `baseUrl` and the origins listed in `tokenOrigins`, never to
 *   any other URL it is handed; those it sends as they are (no token, no
 *   refresh, no retry on their 401/403).
 * - The BroadcastChannel and the Web Lock are named after the API (its
 *   absolute base URL), so two apps of one origin that use different APIs
 *   never exchange tokens or wait on each other.
 * - One refresh at a time: concurrent callers in a tab share one promise,
 *   and tabs of the same origin and API take turns under a Web Lock; a tab
 *   that waited and meanwhile received a fresh token from the tab that held
 *   the lock uses it, so tabs refreshing together make one network refresh.
 * - `fetch` refreshes and retries at most once, when the API Gateway
 *   authorizer refuses the token (401, or 403 `{"message":"Forbidden"}`).
 * - A refresh refused with 401 means signed out: the token is dropped and
 *   listeners hear `null`. Network errors leave the session as it was.
 */

/** Error answered by the API: HTTP `status`, API `code` (e.g.
 * `invalid_credentials`) and `retryAfter` (seconds, or null). */
export class AuthError extends Error {
  /** @param {string} message @param {{status: number, code: string, retryAfter?: number|null}} details */
  constructor(message, { status, code, retryAfter = null }) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const LINGER_MS = 50; // the lock holder waits this long after posting its token
const RETRY_MS = 10_000; // automatic refresh retry after a network error
const JSON_TYPE = { 'Content-Type': 'application/json' };

/** Payload of a JWT (base64url JSON), unverified: for display only. */
function decode(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) ?? {};
  } catch {
    return {};
  }
}

/**
 * Creates a client. Call it once per page.
 * @param {object} [options]
 * @param {string} [options.baseUrl=''] API origin and stage path, no trailing slash
 *   (relative or empty: resolved against the page's address). Its origin gets the token.
 * @param {string[]} [options.tokenOrigins=[]] Other origins (`https://host[:port]`, exact,
 *   no wildcards) whose requests through `fetch` get the token too; any other gets none.
 * @param {number} [options.refreshMargin=60] Seconds before expiry to refresh.
 * @param {string} [options.lockName] Web Lock and BroadcastChannel name; by default
 *   `serverless-auth:refresh:` and the absolute base URL (`https://api.example.com/prod`).
 * @param {typeof fetch} [options.fetch] The fetch to use (defaults to the global one).
 */
export function createAuthClient({
  baseUrl = '',
  tokenOrigins = [],
  refreshMargin = 60,
  lockName,
  fetch: fetchImpl = globalThis.fetch.bind(globalThis),
} = {}) {
  // Where every call goes, absolute and without a trailing slash (a relative
  // baseUrl needs a page: there is no address to resolve it against). Resolved
  // once, as fetch would resolve it (against the document's base URL), and
  // then used for every call, so the origin the token is scoped to is the
  // one credentials are sent to.
  const here = globalThis.document?.baseURI ?? globalThis.location?.href;
  const api = new URL(`${baseUrl}/`, here);
  const apiBase = api.href.replace(/\/+$/, '');
  // The only origins `fetch` attaches the token to ('null', an opaque origin, never).
  const trusted = new Set([api.origin, ...Array.from(tokenOrigins, (o) => new URL(o).origin)]);
  trusted.delete('null');
  lockName ??= `serverless-auth:refresh:${apiBase}`;
  let state = null; // { token, claims, expiresAt (ms, this browser's clock), dueAt (ms) }
  let timer;
  let inflight = null; // the refresh promise this tab's callers share
  let epoch = 0; // bumped on login/logout: a refresh begun before must not overwrite them
  let adoptedAt = -Infinity; // when a token last arrived from another tab (performance.now())
  const listeners = new Set();
  const locks = globalThis.navigator?.locks;
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(lockName) : null;
  const doc = globalThis.document;

  function makeState(token, expiresAt) {
    const claims = decode(token);
    expiresAt ??= claims.exp * 1000;
    const lifetime = claims.exp > claims.iat ? (claims.exp - claims.iat) * 1000 : expiresAt - Date.now();
    // Never aim earlier than half the lifetime, so a large margin cannot make a refresh loop.
    return { token, claims, expiresAt, dueAt: expiresAt - Math.min(refreshMargin * 1000, lifetime / 2) };
  }

  function set(next) {
    clearTimeout(timer);
    state = next;
    if (Number.isFinite(state?.dueAt)) timer = setTimeout(tick, Math.max(0, state.dueAt - Date.now()));
    const s = session();
    for (const listener of listeners) {
      try { listener(s); } catch (e) { setTimeout(() => { throw e; }); } // report; the others still run
    }
  }

  const due = () => !state || Date.now() >= state.dueAt;
  const visible = () => doc?.visibilityState !== 'hidden';

  function tick() {
    if (!visible()) return; // hidden: refresh late, on visibilitychange
    refresh().catch(() => {
      if (!state) return; // signed out
      clearTimeout(timer);
      timer = setTimeout(tick, RETRY_MS);
    });
  }
  doc?.addEventListener('visibilitychange', () => {
    if (visible() && state && due()) tick();
  });

  // Other tabs: adopt a newer token they got; drop ours when they log out.
  if (channel) channel.onmessage = ({ data }) => {
    if (data?.type === 'logout') {
      epoch++;
      if (state) set(null);
    } else if (data?.type === 'token' && typeof data.token === 'string' &&
               (!state || data.expiresAt > state.expiresAt)) {
      set(makeState(data.token, data.expiresAt));
      adoptedAt = performance.now();
    }
  };

  async function call(path, body) {
    const init = { method: 'POST', credentials: 'include' }; // the refresh cookie, also cross-origin
    if (body !== undefined) Object.assign(init, { headers: JSON_TYPE, body: JSON.stringify(body) });
    return answer(await fetchImpl(apiBase + path, init));
  }

  /** The body of a successful answer (null for 204); else throws AuthError. */
  async function answer(res) {
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return data;
    const after = parseInt(res.headers.get('Retry-After'), 10); // seconds; NaN if absent
    throw new AuthError(data?.message ?? `HTTP ${res.status}`, {
      status: res.status, code: data?.error ?? 'http_error', retryAfter: Number.isNaN(after) ? null : after,
    });
  }

  /** Accepts a token response: keeps it and posts it to the other tabs. */
  function accept(body) {
    const ttl = Number(body.expires_in);
    const next = makeState(body.access_token, ttl > 0 ? Date.now() + ttl * 1000 : undefined);
    set(next);
    channel?.postMessage({ type: 'token', token: next.token, expiresAt: next.expiresAt });
    return session();
  }

  async function networkRefresh() {
    const started = epoch;
    try {
      const body = await call('/auth/refresh');
      return started === epoch ? accept(body) : session();
    } catch (e) {
      if (e instanceof AuthError && e.status === 401 && started === epoch && state) set(null);
      throw e;
    }
  }

  function lockedRefresh() {
    const waitStart = performance.now();
    return new Promise((resolve, reject) => {
      locks.request(lockName, async () => {
        // Another tab refreshed while we waited: use its token.
        if (adoptedAt >= waitStart && !due()) return resolve(session());
        resolve(await networkRefresh()); // a failure rejects request(), hence reject
        // Keep the lock a moment so the token message reaches the waiting
        // tabs before they are granted the lock (the two travel separately).
        await new Promise((r) => setTimeout(r, LINGER_MS));
      }).catch(reject);
    });
  }

  /**
   * Refreshes the access token now (single-flight in the tab, one at a time
   * across tabs). Resolves to the new session; throws AuthError (401 = signed
   * out) or the network error.
   * @returns {Promise<{sub: string, roles: string[], sid: string|null, expiresAt: number}|null>}
   */
  function refresh() {
    // Without navigator.locks only this tab is single-flight; concurrent tabs
    // are then covered by the server's reuse interval: two tabs presenting the
    // same refresh token within 10 s get the same successor.
    inflight ??= (locks ? lockedRefresh() : networkRefresh()).finally(() => { inflight = null; });
    return inflight;
  }

  /** Session from the token payload (unverified, display only), or null. */
  function session() {
    if (!state) return null;
    const { sub = null, roles = [], sid = null } = state.claims;
    return { sub, roles, sid, expiresAt: state.expiresAt };
  }

  /** Whether a response is the authorizer refusing the token. A wrong
   * password (401 invalid_credentials) is not retried: it would count twice;
   * nor is a step-up refusal (401 reauthentication_required): a fresh
   * token of the same session is no more recent a sign-in. */
  async function refused(res) {
    if (res.status !== 401 && res.status !== 403) return false;
    const body = await res.clone().json().catch(() => null);
    if (res.status === 401) return !['invalid_credentials', 'reauthentication_required'].includes(body?.error);
    return body !== null && Object.keys(body).length === 1 && body.message === 'Forbidden';
  }

  // true once refreshed; false when the API refused (signed out); network errors propagate.
  const quietRefresh = () =>
    refresh().then(() => true, (e) => { if (e instanceof AuthError) return false; throw e; });

  /**
   * fetch with `Authorization: Bearer <token>` for the API's origin and
   * `tokenOrigins`: refreshes first when the token is missing or due, and
   * on an authorizer refusal refreshes and retries once. A request for any
   * other origin is sent as it is: no token, no refresh, no retry. Returns
   * the Response as is.
   * @param {RequestInfo | URL} input @param {RequestInit} [init] @returns {Promise<Response>}
   */
  async function authFetch(input, init) {
    const request = new Request(input, init);
    if (!trusted.has(new URL(request.url).origin)) return fetchImpl(request);
    const send = (token) => {
      const r = request.clone();
      if (token) r.headers.set('Authorization', `Bearer ${token}`);
      return fetchImpl(r);
    };
    const refreshedFirst = due();
    if (refreshedFirst) await quietRefresh();
    const sent = state?.token ?? null;
    const res = await send(sent);
    if (refreshedFirst || !(await refused(res))) return res;
    // Refresh unless another caller already replaced the refused token.
    if ((state?.token ?? null) === sent && !(await quietRefresh())) return res;
    return send(state?.token ?? null);
  }

  /** An account route: Bearer-authenticated (refreshed and retried once like
   * any authFetch), with the cookie so deletion can clear it. */
  async function account(method, path, body) {
    const init = { method, credentials: 'include' };
    if (body !== undefined) Object.assign(init, { headers: JSON_TYPE, body: JSON.stringify(body) });
    return answer(await authFetch(apiBase + path, init));
  }

  function signedOut() {
    set(null);
    channel?.postMessage({ type: 'logout' });
  }

  return {
    /** Creates an account. Resolves to `{username, roles}`; throws AuthError. */
    register: (username, password) => call('/auth/register', { username, password }),
    /** Logs in (sets the refresh cookie). Resolves to the session; throws AuthError. */
    async login(username, password) {
      const body = await call('/auth/login', { username, password });
      epoch++; // a refresh that was already under way must not overwrite this login
      return accept(body);
    },
    /** Logs out this session (or every session with `{all: true}`), here and
     * in the other tabs. Local state is cleared even if the call fails. */
    async logout({ all = false } = {}) {
      epoch++;
      try {
        await call('/auth/logout', all ? { all: true } : undefined);
      } finally {
        signedOut();
      }
    },
    /** The user's sessions, newest first: `[{sid, created_at, last_used_at,
     * user_agent, current}]`. Throws AuthError. */
    sessions: async () => (await account('GET', '/auth/sessions')).sessions,
    /** Ends one of the user's sessions (idempotent). Ending another session
     * than this one is step-up: pass the password, unless the user signed in
     * or reauthenticated in the last 10 minutes. Throws AuthError (401
     * reauthentication_required, 401 invalid_credentials, 429). */
    endSession: (sid, password) => account('DELETE', `/auth/sessions/${encodeURIComponent(sid)}`,
      password === undefined ? undefined : { password }),
    /** Proves the password again: resolves to the session with a fresh
     * access token whose sign-in time is now (what step-up routes accept
     * for 10 minutes). Throws AuthError (401 invalid_credentials, 429). */
    async reauthenticate(password) {
      return accept(await account('POST', '/auth/reauthenticate', { password }));
    },
    /** Changes the password; every other session ends, this one goes on.
     * Throws AuthError (400 weak_password with the reason, 401
     * invalid_credentials, 429). */
    changePassword: (current, next) =>
      account('POST', '/auth/password', { current_password: current, new_password: next }),
    /** Deletes the account and every session, here and in the other tabs.
     * Throws AuthError (401 invalid_credentials, 429). */
    async deleteAccount(password) {
      await account('DELETE', '/auth/account', { password });
      epoch++;
      signedOut();
    },
    refresh,
    /** The current access token, or null. */
    accessToken: () => state?.token ?? null,
    session,
    /** Calls `listener(session | null)` on every change; returns an unsubscribe function. */
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fetch: authFetch,
  };
}
