/* outpost dashboard: polls the JSON API and redraws the table; no framework, no network beyond
 * this appliance. The server-rendered table stays usable without JavaScript. */
(function () {
  'use strict';
  var PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'];
  var $ = function (id) { return document.getElementById(id); };
  var detailName = null;

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function ms(v) { return v == null ? '' : (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + ' ms'; }
  function age(ts) {
    if (!ts) return '';
    var s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
    return s < 90 ? Math.round(s) + 's ago' : s < 5400 ? Math.round(s / 60) + 'm ago' : Math.round(s / 3600) + 'h ago';
  }
  function getJSON(url, opts) {
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || r.status); return j; });
    });
  }

  /* inline SVG: durations as a line, failures as red ticks */
  function spark(h) {
    if (!h || !h.length) return '';
    var w = 120, hh = 24, max = 0, i, pts = [], bad = '';
    for (i = 0; i < h.length; i++) max = Math.max(max, h[i][1]);
    max = max || 1;
    for (i = 0; i < h.length; i++) {
      var x = h.length === 1 ? w / 2 : (i * (w - 2)) / (h.length - 1) + 1;
      var y = hh - 2 - (h[i][1] / max) * (hh - 4);
      pts.push(x.toFixed(1) + ',' + y.toFixed(1));
      if (!h[i][2]) bad += '<line x1="' + x.toFixed(1) + '" y1="0" x2="' + x.toFixed(1) + '" y2="' + hh + '" stroke="#c0262d" stroke-width="1.5"/>';
    }
    return '<svg class="spark" viewBox="0 0 ' + w + ' ' + hh + '" aria-label="history">' + bad +
      '<polyline fill="none" stroke="#3b82c4" stroke-width="1.5" points="' + pts.join(' ') + '"/></svg>';
  }
  function phaseBar(r) {
    if (!r) return '';
    var total = 0, out = '', i;
    for (i = 0; i < PHASES.length; i++) total += r.phases[PHASES[i]] || 0;
    if (!total) return '';
    for (i = 0; i < PHASES.length; i++) {
      var v = r.phases[PHASES[i]] || 0;
      if (v > 0) out += '<i class="p' + i + '" style="width:' + (100 * v / total).toFixed(1) + '%" title="' + PHASES[i] + ' ' + ms(v) + '"></i>';
    }
    return '<div class="bar">' + out + '</div>';
  }

  /* the objective's shortest window: availability against the target */
  function slo(o) {
    if (!o || !o.windows.length) return '';
    var w = o.windows[0];
    return '<span class="age slo ' + (w.met ? 'met' : 'missed') + '" title="objective ' +
      (o.availability ? (100 * o.availability) + '% ' : '') + 'over ' + w.window + '">' +
      w.window + ' ' + (100 * w.availability).toFixed(2) + '% ' + (w.met ? '✓' : '✗') + '</span>';
  }

  /* a pipeline probe's events: counts, the latest latency, the missing share, the subscription */
  function events(e) {
    if (!e) return '';
    var pct = function (v) { return v == null ? '–' : (100 * v).toFixed(1) + '%'; };
    var m = e.missing_share;
    return '<small class="events" title="' + esc(e.subscription.last_error || '') + '">events ' +
      e.posted + ' posted · ' + e.received + ' back · ' + e.lost + ' lost · ' + e.duplicates + ' dup · ' +
      e.foreign + ' foreign · latest ' + (e.last_latency_ms == null ? '–' : ms(e.last_latency_ms)) +
      ' · missing 1m ' + pct(m['1m']) + ' 3m ' + pct(m['3m']) + ' 10m ' + pct(m['10m']) +
      ' · <span class="sub ' + (e.subscription.connected ? 'up' : 'down') + '">subscription ' +
      (e.subscription.connected ? 'open' : 'down') + '</span></small>';
  }

  /* a TLS probe's certificate: the days it has left, red when fewer than 14 */
  function cert(last) {
    var t = last && last.tls;
    if (!t || !t.cert_expiry_unix) return '';
    var days = (t.cert_expiry_unix * 1000 - Date.now()) / 864e5;
    return '<small class="cert' + (days < 14 ? ' soon' : '') + '">' + esc(t.version) + ' · certificate ' +
      (days < 0 ? 'expired ' + Math.ceil(-days) + ' days ago' : 'expires in ' + Math.floor(days) + ' days') +
      (t.verified ? '' : ' · not verified') + '</small>';
  }

  function row(p) {
    var last = p.last, fail = p.last_failure;
    var ratio = p.success_ratio == null ? '' : (100 * p.success_ratio).toFixed(p.success_ratio === 1 ? 0 : 1) + '%';
    return '<tr data-probe="' + esc(p.name) + '">' +
      '<td class="name"><a href="#probe=' + encodeURIComponent(p.name) + '">' + esc(p.name) + '</a><small>' + esc(p.kind) + ' · ' + esc(p.target) + '</small>' + cert(last) + events(p.events) + '</td>' +
      '<td><span class="badge ' + p.state + '">' + p.state + '</span><span class="age">' + age(last && last.timestamp) + '</span></td>' +
      '<td class="w latency">' + (last ? ms(last.duration_ms) : '') + '</td>' +
      '<td class="w">' + spark(p.history) + '</td>' +
      '<td class="m">' + ratio + slo(p.objective) + '</td>' +
      '<td class="m">' + phaseBar(last) + '</td>' +
      '<td class="reason">' + (fail ? esc(fail.reason + (fail.detail ? ': ' + fail.detail : '')) + '<span class="age">' + age(fail.timestamp) + '</span>' : '') + '</td>' +
      '<td class="m"><button type="button" class="run" data-probe="' + esc(p.name) + '">run now</button></td></tr>';
  }

  /* channels and exports whose latest attempt failed, with why (the API's last_failure) */
  var failing = {channels: [], exports: []};
  function showDeliveries() {
    var all = failing.channels.concat(failing.exports);
    $('deliveries').hidden = !all.length;
    $('delivery-list').innerHTML = all.map(function (d) {
      var f = d.last_failure || {};
      return '<li class="alarm"><b>' + esc(d.name) + '</b> · ' + d.what +
        (d.pending ? ' · ' + d.pending : '') +
        (f.reason ? ' · failing <span class="age">' + age(f.timestamp) + '</span>' +
          ' <span class="reason">' + esc(f.reason + (f.detail ? ': ' + f.detail : '')) + '</span>' : '') + '</li>';
    }).join('');
  }
  function failingOf(list, what, pending) {
    return list.filter(function (d) { return d.failing; }).map(function (d) {
      return {name: d.name, what: what(d), pending: pending(d), last_failure: d.last_failure};
    });
  }

  function refresh() {
    getJSON('/api/v1/probes?history=60').then(function (j) {
      $('probes').tBodies[0].innerHTML = j.probes.map(row).join('');
    }).catch(function () {});
    getJSON('/api/v1/alarms').then(function (j) {
      var on = j.alarms.filter(function (a) { return a.state !== 'ok'; });
      $('alarms').hidden = !on.length;
      $('alarm-list').innerHTML = on.map(function (a) {
        return '<li class="alarm ' + a.state + '"><b>' + esc(a.alarm) + '</b> · ' + esc(a.probe) + ' · ' +
          a.state + ' <span class="age">since ' + age(a.since) + '</span>' +
          (a.silenced ? ' <span class="age">silenced</span>' : '') +
          (a.reason ? ' <span class="reason">' + esc(a.reason) + '</span>' : '') + '</li>';
      }).join('');
      failing.channels = failingOf(j.channels, function (c) { return c.type + ' channel'; },
        function (c) { return c.queued ? c.queued + ' queued' : ''; });
      showDeliveries();
    }).catch(function () {});
    getJSON('/api/v1/exports').then(function (j) {
      failing.exports = failingOf(j.exports, function () { return 'export'; },
        function (e) { return e.pending_records ? e.pending_records + ' results pending' : ''; });
      if (j.spool_medium_failed)
        failing.exports.push({name: 'spool', what: 'spool.dir cannot be written',
          pending: 'results kept in memory until the next start'});
      showDeliveries();
    }).catch(function () {});
    getJSON('/api/v1/appliance').then(function (a) {
      $('app-name').textContent = a.name + (a.region ? ' · ' + a.region : '');
      var runs = a.pools.runs || {used: 0, max: 0};
      $('app-facts').textContent = 'outpost ' + a.version + ' · up ' + Math.round(a.uptime_s) + 's · ' +
        a.probes + (a.probes === 1 ? ' probe' : ' probes') + ' · runs ' + runs.used + '/' + runs.max + ' · ' + Math.round(a.memory.rss_bytes / 1024) + ' KiB RSS';
      /* a refused reload: the file on disk is not what runs, and why */
      var r = a.last_reload;
      $('config').hidden = !(r && !r.ok);
      $('config-list').innerHTML = r && !r.ok ? '<li class="alarm"><b>reload refused</b> · the running config goes on' +
        ' <span class="age">' + age(r.at) + '</span> <span class="reason">' + esc(r.error) + '</span></li>' : '';
    }).catch(function () {});
    if (detailName) showDetail(detailName);
  }

  function showDetail(name) {
    detailName = name;
    $('detail').hidden = false;
    $('d-name').textContent = name;
    getJSON('/api/v1/probes/' + encodeURIComponent(name) + '/results?limit=50').then(function (j) {
      $('d-rows').innerHTML = j.results.map(function (r) {
        return '<tr><td>' + esc(r.timestamp.replace('T', ' ').slice(0, 19)) + '</td><td><span class="badge ' + (r.success ? 'up">ok' : 'down">fail') + '</span></td><td>' +
          r.duration_ms.toFixed(2) + '</td><td class="m">' + PHASES.map(function (k) { return (r.phases[k] || 0).toFixed(2); }).join(' / ') +
          '</td><td class="reason">' + esc(r.success ? '' : r.reason + ': ' + r.detail) + '</td></tr>';
      }).join('');
      var r0 = j.results[0];
      $('d-config').textContent = r0 ? r0.kind + ' ' + r0.target + ' · region ' + (r0.region || '-') : 'no results yet';
    }).catch(function (e) { $('d-config').textContent = String(e.message); });
  }

  function route() {
    var m = /^#probe=(.+)$/.exec(location.hash);
    if (m) showDetail(decodeURIComponent(m[1]));
    else { detailName = null; $('detail').hidden = true; }
  }

  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button.run');
    if (b) {
      var token = localStorage.getItem('outpost.token') || prompt('API token (web.token):');
      if (!token) return;
      localStorage.setItem('outpost.token', token);
      b.disabled = true;
      b.textContent = 'running…';
      getJSON('/api/v1/probes/' + encodeURIComponent(b.dataset.probe) + '/run', {
        method: 'POST', headers: {Authorization: 'Bearer ' + token}
      }).then(function (r) {
        b.textContent = r.success ? 'ok ' + ms(r.duration_ms) : 'failed';
        setTimeout(refresh, 300);
      }).catch(function (e) {
        if (/token/.test(e.message)) localStorage.removeItem('outpost.token');
        b.textContent = e.message;
      });
    }
    if (ev.target.id === 'd-close') location.hash = '';
  });
  window.addEventListener('hashchange', route);
  route();
  refresh();
  setInterval(refresh, 3000);
})();
