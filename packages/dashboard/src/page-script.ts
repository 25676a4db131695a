/**
 * The dashboard's script: polls `state.json` and redraws with DOM calls only (`textContent`, never
 * HTML from data), so a route name or a plugin's detail cannot inject markup. Plain ES2017, no
 * build step. Kept as a string so the package ships it without any asset handling.
 */
// String.raw: escapes (the dash as \u2013, a regex's backslash) reach the browser as written.
export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var refreshMs = Number(document.body.getAttribute('data-refresh-ms')) || 2000;
  var statusEl = document.getElementById('status');
  var lastOk = 0;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (attrs[k] === undefined || attrs[k] === null) continue;
      if (k === 'text') e.textContent = String(attrs[k]); else e.setAttribute(k, String(attrs[k]));
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function td(label, content, cls) {
    var cell = el('td', { 'data-label': label, 'class': cls });
    if (content instanceof Node) cell.appendChild(content); else cell.textContent = content === null || content === undefined ? '\u2013' : String(content);
    return cell;
  }
  function table(headers, rows, empty) {
    if (rows.length === 0) return el('p', { 'class': 'empty', text: empty });
    var head = el('tr', null, headers.map(function (h) { return el('th', { text: h[0], 'class': h[1] }); }));
    return el('table', null, [el('thead', null, [head]), el('tbody', null, rows)]);
  }
  function ago(iso, nowIso) {
    if (!iso) return '\u2013';
    var s = Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(iso)) / 1000));
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  function ms(v) { return v === null || v === undefined ? '\u2013' : v + ' ms'; }
  function pct(v) { return v === null || v === undefined ? '\u2013' : (Math.round(v * 1000) / 10) + '%'; }
  function chips(list) {
    var span = el('span');
    list.forEach(function (s) { span.appendChild(el('span', { 'class': 'chip', text: s })); });
    return span;
  }
  function words(key) { return key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(); }
  function fill(id, node) {
    var body = document.querySelector('#' + id + ' .body');
    body.replaceChildren(node);
  }

  function renderServices(state) {
    var wrap = el('div');
    if (state.services.length === 0) wrap.appendChild(el('p', { 'class': 'empty', text: 'no services' }));
    state.services.forEach(function (svc) {
      wrap.appendChild(el('h3', { 'data-service': svc.name }, [
        el('span', { text: svc.name }),
        el('span', { 'class': 'badge ' + (svc.up ? 'up' : 'down'), text: svc.up ? 'up' : 'down' })
      ]));
      var rows = svc.targets.map(function (t) {
        var check = t.lastCheck ? (t.lastCheck.ok ? 'ok' : 'failed') + ', ' + ms(t.lastCheck.latencyMs) + ', ' + ago(t.lastCheck.at, state.gateway.now) : 'no check yet';
        return el('tr', { 'data-target': t.id, 'data-service': svc.name, 'data-status': t.status }, [
          td('target', el('code', { text: t.id })),
          td('status', el('span', { 'class': 'badge ' + t.status, text: t.status }), 'status'),
          td('why', t.reason || (t.status === 'up' ? 'in rotation' : ''), 'reason'),
          td('since', el('span', { text: ago(t.since, state.gateway.now), title: t.since }), 'since'),
          td('last check', check, 'check'),
          td('requests', t.requests, 'num requests'),
          td('errors', t.errors, 'num errors'),
          td('p50', ms(t.p50Ms), 'num'),
          td('p99', ms(t.p99Ms), 'num')
        ]);
      });
      wrap.appendChild(table([['target'], ['status'], ['why'], ['since'], ['last check'],
        ['requests', 'num'], ['errors', 'num'], ['p50', 'num'], ['p99', 'num']], rows, 'no targets'));
    });
    wrap.appendChild(el('p', { 'class': 'muted', text: 'requests, errors and latency over the last ' + Math.round(state.windows.targetsSeconds / 60) + ' minutes' }));
    fill('services', wrap);
  }

  function renderRoutes(state) {
    var rows = state.routes.map(function (r) {
      var auth = r.auth === 'public' ? 'public' : 'required' + (r.scopes.length ? ': ' + r.scopes.join(' ') : '');
      var extra = state.routeColumns.map(function (c) {
        var v = r[c.key];
        return td(c.label, v === undefined || typeof v === 'string' ? v : Object.keys(v).map(function (k) { return k + ' ' + v[k]; }).join(', '));
      });
      return el('tr', { 'data-route': r.id }, [
        td('prefix', el('code', { text: r.prefix })),
        td('methods', chips(r.methods)),
        td('host', r.host),
        td('service', r.service),
        td('auth', auth, 'auth')
      ].concat(extra, [
        td('req/s', r.requestsPerSecond, 'num rps'),
        td('5xx', pct(r.errorRate), 'num error-rate'),
        td('4xx', pct(r.clientErrorRate), 'num'),
        td('p50', ms(r.p50Ms), 'num'),
        td('p99', ms(r.p99Ms), 'num')
      ]));
    });
    var labels = state.routeColumns.map(function (c) { return [c.label]; });
    var wrap = el('div', null, [table([['prefix'], ['methods'], ['host'], ['service'], ['auth']].concat(labels, [
      ['req/s', 'num'], ['5xx', 'num'], ['4xx', 'num'], ['p50', 'num'], ['p99', 'num']]), rows, 'no routes'),
      el('p', { 'class': 'muted', text: 'rates and latency over the last ' + state.windows.routesSeconds + ' seconds' })]);
    fill('routes', wrap);
  }

  function detailList(detail, depth) {
    var dl = el('dl');
    Object.keys(detail || {}).forEach(function (k) {
      var v = detail[k];
      var dd = el('dd');
      if (v !== null && typeof v === 'object' && depth < 3) dd.appendChild(detailList(v, depth + 1));
      else dd.textContent = Array.isArray(v) ? v.join(', ') : String(v);
      dl.appendChild(el('dt', { text: words(k) }));
      dl.appendChild(dd);
    });
    return dl;
  }

  function renderComponents(state) {
    var names = Object.keys(state.components);
    var wrap = el('div');
    if (names.length === 0) wrap.appendChild(el('p', { 'class': 'empty', text: 'no components (no plugin reports one)' }));
    names.forEach(function (name) {
      var c = state.components[name];
      wrap.appendChild(el('h3', { 'data-component': name }, [el('span', { text: name }),
        el('span', { 'class': 'badge ' + (c.healthy ? 'up' : 'down'), text: c.healthy ? 'healthy' : 'unhealthy' })]));
      if (c.detail) wrap.appendChild(detailList(c.detail, 0));
    });
    fill('components', wrap);
  }

  function renderPlugins(state) {
    var wrap = el('div');
    var any = false;
    Object.keys(state.plugins).forEach(function (plugin) {
      var panels = state.plugins[plugin];
      Object.keys(panels).forEach(function (panel) {
        any = true;
        var counts = panels[panel];
        wrap.appendChild(el('h3', { text: plugin + ': ' + words(panel) }));
        var rows = Object.keys(counts).map(function (k) {
          return el('tr', { 'data-panel': panel, 'data-key': k }, [td('name', k), td('count', counts[k], 'num')]);
        });
        wrap.appendChild(table([['name'], ['count', 'num']], rows, 'none'));
      });
    });
    if (!any) wrap.appendChild(el('p', { 'class': 'empty', text: 'no plugin counters' }));
    fill('plugins', wrap);
  }

  function renderHeader(state) {
    document.getElementById('version').textContent = 'v' + state.gateway.version;
    var ready = document.getElementById('ready');
    ready.textContent = state.gateway.ready ? 'ready' : 'not ready';
    ready.className = state.gateway.ready ? 'up' : 'down';
    document.getElementById('config-hash').textContent = state.config.configHash;
    var r = state.config.lastReload;
    var reload = document.getElementById('reload');
    reload.textContent = r ? 'last reload ' + (r.ok ? 'ok' : r.error || 'failed') + ', ' + ago(r.at, state.gateway.now)
      : 'started ' + ago(state.config.startedAt, state.gateway.now);
    reload.className = r && !r.ok ? 'down' : '';
  }


  // Charts: one per measure and per kind (routes, targets), a line per route or target, drawn by
  // uPlot (served by the gateway itself). Redrawn in place while the set of lines stays the same.
  var PALETTE = ['#1a7f37', '#0969da', '#bf3989', '#9a6700', '#cf222e', '#8250df', '#1b7c83', '#6e7781'];
  var MEASURES = [
    ['requestsPerSecond', 'requests/s', function (v) { return (Math.round(v * 100) / 100) + '/s'; }],
    ['errorRate', '5xx rate', function (v) { return (Math.round(v * 1000) / 10) + '%'; }],
    ['p99Ms', 'p99 latency', function (v) { return (Math.round(v * 10) / 10) + ' ms'; }]
  ];
  var charts = {};
  function chartWidth(box) { return Math.max(200, Math.floor(box.getBoundingClientRect().width) - 2); }
  function latest(values) {
    for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i];
    return null;
  }
  function drawChart(grid, kind, measure, history) {
    var key = kind + ':' + measure[0];
    var byName = history[kind];
    var names = Object.keys(byName).sort();
    var points = names.length ? byName[names[0]][measure[0]].length : 0;
    var xs = [];
    for (var i = 0; i < points; i++) xs.push(history.start + i * history.slotSeconds);
    var data = [xs].concat(names.map(function (n) { return byName[n][measure[0]]; }));
    var c = charts[key];
    if (!c) {
      var fig = el('figure', { 'class': 'chart', 'data-chart': key });
      var caption = el('figcaption');
      var plot = el('div', { 'class': 'plot' });
      fig.appendChild(caption);
      fig.appendChild(plot);
      c = charts[key] = { fig: fig, caption: caption, plot: plot, u: null, names: '' };
    }
    grid.appendChild(c.fig);
    var label = (kind === 'routes' ? 'Routes' : 'Targets') + ': ' + measure[1];
    var now = names.map(function (n) {
      var v = latest(byName[n][measure[0]]);
      return n + ' ' + (v === null ? '\u2013' : measure[2](v));
    });
    c.caption.textContent = label + (now.length ? ' \u2014 latest ' + now.join(', ') : ' \u2014 no traffic yet');
    c.fig.setAttribute('data-latest', JSON.stringify(names.map(function (n) { return latest(byName[n][measure[0]]); })));
    if (typeof uPlot !== 'function' || names.length === 0) return;
    if (c.u && c.names === names.join('\n')) {
      c.u.setData(data);
      return;
    }
    if (c.u) c.u.destroy();
    c.names = names.join('\n');
    c.u = new uPlot({
      width: chartWidth(c.fig),
      height: 150,
      legend: { show: names.length <= 6, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [
        { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } },
        { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' }, size: 70,
          values: function (u, vals) { return vals.map(function (v) { return measure[2](v); }); } }
      ],
      series: [{}].concat(names.map(function (n, i) {
        // Error rate and p99 have gaps where no request came: points keep a lone value visible.
        return { label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
          points: { show: measure[0] !== 'requestsPerSecond', size: 4 },
          value: function (u, v) { return v === null || v === undefined ? '\u2013' : measure[2](v); } };
      }))
    }, data, c.plot);
  }
  function renderCharts(state) {
    var history = state.history;
    var body = document.querySelector('#charts .body');
    if (!history) return;
    var wrap = body.firstChild;
    if (!wrap) {
      wrap = el('div', { 'class': 'charts' });
      body.appendChild(wrap);
    }
    ['routes', 'targets'].forEach(function (kind) {
      MEASURES.forEach(function (m) { drawChart(wrap, kind, m, history); });
    });
  }
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (k) {
      var c = charts[k];
      if (c.u) c.u.setSize({ width: chartWidth(c.fig), height: 150 });
    });
  });

  function render(state) {
    renderHeader(state);
    renderCharts(state);
    renderServices(state);
    renderRoutes(state);
    renderComponents(state);
    renderPlugins(state);
  }

  function poll() {
    fetch('state.json', { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (state) {
        render(state);
        lastOk = Date.now();
        statusEl.textContent = 'updated ' + new Date(lastOk).toLocaleTimeString();
        statusEl.className = '';
      })
      .catch(function (err) {
        statusEl.textContent = 'not updating (' + err.message + ')' + (lastOk ? ', last ' + new Date(lastOk).toLocaleTimeString() : '');
        statusEl.className = 'stale';
      })
      .then(function () { setTimeout(poll, document.hidden ? Math.max(refreshMs, 10000) : refreshMs); });
  }
  poll();
})();
`;
