/**
 * The dashboard page: a static HTML shell, its stylesheet and its script, served by the ops endpoint
 * at `/`, `/dashboard.css` and `/dashboard.js` (so the Content-Security-Policy can forbid every
 * inline script and style). The script polls `/dashboard.json` every 2 s and renders it with
 * `createElement` and `textContent` only: nothing the endpoint shows is ever parsed as markup.
 */

/** The Content-Security-Policy of every dashboard response: only this endpoint's own files. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Milliseconds between two polls of the page. */
export const REFRESH_MS = 2000;

/** `GET /`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Conductor</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><h1>Conductor</h1><span id="ident" class="ident"></span></div>
  <div class="meta" id="meta"></div>
  <div class="live" id="live" role="status" aria-live="polite">connecting…</div>
</header>
<p id="notice" class="notice" hidden></p>
<main class="grid" id="grid">
  <section class="card" id="cluster-card">
    <h2>Cluster</h2>
    <div id="cluster"></div>
  </section>
  <section class="card" id="tasks-card" data-wide="1">
    <h2>Periodic tasks</h2>
    <p class="note" id="tasks-note"></p>
    <div class="scroll" id="tasks"></div>
  </section>
  <section class="card" id="rpc-card">
    <h2>RPC</h2>
    <p class="note">Requests by method over the last minute.</p>
    <div class="scroll" id="rpc"></div>
  </section>
</main>
<noscript><p class="notice">The dashboard needs JavaScript to load its data; the same data is at <a href="/dashboard.json">/dashboard.json</a>, <a href="/tasks">/tasks</a> and <a href="/healthz">/healthz</a>.</p></noscript>
<footer class="foot">Read-only unless <code>[ops] allow_actions = true</code> · data: <a href="/dashboard.json">/dashboard.json</a> · <a href="/tasks">/tasks</a> · <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></footer>
</body>
</html>
`;

/** `GET /dashboard.css`. */
export const DASHBOARD_CSS = `:root {
  --bg: #f4f6f9; --card: #fff; --ink: #1c2430; --muted: #667085; --line: #e4e8ee;
  --ok: #0f7b3f; --ok-bg: #e3f5ea; --bad: #b42318; --bad-bg: #fde8e6; --warn: #8a5a00;
  --warn-bg: #fff3d6; --info: #1d4ed8; --info-bg: #e5edff; --mute-bg: #eef0f3; --accent: #3b5bdb;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.top {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 12px 20px;
  background: #1c2430; color: #fff;
}
.brand { display: flex; align-items: baseline; gap: 10px; min-width: 0; flex-wrap: wrap; }
.logo { width: 12px; height: 12px; border-radius: 3px; background: #7c9cff; align-self: center; }
h1 { font-size: 18px; margin: 0; font-weight: 650; letter-spacing: .2px; }
.ident { color: #c9d2e3; font-size: 13px; overflow-wrap: anywhere; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; color: #c9d2e3; flex: 1; }
.meta b { color: #fff; font-weight: 600; }
.live { font-size: 12px; color: #c9d2e3; white-space: nowrap; }
.live.stale { color: #ffb4ab; }
.notice { margin: 12px 20px 0; padding: 8px 12px; border-radius: 6px; background: var(--warn-bg); color: var(--warn); }
.grid {
  display: grid; gap: 14px; padding: 14px 20px 8px; align-items: start;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr));
}
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  min-width: 0; box-shadow: 0 1px 2px rgba(16, 24, 40, .04);
}
.card[data-wide="1"] { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 2px; font-weight: 650; text-transform: none; }
h3 { font-size: 12px; margin: 10px 0 4px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
.note { margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .3px; white-space: nowrap; }
tr:last-child td { border-bottom: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { overflow-wrap: break-word; }
.when { white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; padding: 6px 0; }
.badge {
  display: inline-flex; align-items: center; gap: 5px; padding: 1px 8px; border-radius: 999px;
  font-size: 12px; font-weight: 600; white-space: nowrap; background: var(--mute-bg); color: #475467;
}
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.info { background: var(--info-bg); color: var(--info); }
.err { display: block; color: var(--bad); font-size: 12px; overflow-wrap: anywhere; max-width: 28em; }
.sub { color: var(--muted); font-size: 12px; }
.spark { display: inline-block; vertical-align: middle; margin-right: 6px; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; stroke-linejoin: round; }
.spark rect { fill: var(--accent); opacity: .75; }
.spark line { stroke: var(--line); stroke-width: 1; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0 0 4px; font-size: 13px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { border: 1px solid var(--line); border-radius: 6px; padding: 1px 8px; font-size: 12.5px; overflow-wrap: anywhere; }
.chip.self { border-color: var(--accent); color: var(--accent); font-weight: 600; }
button {
  font: inherit; font-size: 12px; padding: 2px 9px; border-radius: 6px; border: 1px solid #c5cbd6;
  background: #fff; color: var(--ink); cursor: pointer; margin: 1px 4px 1px 0; white-space: nowrap;
}
button:hover { border-color: var(--accent); color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
.foot { padding: 6px 20px 18px; color: var(--muted); font-size: 12px; }
@media (max-width: 640px) {
  .top { padding: 10px 12px; }
  .grid { padding: 10px 10px 6px; gap: 10px; }
  .card { padding: 10px; }
  .foot { padding: 6px 12px 14px; }
  th, td { padding: 4px 6px; }
}
`;

/** `GET /dashboard.js`: vanilla JS, no framework, no innerHTML. */
export const DASHBOARD_JS = `'use strict';
(function () {
  var REFRESH = ${REFRESH_MS};
  var SVG = 'http://www.w3.org/2000/svg';
  var snap = null;
  var failures = 0;
  var timer = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function byId(id) { return document.getElementById(id); }
  function badge(tone, text) { return el('span', 'badge ' + tone, text); }

  function secs(s) {
    if (s === null || s === undefined) return '–';
    var a = Math.abs(s);
    if (a < 1) return (Math.round(s * 1000)) + ' ms';
    if (a < 90) return (Math.round(s * 10) / 10) + ' s';
    if (a < 5400) return Math.round(s / 60) + ' min';
    if (a < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function serverNow() { return snap ? Date.parse(snap.generatedAt) : Date.now(); }
  function when(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return el('span', 'sub', '–');
    var d = (t - serverNow()) / 1000;
    var s = el('span', 'when', Math.abs(d) < 0.5 ? 'now' : d < 0 ? secs(-d) + ' ago' : 'in ' + secs(d));
    s.title = iso;
    return s;
  }

  // A sparkline as inline SVG: a polyline over the values, scaled to the largest.
  function spark(values, bars) {
    var w = 96, h = 22, svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark'); svg.setAttribute('width', w); svg.setAttribute('height', h);
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h); svg.setAttribute('aria-hidden', 'true');
    var base = document.createElementNS(SVG, 'line');
    base.setAttribute('x1', 0); base.setAttribute('x2', w); base.setAttribute('y1', h - 0.5); base.setAttribute('y2', h - 0.5);
    svg.appendChild(base);
    var max = Math.max.apply(null, values.concat([1e-9])), n = values.length;
    if (bars) {
      var bw = w / Math.max(n, 1);
      values.forEach(function (v, i) {
        var r = document.createElementNS(SVG, 'rect'), bh = v > 0 ? Math.max(1, (v / max) * (h - 2)) : 0;
        r.setAttribute('x', (i * bw).toFixed(1)); r.setAttribute('width', Math.max(bw - 0.6, 0.6).toFixed(1));
        r.setAttribute('y', (h - 1 - bh).toFixed(1)); r.setAttribute('height', bh.toFixed(1));
        svg.appendChild(r);
      });
    } else if (n > 0) {
      var step = n > 1 ? w / (n - 1) : 0, pts = values.map(function (v, i) {
        return (n > 1 ? i * step : w / 2).toFixed(1) + ',' + (h - 2 - (v / max) * (h - 4)).toFixed(1);
      });
      var p = document.createElementNS(SVG, 'polyline');
      p.setAttribute('points', pts.join(' ')); svg.appendChild(p);
    }
    return svg;
  }

  function table(columns, rows, empty) {
    if (!rows.length) return el('div', 'empty', empty || 'none');
    var t = el('table'), head = el('thead'), tr = el('tr');
    columns.forEach(function (c) {
      var th = el('th', null, c.label === undefined ? c : c.label);
      th.scope = 'col';
      tr.appendChild(th);
    });
    head.appendChild(tr); t.appendChild(head);
    var body = el('tbody');
    rows.forEach(function (row) {
      var r = el('tr');
      row.forEach(function (cell) { r.appendChild(cell); });
      body.appendChild(r);
    });
    t.appendChild(body);
    return t;
  }
  function td(content, cls) {
    var c = el('td', cls);
    if (content === null || content === undefined) c.textContent = '–';
    else if (typeof content === 'object' && content.nodeType) c.appendChild(content);
    else c.textContent = String(content);
    return c;
  }
  // A cell of a manager's section: text, number, badge or time.
  function panelCell(v) {
    if (v === null || v === undefined) return td(null);
    if (typeof v === 'number') return td(String(v), 'num');
    if (typeof v === 'object' && typeof v.badge === 'string') return td(badge(v.tone, v.badge));
    if (typeof v === 'object' && typeof v.at === 'string') return td(when(v.at));
    return td(String(v), 'wrap');
  }

  function outcomeBadge(t) {
    if (!t.enabled) return badge('muted', 'disabled');
    if (t.outcome === 'ok') return badge('ok', 'ok');
    if (t.outcome === 'error') return badge('bad', 'error');
    if (t.outcome === 'timeout') return badge('warn', 'timeout');
    return badge('muted', 'not run');
  }
  function schedule(t) {
    if (t.cron) return el('span', 'mono', 'cron ' + t.cron + (t.timezone ? ' (' + t.timezone + ')' : ''));
    return el('span', null, 'every ' + secs(t.spacing));
  }
  function placement(t) {
    var s = el('span', null, t.placement);
    if (t.leaseHeld === true) { s.appendChild(document.createTextNode(' ')); s.appendChild(badge('info', 'lease held')); }
    return s;
  }

  function act(verb, name, button) {
    button.disabled = true;
    fetch('/actions/tasks/' + encodeURIComponent(name) + '/' + verb, {
      method: 'POST', headers: { 'X-Conductor-Action': '1' }, credentials: 'same-origin', cache: 'no-store'
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      notice(r.ok ? '' : (verb + ' ' + name + ': ' + (r.body && r.body.error ? r.body.error : 'failed')));
    }, function () { notice(verb + ' ' + name + ': the endpoint did not answer'); })
      .then(function () { button.disabled = false; refresh(); });
  }
  function notice(text) {
    var n = byId('notice');
    n.textContent = text; n.hidden = !text;
  }
  function actions(t) {
    var d = el('span');
    var run = el('button', null, 'Run now');
    run.type = 'button'; run.dataset.action = 'run'; run.dataset.task = t.name;
    if (!t.runnable) { run.disabled = true; run.title = 'once-per-cluster: runs on its lease holder, once per slot'; }
    run.addEventListener('click', function () { act('run', t.name, run); });
    var sw = el('button', null, t.enabled ? 'Disable' : 'Enable');
    sw.type = 'button'; sw.dataset.action = t.enabled ? 'disable' : 'enable'; sw.dataset.task = t.name;
    sw.addEventListener('click', function () { act(t.enabled ? 'disable' : 'enable', t.name, sw); });
    d.appendChild(run); d.appendChild(sw);
    return d;
  }

  function renderTasks(s) {
    var cols = ['Task', 'Schedule', 'Placement', 'Last run', 'Next due', 'Lateness', 'Outcome',
      'Runs', 'Missed', 'Skipped'];
    if (s.actions) cols.push('Actions');
    var rows = s.tasks.map(function (t) {
      var late = el('span');
      late.appendChild(spark(t.latenessHistory || [], false));
      late.appendChild(el('span', 'sub', secs(t.lateness)));
      var out = el('span');
      out.appendChild(outcomeBadge(t));
      if (t.lastError) out.appendChild(el('span', 'err', t.lastError));
      var name = el('span', 'mono', t.name);
      var row = [td(name), td(schedule(t)), td(placement(t)), td(t.lastRun ? when(t.lastRun) : null),
        td(t.nextDue ? when(t.nextDue) : el('span', 'sub', t.lastRun ? '–' : 'at once')),
        td(late), td(out), td(t.runs, 'num'), td(t.missed, 'num'), td(t.skipped, 'num')];
      if (s.actions) row.push(td(actions(t)));
      row[0].dataset.task = t.name;
      return row;
    });
    byId('tasks').replaceChildren(table(cols, rows, 'no periodic task'));
    byId('tasks-note').textContent = s.service ? 'Scheduler: ' + s.service.periodicMode +
      ' · lateness: start minus due time, last 30 runs' : '';
  }

  function renderCluster(c) {
    var box = byId('cluster');
    if (!c) { box.replaceChildren(el('div', 'empty', 'no coordinator (the service is not running)')); return; }
    var kv = el('dl', 'kv');
    function pair(k, v) { kv.appendChild(el('dt', null, k)); var d = el('dd'); d.appendChild(v); kv.appendChild(d); }
    pair('This member', el('span', 'mono', c.memberId));
    var be = el('span');
    be.appendChild(badge(c.healthy ? 'ok' : 'bad', c.healthy ? 'healthy' : 'unreachable'));
    be.appendChild(el('span', 'mono', ' ' + c.where));
    pair('Backend', be);
    if (c.lastError || c.error) pair('Error', el('span', 'err', c.lastError || c.error));
    var parts = [kv, el('h3', null, 'Members (' + c.members.length + ')')];
    var chips = el('div', 'chips');
    c.members.forEach(function (m) { chips.appendChild(el('span', m.self ? 'chip self' : 'chip', m.id + (m.self ? ' (this)' : ''))); });
    if (!c.members.length) chips.appendChild(el('span', 'empty', 'none'));
    parts.push(chips);
    parts.push(el('h3', null, 'Leases'));
    parts.push(table(['Task', 'Holder', 'Expires in'], c.leases.map(function (l) {
      return [td(el('span', 'mono', l.task)), td(l.holder === null ? badge('warn', 'nobody') :
        el('span', l.self ? 'chip self' : 'chip', l.holder + (l.self ? ' (this)' : ''))), td(secs(l.expiresIn), 'num')];
    }), 'no once-per-cluster task'));
    parts.push(el('h3', null, 'Shards'));
    parts.push(table(['Task', 'Spread over'], c.shards.map(function (sh) {
      return [td(el('span', 'mono', sh.task)), td(sh.members.length + ' member' + (sh.members.length === 1 ? '' : 's') +
        (sh.members.length ? ': ' + sh.members.join(', ') : ''), 'wrap')];
    }), 'no sharded task'));
    box.replaceChildren.apply(box, parts);
  }

  function renderRpc(r) {
    var rows = r.methods.map(function (m) {
      var hist = el('span');
      hist.appendChild(spark(m.history, true));
      var bad = el('span');
      if (m.errors) bad.appendChild(badge('bad', m.errors + ' error' + (m.errors === 1 ? '' : 's')));
      if (m.refused) bad.appendChild(badge('warn', m.refused + ' refused'));
      if (!m.errors && !m.refused) bad.appendChild(badge('ok', 'none'));
      return [td(el('span', 'mono', m.method)), td(m.perMinute, 'num'), td((Math.round(m.perSecond * 100) / 100).toFixed(2), 'num'),
        td(bad), td(secs(m.meanDuration), 'num'), td(hist)];
    });
    byId('rpc').replaceChildren(table(['Method', 'Per min', 'Per s', 'Failures', 'Mean', 'Last 60 s'], rows,
      'no RPC request in the last minute'));
  }

  function renderPanels(s) {
    var grid = byId('grid');
    Array.prototype.slice.call(grid.querySelectorAll('.panel')).forEach(function (n) { n.remove(); });
    var anchor = byId('cluster-card');
    s.panels.forEach(function (p, i) {
      var card = el('section', 'card panel');
      if (p.wide) card.dataset.wide = '1';
      card.dataset.panel = String(i);
      card.appendChild(el('h2', null, p.title));
      if (p.note) card.appendChild(el('p', 'note', p.note));
      var sc = el('div', 'scroll');
      sc.appendChild(table(p.columns, p.rows.map(function (r) { return r.map(panelCell); }), p.empty));
      card.appendChild(sc);
      // The first section (the conductor's services) leads, beside the cluster; the others follow the tasks.
      grid.insertBefore(card, i === 0 ? anchor : byId('rpc-card'));
    });
    if (s.panelsError) {
      var e = el('section', 'card panel');
      e.appendChild(el('h2', null, 'Manager view'));
      e.appendChild(el('span', 'err', s.panelsError));
      grid.insertBefore(e, anchor);
    }
  }

  function renderHeader(s) {
    var sv = s.service, meta = byId('meta');
    byId('ident').textContent = sv ? sv.binary + ' on ' + sv.host + ' · topic ' + sv.topic : 'no service yet';
    document.title = sv ? 'Conductor · ' + sv.host : 'Conductor';
    var parts = [];
    function item(label, node) {
      var s2 = el('span'); s2.appendChild(el('span', null, label + ' ')); s2.appendChild(node); parts.push(s2);
    }
    if (sv) {
      item('state', badge(sv.state === 'running' ? 'ok' : 'warn', sv.state));
      if (s.health) {
        var failing = Object.keys(s.health.checks).filter(function (k) { return s.health.checks[k] !== 'ok'; });
        var h = badge(s.health.ok ? 'ok' : 'bad', s.health.ok ? 'healthy' : 'failing: ' + failing.join(', '));
        h.title = failing.map(function (k) { return k + ': ' + s.health.checks[k]; }).join('\\n');
        item('health', h);
      }
      item('heartbeat', el('b', null, sv.heartbeatAge === null ? 'none yet' : secs(sv.heartbeatAge) + ' ago'));
      item('report every', el('b', null, secs(sv.reportInterval)));
    }
    meta.replaceChildren.apply(meta, parts);
  }

  function render(s) {
    snap = s;
    renderHeader(s);
    renderPanels(s);
    renderTasks(s);
    renderCluster(s.cluster);
    renderRpc(s.rpc);
    document.body.dataset.actions = s.actions ? '1' : '0';
  }

  function live(ok) {
    var l = byId('live');
    l.className = ok ? 'live' : 'live stale';
    l.textContent = ok ? '● live · updated ' + new Date().toLocaleTimeString() :
      '● not updating: the endpoint did not answer (' + failures + ')';
  }

  function refresh() {
    clearTimeout(timer);
    fetch('/dashboard.json', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
      .then(function (s) { failures = 0; render(s); live(true); document.body.dataset.ready = '1'; },
        function () { failures++; live(false); })
      .then(function () { timer = setTimeout(refresh, REFRESH); });
  }
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
  refresh();
})();
`;
