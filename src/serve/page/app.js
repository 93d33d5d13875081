// The emomo search page: plain browser JavaScript, no build step, nothing loaded from elsewhere.
// It calls this server's /api/recall and shows the images from /objects (or the storage's public URL).
import { copyImage, copyUrl, toast } from './copy.js';
import { setUpPictureSearch } from './picture.js';

const $ = (id) => document.getElementById(id);
const input = $('q');
const grid = $('grid');
const statusLine = $('status');
const empty = $('empty');
const activeChips = $('active-chips');
const suggestedChips = $('suggested-chips');

const PAGE_SIZE = 40;
const EXAMPLES = ['我太难了', '笑死', '无语', '晚安', '打工人', '开心'];

/** What is searched: the text, a picture (a File; not in the address) and the filters (tags: all must match; category; animated). */
const state = { q: '', picture: null, tags: [], category: null, animated: null };
let results = [];
let searchSeq = 0;
let debounce;

// ------------------------------------------------------------ URL <-> state (results can be shared by link)

function readLocation() {
  const p = new URLSearchParams(location.search);
  state.q = p.get('q') ?? '';
  state.tags = p.getAll('tag');
  state.category = p.get('category');
  const animated = p.get('animated');
  state.animated = animated === 'true' ? true : animated === 'false' ? false : null;
  input.value = state.q;
}

function writeLocation() {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  for (const t of state.tags) p.append('tag', t);
  if (state.category) p.set('category', state.category);
  if (state.animated !== null) p.set('animated', String(state.animated));
  const next = p.toString() ? `?${p}` : location.pathname;
  if (next !== location.search) history.replaceState(null, '', next);
}

// ------------------------------------------------------------ searching

function apiParams() {
  const p = new URLSearchParams({ q: state.q, top_k: String(PAGE_SIZE) });
  for (const t of state.tags) p.append('tag', t);
  if (state.category) p.set('category', state.category);
  if (state.animated !== null) p.set('animated', String(state.animated));
  return p;
}

/** A search with a picture posts it with the rest as multipart/form-data (GET cannot carry it). */
function send() {
  const headers = { accept: 'application/json' };
  if (!state.picture) return fetch(`/api/recall?${apiParams()}`, { headers });
  const form = new FormData();
  for (const [k, v] of apiParams()) if (k !== 'q' || v) form.append(k, v);
  form.append('image', state.picture, state.picture.name || 'picture');
  return fetch('/api/recall', { method: 'POST', body: form, headers });
}

async function search() {
  writeLocation();
  renderActiveChips();
  if (!state.q.trim() && !state.picture) {
    results = [];
    renderResults(null);
    return;
  }
  const seq = ++searchSeq;
  statusLine.textContent = 'Searching…';
  let response;
  try {
    response = await send();
  } catch {
    if (seq === searchSeq) statusLine.textContent = 'The server does not answer.';
    return;
  }
  if (seq !== searchSeq) return; // a newer search is under way
  if (response.status === 401) return askForToken();
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const retry = response.headers.get('retry-after');
    statusLine.textContent = `${body?.error?.message ?? `HTTP ${response.status}`}${retry ? ` (retry in ${retry} s)` : ''}`;
    return;
  }
  results = body.results;
  renderResults(body);
}

function searchSoon() {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    state.q = input.value.trim();
    search();
  }, 250);
}

// ------------------------------------------------------------ rendering

function caption(r) {
  return r.ocr_text || r.description || r.tags.join(' ') || r.md5.slice(0, 8);
}

function scoreText(r, mode) {
  if (r.scores.image != null) {
    const words = r.scores.vector !== null || r.scores.keyword !== null ? ' + words' : '';
    return `picture ${Math.round(r.scores.image * 100)}% alike${words}`;
  }
  if (r.scores.vector !== null && r.scores.keyword !== null) return `words + ${Math.round(r.scores.vector * 100)}% similar`;
  if (r.scores.vector !== null) return `${Math.round(r.scores.vector * 100)}% similar`;
  if (mode === 'keyword' || r.scores.keyword !== null) return `words · ${r.score.toFixed(2)}`;
  return r.score.toFixed(3);
}

function renderResults(body) {
  grid.replaceChildren();
  empty.hidden = body !== null;
  if (body === null) {
    statusLine.textContent = '';
    suggestedChips.replaceChildren();
    return;
  }
  const n = body.results.length;
  const partial = body.partial ? ` — partial: ${body.reason}` : '';
  const by = state.picture ? 'by picture · ' : '';
  statusLine.textContent = `${by}${n} result${n === 1 ? '' : 's'} · ${Math.round(body.timings_ms.total)} ms${partial}`;
  statusLine.classList.toggle('warn', body.partial || body.failed);
  body.results.forEach((r, i) => grid.append(card(r, i, body.mode)));
  const what = [body.query && `“${body.query}”`, state.picture && 'this picture'].filter(Boolean).join(' and ');
  if (n === 0) statusLine.textContent = `Nothing found for ${what}${hasFilters() ? ' with these filters' : ''}.`;
  renderSuggestedChips(body.results);
}

function card(r, index, mode) {
  const item = document.createElement('figure');
  item.className = 'card';
  item.setAttribute('role', 'listitem');
  const pick = document.createElement('button');
  pick.type = 'button';
  pick.className = 'pick';
  pick.dataset.index = String(index);
  pick.setAttribute('aria-label', `${caption(r)} — copy image`);
  pick.title = 'Click: copy the image · Shift+click or U: copy its URL';
  const img = document.createElement('img');
  img.src = r.url;
  img.alt = caption(r);
  img.loading = index < 12 ? 'eager' : 'lazy';
  img.decoding = 'async';
  pick.append(img);
  if (r.is_animated) pick.append(badge('GIF', 'anim'));
  const info = document.createElement('figcaption');
  const text = document.createElement('span');
  text.className = 'caption';
  text.textContent = caption(r);
  const score = document.createElement('span');
  score.className = 'score';
  score.textContent = scoreText(r, mode);
  info.append(text, score);
  const link = document.createElement('button');
  link.type = 'button';
  link.className = 'link';
  link.textContent = 'URL';
  link.tabIndex = -1;
  link.setAttribute('aria-label', `copy the URL of ${caption(r)}`);
  link.addEventListener('click', () => copyUrl(r));
  pick.addEventListener('click', (e) => (e.shiftKey ? copyUrl(r) : copyImage(r)));
  item.append(pick, info, link);
  return item;
}

function badge(text, cls) {
  const b = document.createElement('span');
  b.className = `badge ${cls}`;
  b.textContent = text;
  return b;
}

// ------------------------------------------------------------ filter chips

function hasFilters() {
  return state.tags.length > 0 || state.category !== null || state.animated !== null;
}

function chip(label, kind, onClick, pressed) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `chip ${kind}`;
  b.setAttribute('role', 'listitem');
  if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

function renderActiveChips() {
  const chips = [
    ...state.tags.map((t) => chip(`#${t} ×`, 'on', () => { state.tags = state.tags.filter((x) => x !== t); search(); })),
    ...(state.category ? [chip(`${state.category} ×`, 'on category', () => { state.category = null; search(); })] : []),
  ];
  const motion = [
    [true, '动图 GIF'],
    [false, '静图'],
  ].map(([value, label]) =>
    chip(label, state.animated === value ? 'on toggle' : 'toggle', () => {
      state.animated = state.animated === value ? null : value;
      search();
    }, state.animated === value),
  );
  activeChips.replaceChildren(...chips, ...motion);
}

/** The tags and categories the results hold, most frequent first: one click narrows the search to them. */
function renderSuggestedChips(list) {
  const count = (values) => {
    const m = new Map();
    for (const v of values) if (v) m.set(v, (m.get(v) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  const tags = count(list.flatMap((r) => r.tags)).filter(([t]) => !state.tags.includes(t)).slice(0, 8);
  const categories = state.category ? [] : count(list.map((r) => r.category)).slice(0, 4);
  suggestedChips.replaceChildren(
    ...categories.map(([c, n]) => chip(`${c} ${n}`, 'category', () => { state.category = c; search(); })),
    ...tags.map(([t, n]) => chip(`#${t} ${n}`, 'tag', () => { state.tags = [...state.tags, t]; search(); })),
  );
}

// ------------------------------------------------------------ keyboard

function columns() {
  return Math.max(1, getComputedStyle(grid).gridTemplateColumns.split(' ').length);
}

function focusCard(i) {
  const picks = grid.querySelectorAll('.pick');
  if (picks.length === 0) return;
  picks[Math.max(0, Math.min(picks.length - 1, i))].focus();
}

document.addEventListener('keydown', (e) => {
  const inSearch = document.activeElement === input;
  const current = document.activeElement?.classList?.contains('pick') ? Number(document.activeElement.dataset.index) : -1;
  if (e.key === '/' && !inSearch && !e.ctrlKey && !e.metaKey) {
    e.preventDefault();
    input.focus();
    input.select();
  } else if (e.key === 'Escape') {
    if (inSearch && input.value) {
      input.value = '';
      searchSoon();
    } else if (inSearch && state.picture) picture.clear();
    else input.focus();
  } else if (inSearch && e.key === 'ArrowDown' && results.length > 0) {
    e.preventDefault();
    focusCard(0);
  } else if (current >= 0) {
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[e.key];
    if (step !== undefined) {
      e.preventDefault();
      if (e.key === 'ArrowUp' && current < columns()) input.focus();
      else focusCard(current + step);
    } else if (e.key === 'u' || e.key === 'U') {
      copyUrl(results[current]);
    }
  }
});

// ------------------------------------------------------------ token (only when the server asks for one)

function askForToken() {
  statusLine.textContent = 'This library needs a token.';
  const dialog = $('token-dialog');
  if (!dialog.open) dialog.showModal();
}

$('token-form').addEventListener('submit', () => {
  const token = $('token').value.trim();
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `emomo_token=${encodeURIComponent(token)}; Path=/; SameSite=Strict; Max-Age=2592000${secure}`;
  search();
});

// ------------------------------------------------------------ start

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(debounce);
  state.q = input.value.trim();
  search();
});
input.addEventListener('input', searchSoon);
const picture = setUpPictureSearch({
  button: $('by-picture'),
  fileInput: $('picture-file'),
  preview: $('query-picture'),
  previewImage: $('query-picture-image'),
  clear: $('query-picture-clear'),
  onChange: (file) => {
    state.picture = file;
    search();
  },
  onRefused: toast,
});
$('examples').replaceChildren(
  'Try: ',
  ...EXAMPLES.map((q) => chip(q, 'example', () => { input.value = q; state.q = q; search(); })),
);
window.addEventListener('popstate', () => { readLocation(); search(); });
readLocation();
search();
