// VectaDB admin console: a dependency-free ES module.
//
// Every piece of server data reaches the page through textContent or DOM
// properties (see h() below); innerHTML is never used.

const API = '/api/v1';
const CSRF_KEY = 'vectadb.csrf';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];
const ERROR_LEVELS = new Set(['error', 'critical']);
const HIGH_ANOMALY = 0.6;
const PAGE_SIZES = [10, 25, 50, 100];

/* ------------------------------------------------------------------ DOM */

// h('a', {class: 'x', href, onClick}, 'text', child, [more]) -> element.
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'style') Object.assign(el.style, v);
    else if (key === 'dataset') Object.assign(el.dataset, v);
    else if (key === 'value') value = v;
    else if (key === 'checked') el.checked = v;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace el's children; like h(), accepts nested arrays and skips null.
function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function icon(name, cls = 'icon') {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

const $ = (sel, root = document) => root.querySelector(sel);

/* ----------------------------------------------------------- formatting */

const pad = (n, w = 2) => String(n).padStart(w, '0');
const numFmt = new Intl.NumberFormat();

function fmtNum(n, digits) {
  if (n == null || !Number.isFinite(n)) return '—';
  return digits == null ? numFmt.format(n) : n.toFixed(digits);
}

function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '—';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtAgo(iso) {
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(s)) return '';
  if (s < 45) return 'just now';
  const units = [[60, 'min', 60], [24, 'h', 3600], [30, 'd', 86400], [12, 'mo', 2592000], [Infinity, 'y', 31536000]];
  for (const [limit, unit, div] of units) {
    const v = Math.round(s / div);
    if (v < limit) return `${Math.max(v, 1)} ${unit} ago`;
  }
  return '';
}

function fmtDuration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60000);
  return m < 60 ? `${m} m ${Math.round((ms % 60000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} m`;
}

function fmtSeconds(s) {
  if (s == null || !Number.isFinite(s)) return '—';
  return s < 1 ? `${fmtNum(s * 1000, s < 0.01 ? 1 : 0)} ms` : `${fmtNum(s, 2)} s`;
}

function plural(n, word) {
  return `${fmtNum(n)} ${word}${n === 1 ? '' : 's'}`;
}

function time(iso, text) {
  return h('time', { datetime: iso, title: iso ? `${fmtDate(iso)} (${fmtAgo(iso)})` : null }, text ?? fmtDate(iso));
}

function json(v) {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

/* ------------------------------------------------------------------ API */

class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const session = { mode: null, user: null, csrf: sessionStorage.getItem(CSRF_KEY) };

function setCsrf(token) {
  session.csrf = token || null;
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = body && body.error;
  const retry = Number(res.headers.get('Retry-After')) || null;
  return new ApiError(res.status, e?.code || `http_${res.status}`, e?.message || `${res.status} ${res.statusText}`, e?.field, retry);
}

async function request(method, path, { body, query, text = false, anonymous = false, retried = false } = {}) {
  const headers = { Accept: text ? 'text/plain' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!['GET', 'HEAD'].includes(method) && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let res;
  try {
    res = await fetch(path + queryString(query), {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the VectaDB server. Check that it is running.');
  }
  if (res.status === 401 && !anonymous) {
    toLogin();
    const err = new ApiError(401, 'unauthorized', 'Your session has ended. Please sign in again.');
    err.redirected = true;
    throw err;
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (err.code === 'csrf' && !retried) {
      // The CSRF token may be stale (another tab signed in again): refresh once.
      await loadSession();
      return request(method, path, { body, query, text, anonymous, retried: true });
    }
    throw err;
  }
  if (res.status === 204) return null;
  return text ? res.text() : res.json();
}

const get = (path, query) => request('GET', API + path, { query });
const post = (path, body) => request('POST', API + path, { body });

async function loadSession() {
  try {
    const me = await request('GET', `${API}/auth/me`, { anonymous: true });
    if (me.auth === 'open') {
      Object.assign(session, { mode: 'open', user: null });
      setCsrf(null);
    } else {
      Object.assign(session, { mode: 'session', user: me.user });
      setCsrf(me.csrf_token);
    }
  } catch (e) {
    if (e.status === 404) Object.assign(session, { mode: 'open', user: null }); // server without auth
    else if (e.status === 401) Object.assign(session, { mode: null, user: null });
    else throw e;
  }
}

function toLogin() {
  Object.assign(session, { mode: null, user: null });
  setCsrf(null);
  if (location.pathname.startsWith('/ui/login')) return;
  navigate(`/ui/login${queryString({ next: location.pathname + location.search + location.hash })}`, { replace: true });
}

function safeNext(next) {
  return next && /^\/ui\/(?!login)/.test(next) && !next.startsWith('//') ? next : '/ui/agents';
}

// Agents by id, fetched once per page load (role names for ids in tables).
const agentCache = new Map();
function agentById(id) {
  if (!agentCache.has(id)) agentCache.set(id, get(`/agents/${encodeURIComponent(id)}`).catch(() => null));
  return agentCache.get(id);
}

// A link to an agent labelled by its role once known.
function agentLink(id, hash = '') {
  const a = h('a', { href: `/ui/agents/${encodeURIComponent(id)}${hash}`, class: 'agent-link', title: id }, h('span', { class: 'mono' }, id));
  agentById(id).then((agent) => { if (agent) a.replaceChildren(agent.role); });
  return a;
}

/* ------------------------------------------------------------ components */

function badge(text, cls) {
  return h('span', { class: `badge ${cls}` }, text);
}

const levelBadge = (level) => badge(level, `lvl lvl-${level}`);
const statusBadge = (status) => badge(status, `status status-${status}`);

const KNOWN_KINDS = ['reasoning', 'plan', 'tool', 'observation', 'chat', 'action', 'reflection'];
function kindBadge(kind) {
  let i = KNOWN_KINDS.indexOf(kind);
  if (i < 0) i = [...kind].reduce((a, c) => a + c.charCodeAt(0), 0) % KNOWN_KINDS.length;
  return badge(kind, `kind kind-${i}`);
}

function scoreBar(score, { label = 'Anomaly score' } = {}) {
  if (score == null || !Number.isFinite(score)) return h('span', { class: 'score is-none', title: `${label}: not computed yet` }, '—');
  const pct = Math.max(0, Math.min(1, score)) * 100;
  return h('span', { class: `score${score >= HIGH_ANOMALY ? ' is-high' : ''}`, title: `${label}: ${score.toFixed(3)}` },
    h('span', { class: 'score-track' }, h('span', { class: 'score-fill', style: { width: `${pct}%` } })),
    h('span', { class: 'score-value' }, score.toFixed(2)));
}

function idChip(id) {
  return h('button', {
    type: 'button', class: 'id-chip mono', title: 'Copy id',
    onClick: async (ev) => {
      ev.stopPropagation();
      try { await navigator.clipboard.writeText(id); toast('Id copied'); } catch { toast('Copy is not available here', 'warn'); }
    },
  }, id);
}

function emptyState(title, body, action) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), body && h('p', { class: 'empty-body' }, body), action);
}

function errorState(err, retry) {
  const msg = err instanceof ApiError ? err.message : String(err?.message || err);
  return h('div', { class: 'empty is-failure', role: 'alert' },
    icon('alert', 'icon empty-icon'),
    h('p', { class: 'empty-title' }, err?.status === 503 ? 'A backend is unavailable' : 'Something went wrong'),
    h('p', { class: 'empty-body' }, msg, err?.code && err.code !== 'network' ? h('span', { class: 'mono muted' }, ` (${err.code})`) : null),
    retry && h('button', { type: 'button', class: 'btn', onClick: retry }, 'Try again'));
}

function loadingBlock(label = 'Loading…') {
  return h('div', { class: 'loading', 'aria-busy': 'true' }, h('span', { class: 'spinner' }), label);
}

function skeletonRows(rows, cols) {
  return Array.from({ length: rows }, () => h('tr', { class: 'skeleton' },
    Array.from({ length: cols }, () => h('td', null, h('span', { class: 'skel' })))));
}

/* Keyset paging (the logs list): `position` is the index of the page's
   first row, `prev`/`next` are null when there is no such page. */
function cursorPager({ total, estimated, limit, position, shown, onPrev, onNext, onLimit }) {
  const sizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b);
  const of = `${estimated ? 'about ' : ''}${fmtNum(total)}`;
  return h('div', { class: 'pager' },
    h('span', { class: 'pager-info' }, shown ? `${fmtNum(position + 1)}–${fmtNum(position + shown)} of ${of}` : '0 results'),
    h('label', { class: 'pager-size' }, 'Rows',
      h('select', { onChange: (e) => onLimit(Number(e.target.value)), value: String(limit) },
        sizes.map((n) => h('option', { value: String(n) }, String(n))))),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-page': 'prev', disabled: !onPrev, onClick: () => onPrev && onPrev() }, '‹ Prev'),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-page': 'next', disabled: !onNext, onClick: () => onNext && onNext() }, 'Next ›'));
}

function pager({ total, limit, offset, onChange }) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  const sizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b);
  return h('div', { class: 'pager' },
    h('span', { class: 'pager-info' }, total ? `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)}` : '0 results'),
    h('label', { class: 'pager-size' }, 'Rows',
      h('select', { onChange: (e) => onChange({ limit: Number(e.target.value), offset: 0 }), value: String(limit) },
        sizes.map((n) => h('option', { value: String(n) }, String(n))))),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-page': 'prev', disabled: offset <= 0, onClick: () => onChange({ limit, offset: Math.max(0, offset - limit) }) }, '‹ Prev'),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-page': 'next', disabled: offset + limit >= total, onClick: () => onChange({ limit, offset: offset + limit }) }, 'Next ›'));
}

function toast(message, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}` }, message);
  $('#toasts').append(el);
  setTimeout(() => el.remove(), 3500);
}

function pageHeader({ title, subtitle, crumbs, actions }) {
  return h('header', { class: 'page-head' },
    h('div', { class: 'page-titles' },
      crumbs && h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, crumbs.flatMap((c, i) => [i ? icon('chevron', 'icon crumb-sep') : null, c])),
      h('h1', null, title),
      subtitle && h('p', { class: 'page-sub' }, subtitle)),
    actions && h('div', { class: 'page-actions' }, actions));
}

function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint && h('span', { class: 'field-hint' }, hint));
}

/* --------------------------------------------------------------- router */

let seq = 0;
let cleanups = [];

const routes = [
  { re: /^\/ui\/login\/?$/, view: viewLogin, public: true },
  { re: /^\/ui\/agents\/?$/, view: viewAgents, section: 'agents' },
  { re: /^\/ui\/agents\/([^/]+)\/?$/, view: viewAgent, section: 'agents' },
  { re: /^\/ui\/search\/?$/, view: viewSearch, section: 'search' },
  { re: /^\/ui\/logs\/?$/, view: viewLogs, section: 'logs' },
  { re: /^\/ui\/metrics\/?$/, view: viewMetrics, section: 'metrics' },
];

function navigate(url, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  render({ focus: !replace });
}

// Update the query string of the current page without re-rendering it.
function setQuery(params, { push = false } = {}) {
  const url = location.pathname + queryString(params);
  if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
}

function decodeParam(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

async function render({ focus = false } = {}) {
  cleanups.forEach((fn) => fn());
  cleanups = [];
  const token = ++seq;
  let path = location.pathname;
  if (path === '/' || path === '/ui' || path === '/ui/') {
    path = '/ui/agents';
    history.replaceState(null, '', path + location.search);
  }
  const route = routes.find((r) => r.re.test(path));
  if (!route?.public && !session.mode) return toLogin();
  if (route?.public && session.mode) return navigate(safeNext(new URLSearchParams(location.search).get('next')), { replace: true });

  document.body.classList.toggle('is-public', !!route?.public);
  $('#sidebar').hidden = !!route?.public;
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.dataset.section === route?.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  renderSessionBox();

  const view = $('#view');
  const runs = {};
  const ctx = {
    view,
    params: route ? path.match(route.re).slice(1).map(decodeParam) : [],
    query: new URLSearchParams(location.search),
    alive: () => token === seq,
    // latest(key) at the start of a reload -> alive() for that reload only:
    // false once the page is left or a newer reload with the same key began.
    latest: (key) => {
      const mine = (runs[key] = (runs[key] || 0) + 1);
      return () => token === seq && runs[key] === mine;
    },
    onLeave: (fn) => cleanups.push(fn),
  };
  if (focus) { window.scrollTo(0, 0); view.focus({ preventScroll: true }); }
  try {
    await (route ? route.view(ctx) : viewNotFound(ctx));
  } catch (e) {
    if (ctx.alive() && !e.redirected) view.replaceChildren(errorState(e, () => render()));
  }
}

function renderSessionBox() {
  const box = $('#session-box');
  if (session.mode === 'open') {
    box.replaceChildren(h('span', { class: 'badge badge-open', title: 'Authentication is disabled: this server has no users or API keys and accepts every request.' }, 'Open local mode'));
  } else if (session.mode === 'session') {
    const name = session.user?.username || 'admin';
    box.replaceChildren(
      h('span', { class: 'user' }, h('span', { class: 'avatar', 'aria-hidden': 'true' }, name.slice(0, 1).toUpperCase()), h('span', { class: 'user-name' }, name)),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'logout', title: 'Sign out', onClick: logout }, icon('logout'), 'Sign out'));
  } else {
    box.replaceChildren();
  }
}

async function logout() {
  try {
    await request('POST', `${API}/auth/logout`, { anonymous: true });
  } catch (e) {
    if (e.status !== 401) toast(`Sign-out failed on the server: ${e.message}`, 'warn');
  }
  Object.assign(session, { mode: null, user: null });
  setCsrf(null);
  agentCache.clear();
  navigate('/ui/login');
}

document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.origin !== location.origin || !a.pathname.startsWith('/ui/')) return;
  ev.preventDefault();
  if (a.pathname === location.pathname && a.search === location.search && a.hash) {
    history.replaceState(null, '', a.href);
    revealHash();
  } else {
    navigate(a.pathname + a.search + a.hash);
  }
});

window.addEventListener('popstate', () => render());

document.addEventListener('keydown', (ev) => {
  // "/" jumps to the page's main search or filter box.
  if (ev.key !== '/' || ev.target.closest('input, textarea, select')) return;
  const box = $('[data-hotkey]');
  if (box) { ev.preventDefault(); box.focus(); box.select?.(); }
});

function revealHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  const el = id && document.getElementById(id);
  if (!el) return;
  el.scrollIntoView({ block: 'center' });
  el.classList.remove('is-target');
  void el.offsetWidth; // restart the highlight animation
  el.classList.add('is-target');
}

/* ---------------------------------------------------------------- login */

async function viewLogin(ctx) {
  document.title = 'Sign in · VectaDB';
  const next = safeNext(ctx.query.get('next'));
  const errorBox = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const user = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true, autofocus: true, spellcheck: 'false', autocapitalize: 'off' });
  const pass = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');

  const fail = (msg) => { errorBox.textContent = msg; errorBox.hidden = false; };
  const form = h('form', {
    class: 'login-form', novalidate: true,
    onSubmit: async (ev) => {
      ev.preventDefault();
      if (!user.value.trim() || !pass.value) return fail('Enter your username and password.');
      errorBox.hidden = true;
      submit.disabled = true;
      submit.textContent = 'Signing in…';
      try {
        const res = await request('POST', `${API}/auth/login`, { body: { username: user.value.trim(), password: pass.value }, anonymous: true });
        Object.assign(session, { mode: 'session', user: res.user || { username: user.value.trim() } });
        setCsrf(res.csrf_token);
        navigate(next, { replace: true });
        return;
      } catch (e) {
        if (e.status === 401) fail('Invalid username or password.');
        else if (e.status === 429) fail(`Too many failed attempts. Try again${e.retryAfter ? ` in ${plural(e.retryAfter, 'second')}` : ' later'}.`);
        else if (e.status === 404) { await loadSession().catch(() => {}); if (session.mode) return navigate(next, { replace: true }); fail('This server does not support signing in.'); }
        else fail(e.message);
        pass.value = '';
        pass.focus();
      }
      submit.disabled = false;
      submit.textContent = 'Sign in';
    },
  },
  field('Username', user),
  field('Password', pass),
  errorBox,
  submit);

  ctx.view.replaceChildren(h('div', { class: 'login' },
    h('div', { class: 'login-card' },
      h('div', { class: 'login-brand' }, icon('logo', 'brand-mark'), h('span', null, 'VectaDB')),
      h('h1', null, 'Sign in'),
      h('p', { class: 'muted' }, 'Observability for your LLM agents.'),
      form)));
  user.focus();
}

/* --------------------------------------------------------------- agents */

let serverFiltersAgents = true; // false once the server rejects `q`

async function listAgents({ q, limit, offset }) {
  if (!q) return get('/agents', { limit, offset });
  if (serverFiltersAgents) {
    try {
      return await get('/agents', { q, limit, offset });
    } catch (e) {
      if (!(e.status === 400 && e.field === 'q')) throw e;
      serverFiltersAgents = false;
    }
  }
  // Older servers: filter the full list here.
  const all = [];
  for (let off = 0; off < 20000; off += 1000) {
    const page = await get('/agents', { limit: 1000, offset: off });
    all.push(...page.items);
    if (all.length >= page.total || !page.items.length) break;
  }
  const needle = q.toLowerCase();
  const hits = all.filter((a) => a.role.toLowerCase().includes(needle) || a.goal.toLowerCase().includes(needle));
  return { items: hits.slice(offset, offset + limit), total: hits.length, limit, offset };
}

function intParam(query, key, def, min, max) {
  const n = Number.parseInt(query.get(key), 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : def;
}

async function viewAgents(ctx) {
  document.title = 'Agents · VectaDB';
  const state = {
    q: ctx.query.get('q') || '',
    limit: intParam(ctx.query, 'limit', 25, 1, 1000),
    offset: intParam(ctx.query, 'offset', 0, 0, 1e9),
  };
  const count = h('span', { class: 'count-chip', hidden: true });
  const filter = h('input', {
    type: 'search', class: 'input input-search', id: 'agent-filter', value: state.q, 'data-hotkey': true,
    placeholder: 'Filter by role or goal…', 'aria-label': 'Filter agents by role or goal', autocomplete: 'off',
  });
  const tbody = h('tbody');
  const footer = h('div', { class: 'table-foot' });
  const table = h('div', { class: 'card table-card' },
    h('table', { class: 'table table-agents', id: 'agents-table' },
      h('thead', null, h('tr', null, h('th', { class: 'col-role' }, 'Role'), h('th', null, 'Goal'), h('th', { class: 'col-id' }, 'ID'), h('th', { class: 'col-time' }, 'Created'))),
      tbody),
    footer);

  ctx.view.replaceChildren(
    pageHeader({ title: h('span', null, 'Agents ', count), subtitle: 'Every agent that has reported to this VectaDB server, newest first.' }),
    h('div', { class: 'toolbar' }, h('div', { class: 'search-box' }, icon('search'), filter)),
    table);

  const load = async () => {
    const alive = ctx.latest('agents');
    setQuery({ q: state.q, limit: state.limit === 25 ? '' : state.limit, offset: state.offset || '' });
    tbody.setAttribute('aria-busy', 'true');
    if (!tbody.children.length) tbody.replaceChildren(...skeletonRows(6, 4));
    let page;
    try {
      page = await listAgents(state);
    } catch (e) {
      if (!alive() || e.redirected) return;
      tbody.removeAttribute('aria-busy');
      tbody.replaceChildren(h('tr', null, h('td', { colspan: 4 }, errorState(e, load))));
      footer.replaceChildren();
      return;
    }
    if (!alive()) return;
    tbody.removeAttribute('aria-busy');
    count.hidden = false;
    count.textContent = fmtNum(page.total);
    if (!page.items.length && state.offset && page.total) { state.offset = 0; return load(); }
    tbody.replaceChildren(...(page.items.length ? page.items.map(agentRow) : [h('tr', null, h('td', { colspan: 4 },
      state.q
        ? emptyState(`No agents match “${state.q}”`, 'The filter looks for the text in each agent’s role and goal.',
          h('button', { type: 'button', class: 'btn', onClick: () => { filter.value = ''; state.q = ''; state.offset = 0; load(); } }, 'Clear filter'))
        : emptyState('No agents yet', 'Agents appear here as soon as they are created through the API (POST /api/v1/agents) or arrive over OTLP.')))]));
    footer.replaceChildren(pager({ ...page, limit: state.limit, offset: state.offset, onChange: ({ limit, offset }) => { Object.assign(state, { limit, offset }); load(); } }));
  };

  const onFilter = debounce(() => {
    if (filter.value.trim() === state.q) return;
    state.q = filter.value.trim();
    state.offset = 0;
    load();
  }, 250);
  filter.addEventListener('input', onFilter);
  filter.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); onFilter(); } });
  await load();
}

function agentRow(agent) {
  const href = `/ui/agents/${encodeURIComponent(agent.id)}`;
  return h('tr', {
    class: 'row-link', dataset: { id: agent.id },
    onClick: (ev) => { if (!ev.target.closest('a, button') && !getSelection().toString()) navigate(href); },
  },
  h('td', { class: 'col-role' }, h('a', { href, class: 'strong' }, agent.role)),
  h('td', { class: 'col-goal' }, h('span', { class: 'clamp-2' }, agent.goal)),
  h('td', { class: 'col-id' }, idChip(agent.id)),
  h('td', { class: 'col-time' }, time(agent.created_at, fmtAgo(agent.created_at))));
}

/* ---------------------------------------------------------------- agent */

async function viewAgent(ctx) {
  const [id] = ctx.params;
  document.title = 'Agent · VectaDB';
  ctx.view.replaceChildren(
    pageHeader({ title: h('span', { class: 'skel skel-title' }), crumbs: [h('a', { href: '/ui/agents' }, 'Agents')] }),
    loadingBlock('Loading trace…'));
  let trace;
  try {
    trace = await get(`/traces/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!ctx.alive() || e.redirected) return;
    if (e.status === 404) {
      ctx.view.replaceChildren(pageHeader({ title: 'Agent not found', crumbs: [h('a', { href: '/ui/agents' }, 'Agents')] }),
        emptyState(`There is no agent with id “${id}”.`, 'It may have been deleted.', h('a', { class: 'btn', href: '/ui/agents' }, 'Back to agents')));
      return;
    }
    throw e;
  }
  if (!ctx.alive()) return;
  const { agent } = trace;
  agentCache.set(agent.id, Promise.resolve(agent));
  document.title = `${agent.role} · VectaDB`;

  // The trace is bounded: each list holds its first page and, when cut
  // short, a cursor that "Load more" follows.
  const tasks = trace.tasks || [];
  const looseThoughts = trace.thoughts || [];
  const looseLogs = trace.logs || [];
  const allLogs = [...looseLogs, ...tasks.flatMap((t) => t.logs || [])];
  const allThoughts = [...looseThoughts, ...tasks.flatMap((t) => t.thoughts || [])];
  const moreLogs = trace.logs_next_cursor || tasks.some((t) => t.logs_next_cursor);
  const moreThoughts = trace.thoughts_next_cursor || tasks.some((t) => t.thoughts_next_cursor);
  const errors = allLogs.filter((l) => ERROR_LEVELS.has(l.level)).length;
  const failed = tasks.filter((t) => t.status === 'failed').length;
  const scores = allLogs.map((l) => l.anomaly_score).filter(Number.isFinite);
  const atLeast = (n, more) => (more ? `${fmtNum(n)}+` : n);
  const taskList = h('div', { class: 'trace', id: 'trace' }, tasks.map((t) => taskCard(agent.id, t)));
  let tasksCursor = trace.tasks_next_cursor;
  const moreTasks = tasksCursor ? h('button', {
    type: 'button', class: 'btn btn-sm load-more', id: 'more-tasks',
    onClick: async () => {
      moreTasks.disabled = true;
      try {
        const page = await get(`/traces/${encodeURIComponent(agent.id)}`, { tasks_cursor: tasksCursor });
        taskList.append(...(page.tasks || []).map((t) => taskCard(agent.id, t)));
        tasksCursor = page.tasks_next_cursor;
        if (tasksCursor) moreTasks.disabled = false; else moreTasks.remove();
      } catch (e) {
        moreTasks.disabled = false;
        toast(`Could not load more tasks: ${e.message}`, 'warn');
      }
    },
  }, 'Load more tasks') : null;

  const meta = Object.entries(agent.metadata || {});
  mount(ctx.view,
    pageHeader({
      title: agent.role,
      crumbs: [h('a', { href: '/ui/agents' }, 'Agents'), h('span', null, agent.role)],
      subtitle: agent.goal,
      actions: h('a', { class: 'btn', href: `/ui/logs${queryString({ agent_id: agent.id })}` }, icon('logs'), 'Logs'),
    }),
    h('section', { class: 'card agent-head' },
      h('dl', { class: 'props' },
        h('div', null, h('dt', null, 'ID'), h('dd', null, idChip(agent.id))),
        h('div', null, h('dt', null, 'Created'), h('dd', null, time(agent.created_at))),
        h('div', null, h('dt', null, 'Updated'), h('dd', null, time(agent.updated_at))),
        meta.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, metaValue(v))))),
      h('div', { class: 'stats stats-inline' },
        stat('Tasks', atLeast(tasks.length, tasksCursor), failed ? `${failed} failed` : null, failed ? 'is-error' : null),
        stat('Thoughts', atLeast(allThoughts.length, moreThoughts)),
        stat('Logs', atLeast(allLogs.length, moreLogs)),
        stat('Errors', errors, null, errors ? 'is-error' : null),
        stat('Max anomaly', scores.length ? Math.max(...scores).toFixed(2) : '—', null, scores.some((s) => s >= HIGH_ANOMALY) ? 'is-warn' : null))),
    h('h2', { class: 'section-title' }, 'Trace', h('span', { class: 'muted' }, ` · ${tasksCursor ? `${fmtNum(tasks.length)}+ tasks` : plural(tasks.length, 'task')}`)),
    tasks.length ? [taskList, moreTasks]
      : emptyState('No tasks yet', 'This agent has not run any task.'),
    (looseThoughts.length || looseLogs.length) ? [
      h('h2', { class: 'section-title' }, 'Outside any task'),
      h('section', { class: 'card task-card task-loose', id: 'loose' }, traceBody(agent.id, null, trace, { skipEmpty: true })),
    ] : null);
  revealHash();
}

// {"a": 1, "b": "x"} -> "a=1 b=x" for compact display next to a log message.
function metaText(metadata) {
  return Object.entries(metadata).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('  ');
}

function metaValue(v) {
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return h('span', { class: 'chips' }, v.map((x) => h('span', { class: 'chip' }, String(x))));
  if (v !== null && typeof v === 'object') return h('code', { class: 'mono' }, JSON.stringify(v));
  return String(v);
}

function stat(label, value, note, cls) {
  return h('div', { class: `stat ${cls || ''}` },
    h('span', { class: 'stat-label' }, label),
    h('span', { class: 'stat-value' }, typeof value === 'number' ? fmtNum(value) : value),
    note && h('span', { class: 'stat-note' }, note));
}

function taskCard(agentId, task) {
  const logs = task.logs || [];
  const hasErrors = logs.some((l) => ERROR_LEVELS.has(l.level));
  const start = task.started_at || task.created_at;
  const took = task.completed_at ? new Date(task.completed_at) - new Date(start) : null;
  const timing = task.completed_at ? `took ${fmtDuration(took)}`
    : task.status === 'running' ? `running for ${fmtDuration(Date.now() - new Date(start))}` : 'not started';
  const io = [['Input', task.input], ['Output', task.output]].filter(([, v]) => v != null);
  const cls = ['card', 'task-card', `task-${task.status}`, task.status === 'failed' ? 'is-error' : '', hasErrors ? 'has-errors' : ''].join(' ');
  return h('section', { class: cls, id: `task-${task.id}`, dataset: { id: task.id } },
    h('header', { class: 'task-head' },
      statusBadge(task.status),
      h('h3', { class: 'task-desc' }, task.description),
      h('div', { class: 'task-meta' },
        time(start, fmtDate(start)),
        h('span', { class: task.status === 'failed' ? 'text-error' : '' }, timing),
        idChip(task.id))),
    io.length ? h('details', { class: 'task-io' },
      h('summary', null, io.map(([k]) => k).join(' & ')),
      h('div', { class: 'io-grid' }, io.map(([k, v]) => h('div', null, h('span', { class: 'field-label' }, k), h('pre', { class: 'code' }, json(v)))))) : null,
    traceBody(agentId, task.id, task));
}

// Two columns: the chain of thought in step order and the logs in time
// order, as the trace gives them (`node`: a task, or the agent outside
// tasks), each with "Load more" while the trace's cursor says more follow.
function traceBody(agentId, taskId, node, { skipEmpty = false } = {}) {
  const thoughts = node.thoughts || [];
  const logs = node.logs || [];
  const byId = new Map(thoughts.map((t) => [t.id, t]));
  const cols = [
    ['Chain of thought', 'thoughts', thoughts, node.thoughts_next_cursor, thoughtItem, 'No thoughts recorded.'],
    ['Logs', 'logs', logs, node.logs_next_cursor, (l) => logItem(l, byId), 'No logs recorded.'],
  ].filter(([, , items]) => items.length || !skipEmpty);
  return h('div', { class: `trace-body${cols.length === 1 ? ' is-single' : ''}` }, cols.map(([title, kind, items, cursor, render, none]) => {
    let shown = items.length;
    let next = cursor;
    const count = h('span', { class: 'muted' }, ` ${shown}${next ? '+' : ''}`);
    const list = h('ol', { class: kind === 'logs' ? 'timeline' : 'thoughts' }, items.map(render));
    const more = next ? h('button', {
      type: 'button', class: 'btn btn-sm load-more', dataset: { more: kind },
      onClick: async () => {
        more.disabled = true;
        try {
          const page = await get(`/traces/${encodeURIComponent(agentId)}/${kind}`, { task_id: taskId, cursor: next, limit: 50 });
          const added = page.items || [];
          if (kind === 'thoughts') for (const t of added) byId.set(t.id, t);
          list.append(...added.map(render));
          shown += added.length;
          next = page.next_cursor;
          count.textContent = ` ${shown}${next ? '+' : ''}`;
          if (next) more.disabled = false; else more.remove();
        } catch (e) {
          more.disabled = false;
          toast(`Could not load more ${kind}: ${e.message}`, 'warn');
        }
      },
    }, `Load more ${kind}`) : null;
    return h('div', { class: 'trace-col' },
      h('h4', { class: 'col-title' }, title, count),
      items.length ? [list, more] : h('p', { class: 'muted small' }, none));
  }));
}

function thoughtItem(t) {
  return h('li', { class: 'thought', id: `thought-${t.id}`, dataset: { step: t.step, kind: t.kind } },
    h('span', { class: 'step', title: `Step ${t.step}` }, String(t.step)),
    h('div', { class: 'thought-body' },
      h('div', { class: 'thought-head' }, kindBadge(t.kind), time(t.created_at, fmtClock(t.created_at))),
      h('p', { class: 'thought-content' }, t.content)));
}

function logItem(log, thoughtsById) {
  const isErr = ERROR_LEVELS.has(log.level);
  const anomalous = log.anomaly_score >= HIGH_ANOMALY;
  const thought = log.thought_id && thoughtsById.get(log.thought_id);
  const metadata = Object.keys(log.metadata || {}).length ? log.metadata : null;
  return h('li', { class: `log-item lvl-row-${log.level}${isErr ? ' is-error' : ''}${anomalous ? ' is-anomalous' : ''}`, id: `log-${log.id}`, dataset: { level: log.level } },
    h('span', { class: 'log-time mono' }, time(log.timestamp, fmtClock(log.timestamp))),
    levelBadge(log.level),
    h('div', { class: 'log-main' },
      h('span', { class: 'log-message' }, log.message),
      thought && h('a', { class: 'log-ref', href: `#thought-${thought.id}` }, `↳ step ${thought.step}`),
      metadata && h('code', { class: 'log-meta mono' }, metaText(metadata))),
    scoreBar(log.anomaly_score));
}

/* --------------------------------------------------------------- search */

const KINDS = { agents: 'Agents', tasks: 'Tasks', logs: 'Logs', thoughts: 'Thoughts' };
// How logs and thoughts are searched; agents and tasks by meaning only.
const MODES = { semantic: 'Meaning', text: 'Words', hybrid: 'Both' };
const TEXT_KINDS = new Set(['logs', 'thoughts']);
const SCORE_NAMES = { semantic: 'Cosine similarity', text: 'BM25 score', hybrid: 'Reciprocal rank fusion score' };

async function viewSearch(ctx) {
  document.title = 'Search · VectaDB';
  const state = {
    q: ctx.query.get('q') || '',
    kind: KINDS[ctx.query.get('kind')] ? ctx.query.get('kind') : 'agents',
    mode: MODES[ctx.query.get('mode')] ? ctx.query.get('mode') : 'semantic',
    threshold: Math.min(1, Math.max(0, Number.parseFloat(ctx.query.get('threshold')) || 0.3)),
    limit: intParam(ctx.query, 'limit', 10, 1, 100),
  };
  const input = h('input', {
    type: 'search', class: 'input input-lg', id: 'search-query', value: state.q, 'data-hotkey': true, autocomplete: 'off',
    placeholder: 'Describe what you are looking for, or type words, "a phrase" or a prefix*', 'aria-label': 'Search query',
  });
  const kinds = h('fieldset', { class: 'segmented' }, h('legend', { class: 'sr-only' }, 'Search in'),
    Object.entries(KINDS).map(([k, label]) => h('label', null,
      h('input', { type: 'radio', name: 'kind', value: k, checked: k === state.kind }), h('span', null, label))));
  const mode = h('select', { class: 'input', id: 'search-mode', value: state.mode, title: 'Logs and thoughts: by meaning, by words (full text) or both' },
    Object.entries(MODES).map(([m, label]) => h('option', { value: m, selected: m === state.mode }, label)));
  const threshold = h('input', { type: 'number', class: 'input input-num', id: 'search-threshold', min: 0, max: 1, step: 0.05, value: String(state.threshold) });
  const limit = h('select', { class: 'input', id: 'search-limit', value: String(state.limit) }, [5, 10, 25, 50, 100].map((n) => h('option', { value: String(n) }, String(n))));
  const results = h('div', { class: 'results', id: 'search-results', 'aria-live': 'polite' });
  // The mode applies to logs and thoughts; the threshold to meaning.
  const sync = () => {
    const kind = new FormData(form).get('kind');
    mode.disabled = !TEXT_KINDS.has(kind);
    threshold.disabled = TEXT_KINDS.has(kind) && mode.value === 'text';
  };

  const form = h('form', {
    class: 'card search-form', role: 'search',
    onSubmit: (ev) => {
      ev.preventDefault();
      state.q = input.value.trim();
      state.kind = new FormData(form).get('kind');
      state.mode = TEXT_KINDS.has(state.kind) ? mode.value : 'semantic';
      state.threshold = Math.min(1, Math.max(0, Number.parseFloat(threshold.value) || 0));
      state.limit = Number(limit.value);
      setQuery({ kind: state.kind, q: state.q, mode: state.mode === 'semantic' ? '' : state.mode, threshold: state.threshold, limit: state.limit }, { push: true });
      run();
    },
  },
  h('div', { class: 'search-row' }, h('div', { class: 'search-box search-box-lg' }, icon('search'), input), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search')),
  h('div', { class: 'search-opts' }, kinds, field('Match by', mode), field('Min. similarity', threshold), field('Results', limit)));

  kinds.addEventListener('change', () => { sync(); if (input.value.trim()) form.requestSubmit(); });
  mode.addEventListener('change', () => { sync(); if (input.value.trim()) form.requestSubmit(); });
  sync();

  ctx.view.replaceChildren(
    pageHeader({ title: 'Search', subtitle: 'Find agents, tasks, logs and thoughts by meaning; logs and thoughts also by words, phrases and prefixes.' }),
    form, results);

  const run = async () => {
    const alive = ctx.latest('search');
    if (!state.q) {
      results.replaceChildren(emptyState('Search by meaning or by words', 'Type a description and pick what to search. Meaning ranks by cosine similarity of embeddings; Words (logs and thoughts) ranks exact words, "phrases" and prefixes* by BM25; Both fuses the two.'));
      return;
    }
    results.replaceChildren(loadingBlock('Searching…'));
    const body = { query: state.q, limit: state.limit };
    if (state.mode !== 'text') body.threshold = state.threshold;
    if (state.mode !== 'semantic') body.mode = state.mode;
    let res;
    try {
      res = await post(`/similar/${state.kind}`, body);
    } catch (e) {
      if (alive() && !e.redirected) results.replaceChildren(errorState(e, run));
      return;
    }
    if (!alive()) return;
    const items = res.results || [];
    const lazy = TEXT_KINDS.has(state.kind);
    const top = Math.max(...items.map((r) => r.similarity || 0), 1e-9);
    const scale = state.mode === 'semantic' ? 1 : top;
    results.replaceChildren(items.length
      ? h('div', null,
        h('p', { class: 'results-info muted' }, `${plural(items.length, 'result')} for “${state.q}” in ${KINDS[state.kind].toLowerCase()}${state.mode === 'semantic' ? '' : ` (${MODES[state.mode].toLowerCase()})`}`),
        h('ol', { class: 'result-list' }, items.map((r) => resultItem(state.kind, r, state.mode, scale))))
      : emptyState(state.mode === 'text' ? `No ${state.kind} contain “${state.q}”` : `No ${state.kind} with similarity ≥ ${state.threshold}`,
        `${state.mode === 'text' ? 'Every word must occur; try fewer words or a prefix*.' : 'Try lowering the minimum similarity or rephrasing.'}${lazy ? ' Logs and thoughts are indexed in the background, so very recent ones may not be searchable yet.' : ''}`));
  };
  await run();
}

/** A result card; `scale` is the score shown as a full bar (1 for cosine). */
function resultItem(kind, r, mode = 'semantic', scale = 1) {
  const score = r.similarity;
  const scoreEl = h('div', { class: 'result-score', title: `${SCORE_NAMES[mode]} ${score?.toFixed(4)}` },
    h('span', { class: 'score-value' }, Number.isFinite(score) ? score.toFixed(mode === 'hybrid' ? 4 : 3) : '—'),
    h('span', { class: 'score-track' }, h('span', { class: 'score-fill', style: { width: `${Math.max(0, Math.min(1, (score || 0) / scale)) * 100}%` } })));
  let title; let sub; let meta;
  const agentId = kind === 'agents' ? r.id : r.agent_id;
  const anchor = { tasks: `#task-${r.id}`, logs: `#log-${r.id}`, thoughts: `#thought-${r.id}` }[kind] || '';
  const href = `/ui/agents/${encodeURIComponent(agentId)}${anchor}`;
  if (kind === 'agents') {
    title = r.role; sub = r.goal; meta = [idChip(r.id), time(r.created_at, `created ${fmtAgo(r.created_at)}`)];
  } else if (kind === 'tasks') {
    title = r.description; meta = [statusBadge(r.status), agentLink(r.agent_id), time(r.created_at, fmtAgo(r.created_at))];
  } else if (kind === 'logs') {
    title = r.message; meta = [levelBadge(r.level), agentLink(r.agent_id), time(r.timestamp, fmtDate(r.timestamp))];
  } else {
    title = r.content; meta = [kindBadge(r.kind), h('span', { class: 'muted' }, `step ${r.step}`), agentLink(r.agent_id), time(r.created_at, fmtAgo(r.created_at))];
  }
  return h('li', { class: `card result result-${kind}`, dataset: { id: r.id } },
    scoreEl,
    h('div', { class: 'result-main' },
      h('a', { class: 'result-title', href }, title),
      sub && h('p', { class: 'result-sub' }, sub),
      h('div', { class: 'result-meta' }, meta)));
}

/* ----------------------------------------------------------------- logs */

function toInputTime(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromInputTime(v) {
  const d = new Date(v);
  return v && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
}

async function viewLogs(ctx) {
  document.title = 'Logs · VectaDB';
  const q = ctx.query;
  const state = {
    agent_id: q.get('agent_id') || '',
    task_id: q.get('task_id') || '',
    level: LEVELS.includes(q.get('level')) ? q.get('level') : '',
    since: q.get('since') || '',
    until: q.get('until') || '',
    order: q.get('order') === 'asc' ? 'asc' : 'desc',
    limit: intParam(q, 'limit', 50, 1, 1000),
    // Keyset paging: the current page's cursor ('' for the first page) and
    // the cursors of the pages before it (for Prev).
    cursor: q.get('cursor') || '',
    back: [],
  };
  const agent = h('input', { class: 'input mono', id: 'logs-agent', name: 'agent_id', value: state.agent_id, placeholder: 'any', autocomplete: 'off', spellcheck: 'false' });
  const level = h('select', { class: 'input', id: 'logs-level', name: 'level', value: state.level },
    h('option', { value: '' }, 'Any level'), LEVELS.map((l) => h('option', { value: l }, l)));
  const since = h('input', { class: 'input', id: 'logs-since', type: 'datetime-local', value: toInputTime(state.since) });
  const until = h('input', { class: 'input', id: 'logs-until', type: 'datetime-local', value: toInputTime(state.until) });
  const order = h('select', { class: 'input', id: 'logs-order', value: state.order },
    h('option', { value: 'desc' }, 'Newest first'), h('option', { value: 'asc' }, 'Oldest first'));
  const tbody = h('tbody');
  const footer = h('div', { class: 'table-foot' });
  const anomalies = h('div', { class: 'anomaly-list', id: 'anomalies' }, loadingBlock());
  const count = h('span', { class: 'count-chip', hidden: true });

  const form = h('form', {
    class: 'filters', id: 'logs-filters',
    onSubmit: (ev) => {
      ev.preventDefault();
      Object.assign(state, {
        agent_id: agent.value.trim(), level: level.value, order: order.value,
        since: fromInputTime(since.value), until: fromInputTime(until.value), cursor: '', back: [],
      });
      reload(true);
    },
  },
  field('Agent ID', agent), field('Level', level), field('Since', since), field('Until', until), field('Order', order),
  h('div', { class: 'filter-actions' },
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
    h('a', { class: 'btn btn-ghost', href: '/ui/logs' }, 'Reset')));
  level.addEventListener('change', () => form.requestSubmit());
  order.addEventListener('change', () => form.requestSubmit());

  ctx.view.replaceChildren(
    pageHeader({ title: h('span', null, 'Logs ', count), subtitle: 'Everything your agents logged. Times are shown in your local time zone.' }),
    form,
    h('div', { class: 'split' },
      h('div', { class: 'card table-card' },
        h('table', { class: 'table table-logs', id: 'logs-table' },
          h('thead', null, h('tr', null, ['Time', 'Level', 'Message', 'Agent', 'Anomaly'].map((c) => h('th', { class: `col-${c.toLowerCase()}` }, c)))),
          tbody),
        footer),
      h('aside', { class: 'card side-panel' },
        h('h2', { class: 'panel-title' }, icon('alert'), 'Top anomalies'),
        h('p', { class: 'muted small' }, 'Logs the anomaly detector scored as least like the rest.'),
        anomalies)));

  const filters = () => ({ agent_id: state.agent_id, task_id: state.task_id, level: state.level, since: state.since, until: state.until });

  const loadPage = async () => {
    const alive = ctx.latest('logs');
    tbody.setAttribute('aria-busy', 'true');
    if (!tbody.children.length) tbody.replaceChildren(...skeletonRows(8, 5));
    let items; let total; let next; let estimated;
    try {
      ({ items, total, next_cursor: next, total_estimated: estimated } = await get('/logs', { ...filters(), order: state.order, limit: state.limit, cursor: state.cursor }));
    } catch (e) {
      if (!alive() || e.redirected) return;
      tbody.removeAttribute('aria-busy');
      tbody.replaceChildren(h('tr', null, h('td', { colspan: 5 }, errorState(e, loadPage))));
      footer.replaceChildren();
      return;
    }
    if (!alive()) return;
    tbody.removeAttribute('aria-busy');
    count.hidden = false;
    count.textContent = fmtNum(total);
    const filtered = Object.values(filters()).some(Boolean);
    tbody.replaceChildren(...(items.length ? items.map(logRow) : [h('tr', null, h('td', { colspan: 5 },
      filtered ? emptyState('No logs match these filters', 'Widen the time range or clear a filter.', h('a', { class: 'btn', href: '/ui/logs' }, 'Clear filters'))
        : emptyState('No logs yet', 'Logs sent with POST /api/v1/logs or over OTLP show up here.')))]));
    footer.replaceChildren(cursorPager({
      total, estimated, limit: state.limit, position: state.back.length * state.limit, shown: items.length,
      onPrev: state.back.length ? () => { state.cursor = state.back.pop(); reload(true, false); } : null,
      onNext: next ? () => { state.back.push(state.cursor); state.cursor = next; reload(true, false); } : null,
      onLimit: (limit) => { Object.assign(state, { limit, cursor: '', back: [] }); reload(true, false); },
    }));
  };

  const loadAnomalies = async () => {
    const alive = ctx.latest('anomalies');
    try {
      const res = await get('/anomalies', { agent_id: state.agent_id, since: state.since, limit: 8 });
      if (!alive()) return;
      const items = res.items || [];
      anomalies.replaceChildren(items.length ? h('ol', null, items.map(anomalyItem))
        : emptyState('Nothing unusual', 'No scored logs for these filters yet.'));
    } catch (e) {
      if (!alive() || e.redirected) return;
      anomalies.replaceChildren(e.status === 404
        ? emptyState('Not available', 'This server does not score log anomalies.')
        : errorState(e, loadAnomalies));
    }
  };

  const reload = (push = false, anomaliesToo = true) => {
    setQuery({ ...filters(), order: state.order === 'desc' ? '' : 'asc', limit: state.limit === 50 ? '' : state.limit, cursor: state.cursor }, { push });
    return Promise.all([loadPage(), anomaliesToo && loadAnomalies()]);
  };
  await reload();
}

function logRow(log) {
  const isErr = ERROR_LEVELS.has(log.level);
  const anomalous = log.anomaly_score >= HIGH_ANOMALY;
  return h('tr', { class: `log-row lvl-row-${log.level}${isErr ? ' is-error' : ''}${anomalous ? ' is-anomalous' : ''}`, dataset: { id: log.id, level: log.level } },
    h('td', { class: 'col-time' }, time(log.timestamp, [h('span', { class: 'mono' }, fmtClock(log.timestamp)), h('span', { class: 'log-date' }, fmtDate(log.timestamp).slice(0, 10))])),
    h('td', { class: 'col-level' }, levelBadge(log.level)),
    h('td', { class: 'col-message' }, h('div', { class: 'log-main' },
      h('a', { class: 'log-message', href: `/ui/agents/${encodeURIComponent(log.agent_id)}#log-${log.id}` }, log.message),
      Object.keys(log.metadata || {}).length ? h('code', { class: 'log-meta mono' }, metaText(log.metadata)) : null)),
    h('td', { class: 'col-agent' }, agentLink(log.agent_id)),
    h('td', { class: 'col-anomaly' }, scoreBar(log.anomaly_score)));
}

function anomalyItem(log) {
  return h('li', { class: `anomaly${log.anomaly_score >= HIGH_ANOMALY ? ' is-high' : ''}` },
    scoreBar(log.anomaly_score),
    h('a', { class: 'anomaly-msg', href: `/ui/agents/${encodeURIComponent(log.agent_id)}#log-${log.id}` }, log.message),
    h('div', { class: 'anomaly-meta' }, levelBadge(log.level), agentLink(log.agent_id), time(log.timestamp, fmtAgo(log.timestamp))));
}

/* -------------------------------------------------------------- metrics */

function parseProm(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    const raw = m[3];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

const series = (samples, name) => samples.filter((s) => s.name === name);
const total = (list) => list.reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0);

// Cumulative histogram buckets summed over all series -> [[le, count]] ascending.
function buckets(samples, name) {
  const byLe = new Map();
  for (const s of series(samples, name)) {
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) || 0) + s.value);
  }
  return [...byLe].sort((a, b) => a[0] - b[0]);
}

function quantile(bk, q) {
  const n = bk.length ? bk[bk.length - 1][1] : 0;
  if (!n) return null;
  let prevLe = 0; let prevCount = 0;
  for (const [le, count] of bk) {
    if (count >= q * n) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + (le - prevLe) * ((q * n - prevCount) / Math.max(count - prevCount, 1e-9));
    }
    prevLe = le; prevCount = count;
  }
  return prevLe;
}

// Singular and plural labels are both accepted (agent / agents).
function byLabel(list, label) {
  const out = {};
  for (const s of list) {
    const k = (s.labels[label] || '').replace(/s$/, '');
    out[k] = (out[k] || 0) + s.value;
  }
  return out;
}

async function viewMetrics(ctx) {
  document.title = 'Metrics · VectaDB';
  const updated = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const body = h('div', { class: 'metrics', id: 'metrics' }, loadingBlock('Reading metrics…'));
  const refresh = h('button', { type: 'button', class: 'btn', onClick: () => load() }, icon('refresh'), 'Refresh');
  ctx.view.replaceChildren(
    pageHeader({ title: 'Metrics', subtitle: 'Live overview of this server, from /metrics and /health. Refreshes every 15 seconds.', actions: [updated, refresh] }),
    body);

  const load = async () => {
    const alive = ctx.latest('metrics');
    refresh.disabled = true;
    const [prom, health] = await Promise.allSettled([
      request('GET', '/metrics', { text: true, anonymous: true }),
      fetch('/health', { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then((r) => r.json()),
    ]);
    refresh.disabled = false;
    if (!alive()) return;
    if (prom.status === 'rejected') {
      body.replaceChildren(errorState(prom.reason, load));
      return;
    }
    body.replaceChildren(...metricsPanels(parseProm(prom.value), health.status === 'fulfilled' ? health.value : null));
    updated.textContent = `Updated ${fmtClock(new Date().toISOString()).slice(0, 8)}`;
  };
  const timer = setInterval(() => { if (!document.hidden) load(); }, 15000);
  ctx.onLeave(() => clearInterval(timer));
  await load();
}

function metricsPanels(samples, health) {
  const docs = byLabel(series(samples, 'vectadb_documents'), 'kind');
  const vecs = byLabel(series(samples, 'vectadb_vectors'), 'collection');
  const reqs = series(samples, 'vectadb_http_requests_total');
  const reqTotal = total(reqs);
  const reqErrors = total(reqs.filter((s) => Number(s.labels.status) >= 500));
  const p95 = quantile(buckets(samples, 'vectadb_http_request_duration_seconds_bucket'), 0.95);
  const backlogSample = series(samples, 'vectadb_embed_backlog')[0];
  const backlog = backlogSample ? backlogSample.value : health?.embedding_backlog;
  const ingested = byLabel(series(samples, 'vectadb_logs_ingested_total'), 'level');
  const anomalyCount = total(series(samples, 'vectadb_log_anomaly_score_count'));
  const anomalySum = total(series(samples, 'vectadb_log_anomaly_score_sum'));
  const has = (name) => samples.some((s) => s.name === name);

  const docCards = ['agent', 'task', 'thought', 'log'].map((k) => stat(`${k[0].toUpperCase()}${k.slice(1)}s`,
    docs[k] ?? '—', vecs[k] != null ? `${fmtNum(vecs[k])} vectors` : null));
  const opCards = [
    stat('HTTP requests', reqTotal, `${fmtNum(reqErrors)} server errors`),
    stat('Error rate', reqTotal ? `${(100 * reqErrors / reqTotal).toFixed(reqErrors ? 2 : 0)}%` : '—', '5xx responses', reqErrors ? 'is-error' : null),
    stat('Latency p95', fmtSeconds(p95), 'approx., from buckets'),
    stat('Embedding backlog', backlog ?? '—', 'logs & thoughts waiting', backlog > 100 ? 'is-warn' : null),
  ];

  // Logs by level.
  const maxLevel = Math.max(1, ...LEVELS.map((l) => ingested[l] || 0));
  const levelPanel = panel('Logs ingested by level', has('vectadb_logs_ingested_total')
    ? h('ul', { class: 'bars' }, LEVELS.map((l) => h('li', null,
      levelBadge(l),
      h('span', { class: 'bar-track' }, h('span', { class: `bar-fill lvl-fill-${l}`, style: { width: `${100 * (ingested[l] || 0) / maxLevel}%` } })),
      h('span', { class: 'bar-value' }, fmtNum(ingested[l] || 0)))))
    : emptyState('No data', 'Nothing ingested since the server started.'));

  // Anomaly score distribution.
  const bk = buckets(samples, 'vectadb_log_anomaly_score_bucket').filter(([le]) => Number.isFinite(le));
  let prev = 0;
  const dist = bk.map(([le, c]) => { const d = c - prev; prev = c; return [le, d]; });
  const maxD = Math.max(1, ...dist.map(([, d]) => d));
  const anomalyPanel = panel('Log anomaly scores', anomalyCount
    ? h('div', null,
      h('p', { class: 'muted small' }, `${plural(anomalyCount, 'log')} scored · mean ${(anomalySum / anomalyCount).toFixed(3)}`),
      h('div', { class: 'histogram', role: 'img', 'aria-label': 'Anomaly score distribution' }, dist.map(([le, d]) => h('div', { class: `hist-col${le > HIGH_ANOMALY ? ' is-high' : ''}`, title: `≤ ${le}: ${fmtNum(d)}` },
        h('span', { class: 'hist-bar', style: { height: `${100 * d / maxD}%` } }), h('span', { class: 'hist-label' }, String(le))))))
    : emptyState('No scores yet', has('vectadb_log_anomaly_score_count') ? 'Logs are scored in the background once ingested.' : 'This server does not export anomaly scores.'));

  // Requests by route.
  const routesAgg = new Map();
  for (const s of reqs) {
    const key = `${s.labels.method || ''} ${s.labels.route || ''}`;
    const r = routesAgg.get(key) || { method: s.labels.method, route: s.labels.route, n: 0, err: 0 };
    r.n += s.value;
    if (Number(s.labels.status) >= 500) r.err += s.value;
    routesAgg.set(key, r);
  }
  const top = [...routesAgg.values()].sort((a, b) => b.n - a.n).slice(0, 8);
  const routePanel = panel('Busiest routes', top.length
    ? h('table', { class: 'table table-compact' },
      h('thead', null, h('tr', null, h('th', null, 'Route'), h('th', { class: 'num' }, 'Requests'), h('th', { class: 'num' }, '5xx'))),
      h('tbody', null, top.map((r) => h('tr', null,
        h('td', null, h('span', { class: 'method' }, r.method), ' ', h('span', { class: 'mono' }, r.route)),
        h('td', { class: 'num' }, fmtNum(r.n)),
        h('td', { class: `num${r.err ? ' text-error' : ''}` }, fmtNum(r.err))))))
    : emptyState('No requests yet'));

  // Component health.
  const comps = Object.entries(health?.components || {});
  const healthPanel = panel('Component health', health
    ? h('ul', { class: 'health' },
      h('li', { class: `health-${health.status === 'ok' ? 'up' : 'down'}` }, h('span', { class: 'dot' }), h('span', { class: 'strong' }, 'Server'), h('span', { class: 'muted' }, health.status)),
      comps.map(([name, c]) => h('li', { class: `health-${c.status === 'up' ? 'up' : 'down'}` },
        h('span', { class: 'dot' }), h('span', null, name.replace(/_/g, ' ')), h('span', { class: 'muted' }, c.status), c.error && h('span', { class: 'text-error small' }, c.error))))
    : emptyState('Unknown', '/health did not answer.'));

  return [
    h('h2', { class: 'section-title' }, 'Stored documents'),
    h('div', { class: 'stats stats-grid' }, docCards),
    h('h2', { class: 'section-title' }, 'Operations'),
    h('div', { class: 'stats stats-grid' }, opCards),
    h('div', { class: 'panels' }, levelPanel, anomalyPanel, routePanel, healthPanel),
  ];
}

function panel(title, content) {
  return h('section', { class: 'card panel' }, h('h2', { class: 'panel-title' }, title), content);
}

/* ------------------------------------------------------------ not found */

function viewNotFound(ctx) {
  document.title = 'Not found · VectaDB';
  ctx.view.replaceChildren(pageHeader({ title: 'Page not found' }),
    emptyState('There is nothing at this address.', null, h('a', { class: 'btn', href: '/ui/agents' }, 'Go to agents')));
}

/* ----------------------------------------------------------------- boot */

(async function boot() {
  try {
    await loadSession();
  } catch (e) {
    $('#view').replaceChildren(errorState(e, () => location.reload()));
    return;
  }
  render();
}());
