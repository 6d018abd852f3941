/**
 * The dashboard's page, style and script: plain HTML, CSS and JavaScript, no build step and no
 * framework. The script renders with DOM calls and textContent only (nothing from the mesh is
 * ever parsed as HTML), and the Content-Security-Policy allows only these files.
 */
function page(title, body) {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
${body}
</body>
</html>
`;
}
export function loginPage(error) {
    return page('hostmesh: log in', `<main class="login">
<h1>hostmesh</h1>
<form method="post" action="/dashboard/login">
<p><label for="token">Controller token</label></p>
<p><input id="token" name="token" type="password" autocomplete="current-password" required autofocus></p>
${error === undefined ? '' : `<p class="error" role="alert">${error}</p>\n`}<p><button type="submit">Log in</button></p>
<p class="hint">The token is in the Secret the chart created (<code>hostmesh-token</code>), or the file given to <code>--token-file</code>.</p>
</form>
</main>`);
}
export function mainPage(withLogout) {
    return page('hostmesh dashboard', `<header>
<h1>hostmesh</h1>
<p id="status">connecting...</p>
<p id="connection" class="visually-hidden" role="status" aria-live="polite"></p>
${withLogout ? '<form method="post" action="/dashboard/logout"><button type="submit">Log out</button></form>' : ''}
</header>
<nav aria-label="Sections"><ul>
<li><a href="#services">Services <span id="n-services"></span></a></li>
<li><a href="#proxies">Proxies <span id="n-proxies"></span></a></li>
<li><a href="#problems">Problems <span id="n-problems"></span></a></li>
</ul></nav>
<main>
<section id="services" aria-labelledby="h-services">
<h2 id="h-services">Services</h2>
<table>
<caption id="services-caption">Meshed Services, one row per port; traffic over the last minute</caption>
<thead><tr><th scope="col">Service</th><th scope="col">Port</th><th scope="col">Protocol</th><th scope="col">Policies</th><th scope="col">Routing (weight, configured share, live share)</th><th scope="col" class="num">Req/s</th><th scope="col" class="num">Success</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th></tr></thead>
<tbody id="services-body"></tbody>
</table>
</section>
<section id="proxies" aria-labelledby="h-proxies">
<h2 id="h-proxies">Proxies</h2>
<table>
<caption>Every proxy the controller knows</caption>
<thead><tr><th scope="col">Node</th><th scope="col">Version</th><th scope="col" class="num">Table</th><th scope="col">Lag</th><th scope="col">Health</th><th scope="col">Last seen</th></tr></thead>
<tbody id="proxies-body"></tbody>
</table>
</section>
<section id="problems" aria-labelledby="h-problems">
<h2 id="h-problems">Configuration problems</h2>
<table>
<caption>Problems in the configuration: the object, the key and why</caption>
<thead><tr><th scope="col">Severity</th><th scope="col">Object</th><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Code</th><th scope="col">Problem</th></tr></thead>
<tbody id="problems-body"></tbody>
</table>
</section>
</main>
<script src="/dashboard/app.js" defer></script>`);
}
export const APP_CSS = `:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --bg: #ffffff; --line: #c8c8c8; --head: #f0f0f0; --bad: #a40000; --warn: #7a4a00; --ok: #0b6b0b; --link: #0645ad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.3rem; margin: 0; }
header p { margin: 0; color: var(--muted); flex: 1; }
nav ul { list-style: none; display: flex; gap: 1.5rem; margin: 0; padding: .5rem 1.2rem; border-bottom: 1px solid var(--line); }
a { color: var(--link); }
main { padding: 0 1.2rem 2rem; max-width: 110rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: .2rem 0 .4rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td ul { margin: 0; padding-left: 1rem; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
.rule { font-weight: 600; }
.error, .sev-error, .health-bad { color: var(--bad); font-weight: 600; }
.sev-warning, .health-warn { color: var(--warn); font-weight: 600; }
.health-ok { color: var(--ok); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
button { font: inherit; padding: .3rem .9rem; border: 1px solid #555; border-radius: 4px; background: #fafafa; color: var(--fg); cursor: pointer; }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.login { max-width: 26rem; margin: 4rem auto; }
.login input { width: 100%; font: inherit; padding: .4rem; border: 1px solid #555; border-radius: 4px; }
.hint { color: var(--muted); font-size: .9em; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
export const APP_JS = `'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function pct(x) { return x === null || x === undefined ? '-' : (x * 100).toFixed(x === 1 || x === 0 ? 0 : 1) + '%'; }
  function ms(x) { return x === null || x === undefined ? '-' : (x < 10 ? x.toFixed(2) : x.toFixed(0)) + ' ms'; }
  function rate(x) { return x ? x.toFixed(x < 10 ? 2 : 0) : '0'; }
  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) { tr.appendChild(c); });
    return tr;
  }
  function fill(body, rows, cols, emptyText) {
    body.replaceChildren();
    if (rows.length === 0) {
      var td = el('td', emptyText, 'empty');
      td.colSpan = cols;
      body.appendChild(row([td]));
      return;
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function routing(port) {
    var td = el('td');
    var ul = el('ul');
    port.rules.forEach(function (rule) {
      rule.backends.forEach(function (b) {
        var li = el('li');
        li.dataset.route = port.route;
        li.dataset.rule = rule.match;
        li.dataset.cluster = b.cluster;
        li.dataset.weight = String(b.weight);
        if (port.rules.length > 1) li.appendChild(el('span', rule.match === 'default' ? 'default: ' : 'if ' + rule.match + ': ', 'rule'));
        li.appendChild(el('span', b.cluster, 'mono'));
        li.appendChild(document.createTextNode(' weight ' + b.weight + ' (' + pct(b.weightShare) + '), live ' + pct(b.liveShare) + ', ' + b.endpoints + ' endpoint' + (b.endpoints === 1 ? '' : 's')));
        ul.appendChild(li);
      });
    });
    td.appendChild(ul);
    return td;
  }
  function policies(list) {
    var td = el('td');
    if (list.length === 0) { td.textContent = 'defaults'; td.className = 'empty'; return td; }
    var ul = el('ul');
    list.forEach(function (p) { ul.appendChild(el('li', p)); });
    td.appendChild(ul);
    return td;
  }
  function render(v) {
    var rows = [];
    v.services.forEach(function (s) {
      s.ports.forEach(function (p, i) {
        var name = el('th', i === 0 ? s.id : '');
        name.scope = 'row';
        if (i === 0 && s.problems > 0) name.appendChild(el('span', ' (' + s.problems + ' problem' + (s.problems === 1 ? '' : 's') + ')', 'sev-warning'));
        var tr = row([name, el('td', p.port, 'num'), el('td', p.protocol + (p.scheme !== 'http' ? ' (' + p.scheme + ')' : '')), policies(p.policies), routing(p),
          el('td', rate(p.ratePerSecond), 'num'), el('td', pct(p.successRate), 'num'), el('td', ms(p.p50Ms), 'num'), el('td', ms(p.p99Ms), 'num')]);
        tr.dataset.route = p.route;
        rows.push(tr);
      });
    });
    fill($('services-body'), rows, 9, 'No meshed Services.');
    $('n-services').textContent = '(' + v.services.length + ')';
    fill($('proxies-body'), v.proxies.map(function (p) {
      var cls = p.health === 'ok' ? 'health-ok' : p.health === 'behind' ? 'health-warn' : 'health-bad';
      var lag = p.lagVersions === null ? '-' : p.lagVersions + ' version' + (p.lagVersions === 1 ? '' : 's') + (p.lagMs > 0 ? ', ' + (p.lagMs / 1000).toFixed(1) + ' s' : '');
      var node = el('th', p.node);
      node.scope = 'row';
      return row([node, el('td', p.software), el('td', p.appliedVersion === null ? '-' : p.appliedVersion, 'num'), el('td', lag), el('td', p.health, cls), el('td', p.lastSeen)]);
    }), 6, 'No proxies have connected.');
    $('n-proxies').textContent = '(' + v.proxies.length + ')';
    fill($('problems-body'), v.problems.map(function (d) {
      var tr = row([el('td', d.severity, 'sev-' + d.severity), el('td', d.object), el('td', d.key, 'mono'), el('td', d.value, 'mono'), el('td', d.code, 'mono'), el('td', d.message)]);
      tr.dataset.code = d.code;
      return tr;
    }), 6, 'No problems.');
    $('n-problems').textContent = '(' + v.problems.length + ')';
    $('status').textContent = 'table version ' + v.version + '; traffic over the last ' + Math.round(v.windowSeconds) + ' s; updated ' + new Date().toLocaleTimeString();
  }
  // Screen readers hear connection changes, not every refresh of the figures.
  function announce(text) { if ($('connection').textContent !== text) $('connection').textContent = text; }
  function connect() {
    var es = new EventSource('/dashboard/events');
    es.onmessage = function (e) { render(JSON.parse(e.data)); announce('Live updates connected.'); };
    es.onerror = function () {
      $('status').textContent = 'connection lost; reconnecting...';
      announce('Live updates lost; reconnecting.');
      fetch('/dashboard/state', { credentials: 'same-origin' }).then(function (r) {
        if (r.status === 401) { es.close(); window.location.assign('/dashboard/login'); }
      }, function () {});
    };
  }
  connect();
})();
`;
