// The access token, in this module's memory only (never in localStorage, sessionStorage or a
// readable cookie), and the one refresh every call and every tab of this browser shares.
//
// The refresh token is an HttpOnly cookie scoped to /api/auth/browser: no script sees it. When
// a call's token is refused (401 `invalid_token`), `api` refreshes once and retries. Within a tab, concurrent calls wait on
// one refresh promise. Across tabs, the refresh runs under the Web Lock `crm-refresh`, and the
// tab that refreshed hands the new access token to the others over the BroadcastChannel
// `crm-auth`: a tab that waited on the lock finds that token and uses it instead of spending
// the cookie again. So one expiry costs one rotation, however many tabs and calls see it, and
// reuse detection never fires on a user's own tabs. Without Web Locks, a lock kept in
// IndexedDB (an owner and a time, never a token) serializes the refreshes; without
// BroadcastChannel, logouts are told through a localStorage `storage` event and each tab
// refreshes for itself (one rotation per tab, but never two tabs spending the same cookie).

const CHANNEL = 'crm-auth';
const LOCK = 'crm-refresh';
const FALLBACK_LOCK_DB = 'crm-refresh-lock';
const FALLBACK_LOGOUT_KEY = 'crm-logout';

let access = null;
let claims = null;
let inTab = null; // this tab's refresh in flight
const listeners = { token: [], ended: [] };

const channel = 'BroadcastChannel' in self ? new BroadcastChannel(CHANNEL) : null;

/** A problem answer (RFC 9457) from the API. */
export class ApiProblem extends Error {
  constructor(status, body) {
    const detail = body && typeof body.detail === 'string' ? body.detail : null;
    super(detail || defaultMessage(status));
    this.status = status;
    this.code = body && body.code;
    this.body = body;
  }
}

/** The session is over (ended, expired, logged out): the app shows the login page. */
export class SessionEnded extends Error {
  constructor(message) {
    super(message);
    this.name = 'SessionEnded';
  }
}

function defaultMessage(status) {
  if (status === 403) return 'You do not have permission to do this.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many attempts: wait a minute and try again.';
  if (status >= 500) return 'The server could not answer. Try again in a moment.';
  return `The request failed (${status}).`;
}

/** Register a listener: `token` (claims changed) or `ended` (message). */
export function on(event, listener) {
  listeners[event].push(listener);
}

function emit(event, value) {
  for (const listener of listeners[event]) listener(value);
}

/** The claims of the current access token (`sub`, `roles`, `perms`, ...), or null. */
export function currentClaims() {
  return claims;
}

function decode(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

function setToken(token) {
  const changed = token !== access;
  access = token;
  claims = token ? decode(token) : null;
  if (changed && token) emit('token', claims);
}

/** Whether the user's token grants `permission` (`resource:action`, `*` wildcards). */
export function can(permission) {
  if (!claims) return false;
  if ((claims.roles || []).includes('superuser')) return true;
  const [resource, action] = permission.split(':');
  return (claims.perms || []).some((granted) => {
    const [r, a] = granted.split(':');
    return (r === '*' || r === resource) && (a === '*' || a === action);
  });
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function post(path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
}

// ---------------------------------------------------------------------------------------
// Telling the other tabs

function broadcast(message) {
  if (channel) {
    channel.postMessage(message);
  } else if (message.type === 'logout' || message.type === 'ended') {
    try {
      localStorage.setItem(FALLBACK_LOGOUT_KEY, JSON.stringify({ type: message.type, at: Date.now() }));
    } catch {
      // Storage unavailable: the other tabs find out at their next call.
    }
  }
}

function endHere(message) {
  access = null;
  claims = null;
  emit('ended', message);
}

if (channel) {
  channel.onmessage = (event) => {
    const message = event.data || {};
    if (message.type === 'token' && typeof message.access === 'string') {
      setToken(message.access);
    } else if (message.type === 'hello' && access) {
      channel.postMessage({ type: 'token', access });
    } else if (message.type === 'logout') {
      endHere('You signed out in another tab.');
    } else if (message.type === 'ended') {
      endHere('Your session has ended. Please sign in again.');
    }
  };
} else {
  addEventListener('storage', (event) => {
    if (event.key !== FALLBACK_LOGOUT_KEY || !event.newValue) return;
    const type = JSON.parse(event.newValue).type;
    endHere(type === 'logout' ? 'You signed out in another tab.' : 'Your session has ended. Please sign in again.');
  });
}

// ---------------------------------------------------------------------------------------
// The shared refresh

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A lock for browsers without Web Locks, in IndexedDB (a record naming the owner and the
// time, never a token): readwrite transactions on one store run one at a time across every
// tab of the origin, so taking the lock is an atomic test-and-set. A lock older than 10 s
// (a tab that died holding it) is taken over. Polled every 50 ms.
function openLockDb() {
  return new Promise((resolve) => {
    if (!self.indexedDB) {
      resolve(null);
      return;
    }
    const request = indexedDB.open(FALLBACK_LOCK_DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('lock');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
  });
}

function lockStep(db, me, take) {
  return new Promise((resolve) => {
    const tx = db.transaction('lock', 'readwrite');
    const store = tx.objectStore('lock');
    const get = store.get('owner');
    let mine = false;
    get.onsuccess = () => {
      const held = get.result;
      if (take && (!held || Date.now() - held.at > 10000)) {
        store.put({ owner: me, at: Date.now() }, 'owner');
        mine = true;
      } else if (!take && held && held.owner === me) {
        store.delete('owner');
      }
    };
    tx.oncomplete = () => resolve(mine);
    tx.onerror = () => resolve(false);
    tx.onabort = () => resolve(false);
  });
}

async function withFallbackLock(task) {
  const db = await openLockDb();
  if (!db) return task();
  const me = Math.random().toString(36).slice(2);
  try {
    for (let i = 0; i < 300 && !(await lockStep(db, me, true)); i++) await sleep(50);
    return await task();
  } finally {
    await lockStep(db, me, false);
    db.close();
  }
}

function withLock(task) {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request(LOCK, task);
  }
  return withFallbackLock(task);
}

// Spend the cookie: the new access token, or null when there is no session (401).
async function spendCookie() {
  let response;
  try {
    response = await post('/api/auth/browser/refresh');
  } catch {
    throw new ApiProblem(0, { detail: 'Cannot reach the server. Check the connection and try again.' });
  }
  if (response.status === 401) return null;
  const body = await readBody(response);
  if (!response.ok) throw new ApiProblem(response.status, body);
  return body.access;
}

/**
 * A fresh access token to replace `stale` (null: none yet). Every concurrent caller in this
 * tab gets the same promise; across tabs the Web Lock lets one tab spend the cookie, and the
 * others take the token it broadcast. Resolves to null when the session is over.
 */
export function refresh(stale) {
  if (access && access !== stale) return Promise.resolve(access);
  if (!inTab) {
    inTab = withLock(async () => {
      // Another tab refreshed while this one waited for the lock: use its token.
      if (access && access !== stale) return access;
      const token = await spendCookie();
      if (token) {
        setToken(token);
        broadcast({ type: 'token', access: token });
        // Hold the lock a moment so the token reaches the other tabs before one of them
        // takes the lock.
        await sleep(30);
      }
      return token;
    }).finally(() => {
      inTab = null;
    });
  }
  return inTab;
}

/**
 * At start: a token from another open tab of this browser if one answers quickly, else from
 * the cookie. Resolves to the claims, or null (no session: show the login page).
 */
export async function start() {
  if (channel) {
    const got = new Promise((resolve) => {
      const onToken = () => resolve(true);
      listeners.token.push(onToken);
      setTimeout(() => {
        listeners.token.splice(listeners.token.indexOf(onToken), 1);
        resolve(false);
      }, 150);
    });
    channel.postMessage({ type: 'hello' });
    if (await got) return claims;
  }
  const token = await refresh(null);
  return token ? claims : null;
}

// A 401 about the token (`WWW-Authenticate: Bearer error="invalid_token"`: expired, revoked,
// stale claims, ended session), as opposed to one about credentials in the body (a wrong old
// password), which is an ordinary error.
function tokenRefused(response) {
  return response.status === 401
    && /invalid_token/.test(response.headers.get('www-authenticate') || '');
}

/**
 * Call the API with the access token; when the token is refused, one refresh and a retry.
 * The session is over when the refresh is refused. A fresh token refused again (it expired
 * on the way: a refresh slower than the token's lifetime) gets one more refresh.
 */
export async function api(method, path, body) {
  let token = access || (await refresh(null));
  let response;
  for (let refreshes = 0; ; refreshes++) {
    if (!token) throw sessionOver();
    response = await send(method, path, body, token);
    if (!tokenRefused(response)) break;
    if (refreshes === 2) throw sessionOver();
    token = await refresh(token);
  }
  const answer = await readBody(response);
  if (!response.ok) throw new ApiProblem(response.status, answer);
  return answer;
}

async function send(method, path, body, token) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiProblem(0, { detail: 'Cannot reach the server. Check the connection and try again.' });
  }
}

function sessionOver() {
  const message = 'Your session has ended. Please sign in again.';
  broadcast({ type: 'ended' });
  endHere(message);
  return new SessionEnded(message);
}

/** Log in (or register, with `register`): the user, or an ApiProblem. */
export async function signIn(path, fields) {
  let response;
  try {
    response = await post(path, fields);
  } catch {
    throw new ApiProblem(0, { detail: 'Cannot reach the server. Check the connection and try again.' });
  }
  const body = await readBody(response);
  if (!response.ok) throw new ApiProblem(response.status, body);
  setToken(body.access);
  broadcast({ type: 'token', access: body.access });
  return body.user;
}

/** Log out: ends the session, clears the cookie, revokes the access token; tells every tab. */
export async function signOut() {
  const token = access;
  access = null;
  claims = null;
  try {
    await post('/api/auth/browser/logout', undefined, token);
  } finally {
    broadcast({ type: 'logout' });
  }
}

/** Forget the session here and in the other tabs after it was ended on the server. */
export async function forget(message) {
  try {
    await post('/api/auth/browser/logout', undefined, null);
  } catch {
    // The cookie is dead anyway.
  }
  broadcast({ type: 'logout' });
  endHere(message);
}
