// The ops console. Plain ES module, no framework. Every figure comes from the ops API with the token the person typed,
// kept in sessionStorage only (never localStorage, never in a URL). Everything from the API reaches the DOM through
// textContent or attributes, never innerHTML.
import uPlot from './lib/uPlot.esm.js';

const TOKEN_KEY = 'ops-token';
const USER = 'console';
const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problemText(status, problem));
    this.status = status;
  }
}

/** The sentence of a problem detail: its detail, else its validation errors, else its title. */
function problemText(status, problem) {
  if (problem && typeof problem === 'object') {
    if (problem.detail) return problem.detail;
    if (problem.errors) return Object.entries(problem.errors).map(([k, v]) => `${k} ${[].concat(v).join(' ')}`).join('; ');
    if (problem.title) return problem.title;
  }
  return `HTTP ${status}`;
}

async function api(path, { method = 'GET', body } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token ?? ''}`, Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-Ops-User'] = USER;
  }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (response.status === 401) {
    signOut('The token was refused (401): check OPS_API_KEY and sign in again.');
    throw new ApiError(401, json);
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

// ---- formatting ----
const percent = (v, digits = 2) => `${(v * 100).toFixed(digits)} %`;
const seconds = (v) => (v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(v < 10 ? 2 : 1)} s`);
const usd = (v) => `$${v.toFixed(v < 1 ? 4 : 2)}`;
const time = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '–');

function formatKpi(unit, value) {
  if (value === null || value === undefined) return '–';
  if (unit === 'ratio') return percent(value);
  if (unit === 's') return seconds(value);
  if (unit === 'USD') return usd(value);
  return String(value);
}

const stateWords = { green: 'on target', amber: 'near target', red: 'off target', none: 'no data or no target' };

// ---- session ----
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopPolling();
  $('#app').hidden = true;
  $('#login-form').hidden = false;
  const error = $('#login-error');
  error.textContent = message ?? '';
  error.hidden = !message;
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await loadStatus();
  } catch (e) {
    if (e.status !== 401) signOut(`Sign-in failed: ${e.message}`);
    return;
  }
  $('#login-error').hidden = true;
  $('#login-form').hidden = true;
  $('#app').hidden = false;
  $('#token').value = '';
  await Promise.allSettled([loadProviders(), loadSeries(), loadGroups()]);
}

// ---- status ----
const currentWindow = () => $('#window').value;

async function loadStatus() {
  const report = await api(`/status?window=${encodeURIComponent(currentWindow())}`);
  for (const kpi of report.kpis) {
    const tile = document.querySelector(`[data-kpi="${CSS.escape(kpi.name)}"]`);
    if (!tile) continue;
    tile.dataset.state = kpi.state;
    tile.dataset.value = kpi.value === null || kpi.value === undefined ? '' : String(kpi.value);
    tile.title = kpi.definition;
    tile.querySelector('.kpi-value').textContent = formatKpi(kpi.unit, kpi.value);
    tile.querySelector('.kpi-state').textContent = stateWords[kpi.state] ?? kpi.state;
    tile.querySelector('.kpi-target').textContent = kpi.target === null || kpi.target === undefined
      ? 'no target'
      : `target ${kpi.name === 'availability' ? '≥' : '≤'} ${formatKpi(kpi.unit, kpi.target)}`;
  }
  const list = $('#recommendations');
  list.replaceChildren(...(report.recommendations.length === 0
    ? [el('li', { class: 'none' }, 'No recommendations')]
    : report.recommendations.map((r) => el('li', { class: r.severity, 'data-severity': r.severity, 'data-subject': r.subject }, r.text))));
  $('#updated').textContent = `updated ${time(report.until)}`;
}

// ---- providers ----
function quotaText(q) {
  if (!q) return '–';
  const parts = [];
  if (q.remainingFraction !== null && q.remainingFraction !== undefined) parts.push(`${percent(q.remainingFraction, 0)} left`);
  if (q.daily) {
    if (q.daily.requestsPerDay > 0) parts.push(`${q.daily.requestsUsed}/${q.daily.requestsPerDay} requests today`);
    if (q.daily.tokensPerDay > 0) parts.push(`${q.daily.tokensUsed}/${q.daily.tokensPerDay} tokens today`);
  }
  return parts.length ? parts.join(', ') : 'unknown';
}

async function loadProviders() {
  const report = await api('/providers');
  const rows = report.providers.map((p) => el('tr', { 'data-provider': p.provider, 'data-model': p.model },
    el('td', {}, p.provider),
    el('td', {}, p.model),
    el('td', { class: 'state', 'data-state': p.state, title: p.stateReason }, `${p.state}: ${p.stateReason}`),
    el('td', { class: 'breaker', 'data-breaker': p.breaker.state }, p.breaker.state + (p.breaker.openSince ? ` since ${time(p.breaker.openSince)}` : '')),
    el('td', { class: 'last-ping' }, p.lastPing
      ? `${p.lastPing.outcome} ${p.lastPing.latencyMs} ms at ${time(p.lastPing.at)}${p.lastPing.errorClass ? ` (${p.lastPing.errorClass})` : ''}`
      : 'no ping yet'),
    el('td', { class: 'quota' }, quotaText(p.quota))));
  $('#providers tbody').replaceChildren(...rows);
}

// ---- charts ----
const charts = new Map();
const palette = ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#1b7c83', '#6e7781'];

function buckets(report) {
  const step = report.bucketSeconds;
  const start = Math.floor(Date.parse(report.since) / 1000 / step) * step;
  const end = Date.parse(report.until) / 1000;
  const xs = [];
  for (let t = start; t < end; t += step) xs.push(t);
  return xs;
}

function drawChart(name, xs, report, pick) {
  const holder = document.querySelector(`#charts [data-chart="${name}"]`);
  charts.get(name)?.destroy();
  const series = [{}];
  const data = [xs];
  report.providers.forEach((p, i) => {
    const byTime = new Map(p.points.map((pt) => [Date.parse(pt.at) / 1000, pt]));
    series.push({ label: `${p.provider}/${p.model}`, stroke: palette[i % palette.length], width: 1.5, spanGaps: false,
      // Points as well as lines: a value in a single bucket between empty ones has no line to draw.
      points: { show: true, size: 4 } });
    data.push(xs.map((x) => { const pt = byTime.get(x); return pt ? pick(pt) : null; }));
  });
  const width = Math.max(320, holder.clientWidth || 560);
  const chart = new uPlot({ width, height: 200, series, axes: [{}, { size: 60 }], legend: { live: true } }, data, holder);
  charts.set(name, chart);
}

async function loadSeries() {
  const report = await api(`/metrics/series?window=${encodeURIComponent(currentWindow())}`);
  const xs = buckets(report);
  const rate = (v) => (v === null || v === undefined ? null : v * 100);
  drawChart('calls', xs, report, (pt) => pt.calls);
  drawChart('error_rate', xs, report, (pt) => rate(pt.errorRate));
  drawChart('p95', xs, report, (pt) => pt.p95Ms);
  drawChart('fallback_rate', xs, report, (pt) => rate(pt.fallbackRate));

  const rows = [];
  for (const p of report.providers) {
    const totals = {};
    for (const pt of p.points) for (const [cls, n] of Object.entries(pt.errorsByClass)) totals[cls] = (totals[cls] ?? 0) + n;
    for (const [cls, n] of Object.entries(totals).sort((a, b) => b[1] - a[1])) rows.push(el('tr', {}, el('td', {}, p.provider), el('td', {}, p.model), el('td', {}, cls), el('td', {}, n)));
  }
  $('#error-classes tbody').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 4 }, 'No errors in the window'))]));
}

// ---- dead letters ----
let openGroup = null;
let pollTimer = null;

async function loadGroups() {
  const groups = await api('/dead-letters/groups');
  const rows = groups.map((g) => {
    const open = el('button', { type: 'button', class: 'open' }, 'Open');
    open.addEventListener('click', () => openDeadLetterGroup(g).catch(showAppError));
    return el('tr', { 'data-group': g.group },
      el('td', {}, g.reason), el('td', {}, g.errorClass ?? '–'), el('td', {}, g.provider ?? '–'), el('td', {}, g.chain ?? '–'),
      el('td', { class: 'count' }, g.count), el('td', {}, time(g.lastSeen)), el('td', {}, open));
  });
  $('#dead-letter-groups tbody').replaceChildren(...(rows.length ? rows : [el('tr', { class: 'none' }, el('td', { colspan: 7 }, 'Nothing parked'))]));
}

async function openDeadLetterGroup(g) {
  openGroup = g.group;
  const list = await api(`/dead-letters?group=${encodeURIComponent(g.group)}`);
  $('#group-title').textContent = `Group ${g.group}: ${g.reason}${g.provider ? ` on ${g.provider}` : ''} (${g.count})`;
  $('#group-items tbody').replaceChildren(...list.items.map((d) => el('tr', { 'data-request-id': d.requestId ?? d.id, 'data-dead-letter-id': d.id },
    el('td', {}, d.requestId ?? `(${d.source}) ${d.id}`), el('td', {}, d.reason), el('td', {}, d.error ?? '–'),
    el('td', {}, time(d.lastParkedAt)), el('td', {}, `${d.parkCount}×`))));
  $('#group').hidden = false;
  $('#dry-run').disabled = false;
  $('#archive').disabled = false;
  $('#replay').disabled = true;
  const result = $('#dry-run-result');
  result.hidden = true;
  result.textContent = '';
  result.removeAttribute('data-selected');
}

async function dryRun() {
  const accepted = await api('/dead-letters/replay', { method: 'POST', body: { filter: { group: openGroup }, dryRun: true } });
  const result = $('#dry-run-result');
  result.dataset.selected = String(accepted.selected);
  result.textContent = accepted.selected === 0
    ? 'A replay would send nothing: no item of this group is parked and replayable.'
    : `A replay would send ${accepted.selected} parked item(s) of this group back to the request queue. Press Replay to do it.`;
  result.hidden = false;
  $('#replay').disabled = accepted.selected === 0;
}

async function startOperation(kind) {
  const accepted = await api(`/dead-letters/${kind}`, { method: 'POST', body: { filter: { group: openGroup } } });
  $('#replay').disabled = true;
  if (!accepted.operationId) {
    showOperation({ id: '', status: 'completed', kind, total: 0, done: 0, remaining: 0, skipped: 0 });
    return;
  }
  await pollOperation(accepted.operationId);
}

function showOperation(op) {
  const box = $('#operation');
  box.dataset.operationId = op.id;
  box.dataset.status = op.status;
  const o = op.outcomes;
  box.textContent = `${op.kind} ${op.status}: ${op.done} of ${op.total} done, ${op.remaining} remaining, ${op.skipped} skipped` +
    (o ? `; replayed requests: ${o.succeeded} succeeded, ${o.failed} failed, ${o.parked} parked again, ${o.pending} pending` : '') + '.';
  box.hidden = false;
}

function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

async function pollOperation(id) {
  stopPolling();
  const op = await api(`/dead-letters/operations/${encodeURIComponent(id)}`);
  showOperation(op);
  // Finished once the operation completed and, for a replay, every replayed request has an outcome.
  const finished = op.status === 'completed' && (!op.outcomes || op.outcomes.pending === 0);
  if (finished) {
    await loadGroups().catch(showAppError);
    return;
  }
  pollTimer = setTimeout(() => pollOperation(id).catch(showAppError), 1000);
}

// ---- request lookup ----
function timelineItem(kind, when, text) {
  return el('li', { 'data-kind': kind }, el('span', { class: 'when' }, time(when)), text);
}

async function lookup() {
  const error = $('#lookup-error');
  const timeline = $('#timeline');
  error.hidden = true;
  timeline.replaceChildren();
  const id = $('#lookup-id').value.trim();
  let detail;
  try {
    detail = await api(`/requests/${encodeURIComponent(id)}`);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    return;
  }
  const r = detail.request;
  const items = [timelineItem('received', r.receivedAt, `received on chain ${r.chain}${r.tenant ? ` for tenant ${r.tenant}` : ''}`)];
  if (r.route) items.push(timelineItem('decision', r.receivedAt, `routed (${r.route.tier}): ${r.route.candidates.join(', ')}: ${r.route.reason}`));
  for (const a of detail.attempts) {
    if (a.waitMs) items.push(timelineItem('wait', a.startedAt, `waited ${a.waitMs} ms before step ${a.step} attempt ${a.attempt}`));
    const cost = a.costUsd === null || a.costUsd === undefined ? '' : `, cost ${usd(a.costUsd)}`;
    const what = a.callMade
      ? `step ${a.step} attempt ${a.attempt}: ${a.provider}/${a.model} ${a.outcome}${a.errorClass ? ` (${a.errorClass}${a.httpStatus ? `, HTTP ${a.httpStatus}` : ''})` : ''} in ${a.latencyMs} ms${cost}`
      : `step ${a.step}: ${a.provider}/${a.model} not called`;
    items.push(timelineItem('attempt', a.startedAt, `${what}; decision ${a.decision}${a.note ? `: ${a.note}` : ''}`));
    if (a.decision === 'deferred') items.push(timelineItem('deferral', a.endedAt, `deferred${a.retryAfterMs ? ` for ${a.retryAfterMs} ms` : ''}`));
  }
  const total = r.estimatedCostUsd === null || r.estimatedCostUsd === undefined ? '' : `, cost ${usd(r.estimatedCostUsd)}`;
  items.push(timelineItem('outcome', r.completedAt, `${r.status}${r.provider ? ` by ${r.provider}/${r.model}` : ''}${r.fallbackUsed ? ' (fallback)' : ''}` +
    `${r.failureReason ? `: ${r.failureReason}` : ''}${r.error ? ` (${r.error})` : ''}${total}`));
  timeline.replaceChildren(...items);
}

// ---- wiring ----
function showAppError(e) {
  if (e?.status === 401) return;
  const box = $('#app-error');
  box.textContent = e?.message ?? String(e);
  box.hidden = false;
}

async function reloadWindow() {
  $('#app-error').hidden = true;
  await Promise.all([loadStatus(), loadSeries()]).catch(showAppError);
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('#token').value.trim();
  if (!token) { signOut('Type the ops token first.'); return; }
  signIn(token);
});
$('#logout').addEventListener('click', () => signOut());
$('#window').addEventListener('change', reloadWindow);
$('#refresh').addEventListener('click', () => Promise.all([reloadWindow(), loadProviders().catch(showAppError), loadGroups().catch(showAppError)]));
$('#dry-run').addEventListener('click', () => dryRun().catch(showAppError));
$('#replay').addEventListener('click', () => startOperation('replay').catch(showAppError));
$('#archive').addEventListener('click', () => {
  if (confirm('Archive every parked item of this group? They will not be replayed.')) startOperation('archive').catch(showAppError);
});
$('#lookup-form').addEventListener('submit', (event) => { event.preventDefault(); lookup(); });

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
