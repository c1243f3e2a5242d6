// The CRM web app: plain JavaScript modules, no build step. Pages by URL hash: #/customers,
// #/sessions, #/account, #/users. The access token stays in auth.js's memory.

import {
  api, can, currentClaims, forget, on, signIn, signOut, start, ApiProblem, SessionEnded,
} from './auth.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
const notice = document.getElementById('notice');
let me = null;

// ---------------------------------------------------------------------------------------
// Small DOM helpers

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function field(label, input) {
  const id = input.id || `f-${input.name}-${Math.random().toString(36).slice(2, 7)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

function errorBox() {
  return h('p', { class: 'error', role: 'alert', hidden: true });
}

function showError(box, error) {
  if (error instanceof SessionEnded) return;
  box.textContent = error instanceof ApiProblem ? error.message : 'Something went wrong. Try again.';
  box.hidden = false;
}

function say(message) {
  notice.textContent = message;
  notice.hidden = !message;
  if (message) {
    clearTimeout(say.timer);
    say.timer = setTimeout(() => {
      notice.hidden = true;
    }, 5000);
  }
}

function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function describeAgent(agent) {
  if (!agent) return 'Unknown browser';
  const browser = /Edg\//.test(agent) ? 'Edge'
    : /Chrome\//.test(agent) ? (/HeadlessChrome/.test(agent) ? 'Chrome (headless)' : 'Chrome')
      : /Firefox\//.test(agent) ? 'Firefox'
        : /Safari\//.test(agent) ? 'Safari' : 'Browser';
  const os = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS'
    : /Windows/.test(agent) ? 'Windows' : /Mac OS X/.test(agent) ? 'macOS'
      : /Linux/.test(agent) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

function loading(section) {
  section.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading…'));
}

/** Run `task` with `button` disabled; errors go to `box`. */
async function busy(button, box, task) {
  if (box) box.hidden = true;
  if (button) button.disabled = true;
  try {
    return await task();
  } catch (error) {
    if (box) showError(box, error);
    else if (!(error instanceof SessionEnded)) say(error.message);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Login and register

function loginPage(message) {
  top.hidden = true;
  say('');
  document.title = 'Sign in · CRM';
  const box = errorBox();
  const info = message ? h('p', { class: 'info', role: 'status', id: 'login-message' }, message) : null;
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card', id: 'login-form', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in'),
    info,
    field('Username or email', h('input', { name: 'username', autocomplete: 'username', required: true })),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('div', { class: 'check' },
      h('input', { type: 'checkbox', name: 'remember_me', id: 'remember_me' }),
      h('label', { for: 'remember_me' }, 'Keep me signed in on this device')),
    box,
    h('div', { class: 'actions' }, submit,
      h('button', { type: 'button', class: 'link', onclick: () => registerPage() }, 'Create an account')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get('username')).trim();
    const fields = { password: String(data.get('password')), remember_me: data.get('remember_me') === 'on' };
    if (name.includes('@')) fields.email = name;
    else fields.username = name;
    busy(submit, box, async () => {
      submit.textContent = 'Signing in…';
      try {
        me = await signIn('/api/auth/browser/login', fields);
        enterApp();
      } finally {
        submit.textContent = 'Sign in';
      }
    });
  });
  main.replaceChildren(form);
  form.querySelector('input[name=username]').focus();
}

function registerPage() {
  document.title = 'Create an account · CRM';
  const box = errorBox();
  const submit = h('button', { type: 'submit' }, 'Create account');
  const form = h('form', { class: 'card', id: 'register-form', 'aria-labelledby': 'register-title' },
    h('h1', { id: 'register-title' }, 'Create an account'),
    h('p', { class: 'hint' }, 'This creates a new organization, with you as its admin.'),
    field('Username', h('input', { name: 'username', autocomplete: 'username', required: true })),
    field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true })),
    field('Password (at least 8 characters)', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: '8', required: true })),
    field('Organization (optional)', h('input', { name: 'organization', autocomplete: 'organization' })),
    box,
    h('div', { class: 'actions' }, submit,
      h('button', { type: 'button', class: 'link', onclick: () => loginPage() }, 'I have an account')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const fields = {
      username: String(data.get('username')).trim(),
      email: String(data.get('email')).trim(),
      password: String(data.get('password')),
    };
    const organization = String(data.get('organization')).trim();
    if (organization) fields.organization = organization;
    busy(submit, box, async () => {
      me = await signIn('/api/auth/browser/register', fields);
      enterApp();
    });
  });
  main.replaceChildren(form);
  form.querySelector('input[name=username]').focus();
}

// ---------------------------------------------------------------------------------------
// The app's frame

async function enterApp() {
  if (!me) {
    loading(main);
    try {
      me = (await api('GET', '/api/auth/me')).user;
    } catch (error) {
      if (!(error instanceof SessionEnded)) loginPage(error.message);
      return;
    }
  }
  // Signed out (here or in another tab) while this was loading.
  if (!currentClaims()) return;
  top.hidden = false;
  document.getElementById('who').textContent = me.username;
  updateNav();
  if (!location.hash || location.hash === '#/' || location.hash === '#') {
    history.replaceState(null, '', '#/customers');
  }
  route();
}

function updateNav() {
  document.querySelector('[data-nav=users]').hidden = !can('user:read');
  const page = (location.hash.split('/')[1] || 'customers');
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function route() {
  if (!currentClaims()) return;
  updateNav();
  const page = location.hash.split('/')[1] || 'customers';
  const pages = { customers: customersPage, sessions: sessionsPage, account: accountPage, users: usersPage };
  (pages[page] || customersPage)();
  main.focus({ preventScroll: true });
}

addEventListener('hashchange', route);

const logoutButton = document.getElementById('logout');
logoutButton.addEventListener('click', async () => {
  logoutButton.disabled = true;
  try {
    await signOut();
  } catch {
    // Signed out here all the same: the token is forgotten, the other tabs are told.
  } finally {
    logoutButton.disabled = false;
  }
  signedOut('You have signed out.');
});

function signedOut(message) {
  me = null;
  lastPerms = null;
  loginPage(message);
}

on('ended', (message) => signedOut(message));

// A new token may carry new permissions (a role change): redraw what depends on them.
let lastPerms = null;
on('token', (claims) => {
  const perms = JSON.stringify([claims.roles, claims.perms]);
  if (lastPerms !== null && perms !== lastPerms && me) {
    updateNav();
    say('Your permissions changed.');
    route();
  }
  lastPerms = perms;
});

// ---------------------------------------------------------------------------------------
// Customers

function customersPage() {
  document.title = 'Customers · CRM';
  const box = errorBox();
  const list = h('section', { 'aria-label': 'Customer list' });
  const editor = h('section', { id: 'customer-editor', hidden: true });
  const reload = h('button', { type: 'button', class: 'secondary', 'data-action': 'reload', onclick: () => load() }, 'Reload');
  const create = can('customer:create')
    ? h('button', { type: 'button', id: 'new-customer', onclick: () => edit(null) }, 'New customer')
    : null;
  main.replaceChildren(
    h('div', { class: 'heading' }, h('h1', {}, 'Customers'), h('div', { class: 'actions' }, reload, create)),
    box, editor, list);

  async function load() {
    box.hidden = true;
    if (!list.firstChild) loading(list);
    reload.disabled = true;
    try {
      const customers = await api('GET', '/api/customers?limit=200');
      render(customers);
    } catch (error) {
      list.replaceChildren();
      showError(box, error);
    } finally {
      reload.disabled = false;
    }
  }

  function render(customers) {
    if (customers.length === 0) {
      list.replaceChildren(h('p', { class: 'empty' }, can('customer:create')
        ? 'No customers yet. Add the first one with “New customer”.' : 'No customers yet.'));
      return;
    }
    const rows = customers.map((customer) => {
      const actions = h('td', { class: 'row-actions' });
      const row = h('tr', { 'data-customer': customer.id },
        h('td', { 'data-label': 'Name' }, customer.name),
        h('td', { 'data-label': 'Email' }, customer.email || ''),
        h('td', { 'data-label': 'Phone' }, customer.phone || ''),
        h('td', { 'data-label': 'Company' }, customer.company || ''),
        actions);
      const normal = () => {
        actions.replaceChildren(...[
          can('customer:update') ? h('button', { type: 'button', class: 'secondary', 'data-action': 'edit', 'aria-label': `Edit ${customer.name}`, onclick: () => edit(customer) }, 'Edit') : null,
          can('customer:delete') ? h('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': `Delete ${customer.name}`, onclick: confirm }, 'Delete') : null,
        ].filter(Boolean));
      };
      const confirm = () => {
        const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-delete', onclick: () => remove(customer, yes) }, `Delete ${customer.name}?`);
        actions.replaceChildren(yes, h('button', { type: 'button', class: 'secondary', onclick: normal }, 'Cancel'));
        yes.focus();
      };
      normal();
      return row;
    });
    list.replaceChildren(h('table', { class: 'responsive', id: 'customers' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'),
        h('th', { scope: 'col' }, 'Phone'), h('th', { scope: 'col' }, 'Company'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', {}, rows)));
  }

  async function remove(customer, button) {
    await busy(button, box, async () => {
      await api('DELETE', `/api/customers/${encodeURIComponent(customer.id)}`);
      say(`Deleted ${customer.name}.`);
    });
    await load();
  }

  function edit(customer) {
    const formBox = errorBox();
    const save = h('button', { type: 'submit' }, customer ? 'Save changes' : 'Add customer');
    const input = (name, attrs = {}) => h('input', { name, value: customer ? customer[name] || '' : '', ...attrs });
    const form = h('form', { class: 'card', id: 'customer-form', 'aria-labelledby': 'customer-form-title' },
      h('h2', { id: 'customer-form-title' }, customer ? `Edit ${customer.name}` : 'New customer'),
      h('div', { class: 'grid' },
        field('Name', input('name', { required: true, maxlength: '200' })),
        field('Email', input('email', { type: 'email' })),
        field('Phone', input('phone', { type: 'tel' })),
        field('Company', input('company'))),
      field('Notes', h('textarea', { name: 'notes', rows: '3' }, customer ? customer.notes || '' : '')),
      formBox,
      h('div', { class: 'actions' }, save,
        h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel')));
    function close() {
      editor.hidden = true;
      editor.replaceChildren();
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = {};
      for (const name of ['name', 'email', 'phone', 'company', 'notes']) {
        const value = String(data.get(name)).trim();
        if (value || customer) body[name] = value || null;
      }
      body.name = String(data.get('name')).trim();
      busy(save, formBox, async () => {
        if (customer) await api('PATCH', `/api/customers/${encodeURIComponent(customer.id)}`, body);
        else await api('POST', '/api/customers', body);
        say(customer ? `Saved ${body.name}.` : `Added ${body.name}.`);
        close();
        await load();
      });
    });
    editor.replaceChildren(form);
    editor.hidden = false;
    form.querySelector('input[name=name]').focus();
  }

  load();
}

// ---------------------------------------------------------------------------------------
// Sessions and recent sign-ins

function sessionTable(sessions, onEnd, id) {
  if (sessions.length === 0) return h('p', { class: 'empty' }, 'No active sessions.');
  return h('table', { class: 'responsive', id },
    h('thead', {}, h('tr', {}, ...['Device', 'IP address', 'Browser', 'Signed in', 'Last activity'].map((t) => h('th', { scope: 'col' }, t)),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, sessions.map((session) => h('tr', { 'data-session': session.id, class: session.current ? 'current' : null },
      h('td', { 'data-label': 'Device' }, session.device_info || describeAgent(session.user_agent),
        session.current ? h('span', { class: 'badge' }, 'This browser') : null),
      h('td', { 'data-label': 'IP address' }, session.ip_address || ''),
      h('td', { 'data-label': 'Browser', class: 'agent', title: session.user_agent || '' }, session.user_agent || ''),
      h('td', { 'data-label': 'Signed in' }, when(session.created_at)),
      h('td', { 'data-label': 'Last activity' }, when(session.last_activity)),
      h('td', { class: 'row-actions' }, onEnd ? h('button', {
        type: 'button', class: 'danger', 'data-action': 'end-session',
        'aria-label': session.current ? 'End this session (sign out)' : `End the session of ${describeAgent(session.user_agent)}`,
        onclick: (event) => onEnd(session, event.currentTarget),
      }, session.current ? 'Sign out' : 'End') : null)))));
}

function sessionsPage() {
  document.title = 'Sessions · CRM';
  const box = errorBox();
  const sessions = h('section', { 'aria-labelledby': 'sessions-title' });
  const logins = h('section', { 'aria-labelledby': 'logins-title' });
  const everywhere = h('button', { type: 'button', class: 'danger', id: 'logout-everywhere' }, 'Log out everywhere');
  const reload = h('button', { type: 'button', class: 'secondary', 'data-action': 'reload', onclick: () => load() }, 'Reload');
  main.replaceChildren(
    h('div', { class: 'heading' }, h('h1', { id: 'sessions-title' }, 'Active sessions'), h('div', { class: 'actions' }, reload, everywhere)),
    box, sessions,
    h('h2', { id: 'logins-title' }, 'Recent sign-ins'), logins);
  everywhere.addEventListener('click', () => busy(everywhere, box, async () => {
    await api('POST', '/api/auth/logout-all');
    await forget('You signed out on every device.');
  }));

  async function end(session, button) {
    await busy(button, box, async () => {
      await api('DELETE', `/api/auth/sessions/${encodeURIComponent(session.id)}`);
      if (session.current) {
        await forget('You have signed out.');
        return;
      }
      say('Session ended.');
      await load();
    });
  }

  async function load() {
    box.hidden = true;
    if (!sessions.firstChild) loading(sessions);
    if (!logins.firstChild) loading(logins);
    reload.disabled = true;
    try {
      const [active, attempts] = await Promise.all([
        api('GET', '/api/auth/sessions'), api('GET', '/api/auth/logins')]);
      sessions.replaceChildren(sessionTable(active, end, 'sessions'));
      logins.replaceChildren(attempts.length === 0 ? h('p', { class: 'empty' }, 'No sign-ins yet.')
        : h('table', { class: 'responsive', id: 'logins' },
          h('thead', {}, h('tr', {}, ...['When', 'Result', 'IP address', 'Browser'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, attempts.map((attempt) => h('tr', {},
            h('td', { 'data-label': 'When' }, when(attempt.at)),
            h('td', { 'data-label': 'Result' }, h('span', { class: attempt.success ? 'ok' : 'failed' }, attempt.success ? 'Signed in' : 'Failed')),
            h('td', { 'data-label': 'IP address' }, attempt.ip_address || ''),
            h('td', { 'data-label': 'Browser', class: 'agent', title: attempt.user_agent || '' }, describeAgent(attempt.user_agent)))))));
    } catch (error) {
      showError(box, error);
    } finally {
      reload.disabled = false;
    }
  }
  load();
}

// ---------------------------------------------------------------------------------------
// Account: who am I, change password

function accountPage() {
  document.title = 'Account · CRM';
  const box = errorBox();
  const save = h('button', { type: 'submit' }, 'Change password');
  const form = h('form', { class: 'card', id: 'password-form', 'aria-labelledby': 'password-title' },
    h('h2', { id: 'password-title' }, 'Change password'),
    h('p', { class: 'hint' }, 'Your other sessions end; this one stays signed in.'),
    field('Current password', h('input', { name: 'old_password', type: 'password', autocomplete: 'current-password', required: true })),
    field('New password (at least 8 characters)', h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', minlength: '8', required: true })),
    field('Repeat the new password', h('input', { name: 'repeat', type: 'password', autocomplete: 'new-password', required: true })),
    box, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (data.get('new_password') !== data.get('repeat')) {
      showError(box, new ApiProblem(422, { detail: 'The two new passwords differ.' }));
      return;
    }
    busy(save, box, async () => {
      await api('POST', '/api/auth/password', {
        old_password: String(data.get('old_password')), new_password: String(data.get('new_password')),
      });
      form.reset();
      say('Password changed. Your other sessions were ended.');
    });
  });
  const claims = currentClaims();
  main.replaceChildren(
    h('h1', {}, 'Account'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Username'), h('dd', {}, me ? me.username : ''),
      h('dt', {}, 'Email'), h('dd', {}, me ? me.email : ''),
      h('dt', {}, 'Roles'), h('dd', { id: 'my-roles' }, (claims.roles || []).join(', ') || 'none'),
      h('dt', {}, 'Permissions'), h('dd', {}, (claims.perms || []).join(', ') || 'none')),
    form);
}

// ---------------------------------------------------------------------------------------
// Users of the organization

const ROLES = ['admin', 'manager', 'sales', 'viewer'];

function usersPage() {
  document.title = 'Users · CRM';
  const box = errorBox();
  const list = h('section', { 'aria-label': 'Users' });
  const reload = h('button', { type: 'button', class: 'secondary', 'data-action': 'reload', onclick: () => load() }, 'Reload');
  main.replaceChildren(h('div', { class: 'heading' }, h('h1', {}, 'Users'), h('div', { class: 'actions' }, reload)), box, list);
  if (!can('user:read')) {
    list.replaceChildren(h('p', { class: 'empty' }, 'You do not have permission to see the users.'));
    return;
  }

  async function load() {
    box.hidden = true;
    if (!list.firstChild) loading(list);
    try {
      const users = await api('GET', '/api/admin/users?limit=200');
      list.replaceChildren(...users.map(userCard));
    } catch (error) {
      showError(box, error);
    }
  }

  function userCard(user) {
    const cardBox = errorBox();
    const sessions = h('div', { class: 'user-sessions', hidden: true });
    const isMe = me && user.id === me.id;
    const select = h('select', { name: 'role', 'aria-label': `Role of ${user.username}` },
      ROLES.map((role) => h('option', { value: role, selected: user.roles.includes(role) }, role)));
    const saveRole = h('button', { type: 'button', class: 'secondary', 'data-action': 'save-role' }, 'Save role');
    saveRole.addEventListener('click', () => busy(saveRole, cardBox, async () => {
      await api('PUT', `/api/admin/users/${encodeURIComponent(user.id)}/roles`, { roles: [select.value] });
      say(`${user.username} is now ${select.value}.`);
      await load();
    }));
    const suspend = h('button', { type: 'button', class: user.suspended ? 'secondary' : 'danger', 'data-action': user.suspended ? 'reinstate' : 'suspend' },
      user.suspended ? 'Reinstate' : 'Suspend');
    suspend.addEventListener('click', () => busy(suspend, cardBox, async () => {
      await api('POST', `/api/admin/users/${encodeURIComponent(user.id)}/${user.suspended ? 'reinstate' : 'suspend'}`);
      say(user.suspended ? `${user.username} is reinstated.` : `${user.username} is suspended: every session ended.`);
      await load();
    }));
    const showSessions = h('button', { type: 'button', class: 'secondary', 'data-action': 'user-sessions', 'aria-expanded': 'false' }, 'Sessions');
    showSessions.addEventListener('click', async () => {
      if (!sessions.hidden) {
        sessions.hidden = true;
        showSessions.setAttribute('aria-expanded', 'false');
        return;
      }
      showSessions.setAttribute('aria-expanded', 'true');
      sessions.hidden = false;
      await loadSessions();
    });
    async function loadSessions() {
      loading(sessions);
      try {
        const active = await api('GET', `/api/admin/users/${encodeURIComponent(user.id)}/sessions`);
        const onEnd = can('user:suspend') ? (session, button) => busy(button, cardBox, async () => {
          await api('DELETE', `/api/admin/users/${encodeURIComponent(user.id)}/sessions/${encodeURIComponent(session.id)}`);
          say(`Ended a session of ${user.username}.`);
          await loadSessions();
        }) : null;
        sessions.replaceChildren(sessionTable(active, onEnd, `sessions-${user.id}`));
      } catch (error) {
        sessions.replaceChildren();
        showError(cardBox, error);
      }
    }
    return h('article', { class: 'card user', 'data-user': user.id, 'data-username': user.username },
      h('div', { class: 'user-head' },
        h('div', {}, h('h2', {}, user.username, isMe ? h('span', { class: 'badge' }, 'You') : null,
          user.suspended ? h('span', { class: 'badge warn' }, 'Suspended') : null),
        h('p', { class: 'hint' }, user.email, ' · ', user.roles.join(', ') || 'no role')),
        h('div', { class: 'actions' },
          can('role:assign') && !isMe && !user.is_superuser ? h('span', { class: 'inline' }, select, saveRole) : null,
          can('user:suspend') && !isMe && !user.is_superuser ? suspend : null,
          showSessions)),
      cardBox, sessions);
  }
  load();
}

// ---------------------------------------------------------------------------------------
// Start

async function boot() {
  try {
    const claims = await start();
    if (claims) enterApp();
    else loginPage();
  } catch (error) {
    loginPage(error instanceof ApiProblem ? error.message : null);
  }
}

boot();
