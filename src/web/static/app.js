// kiln's live page: draws every page from the JSON API and keeps a bulk's page live by Server-Sent Events.
// No framework: text always goes in through textContent (never innerHTML), so log and port text cannot inject HTML.
'use strict';

const $main = document.getElementById('main');
const $live = document.getElementById('live');
let cleanup = [];

/** Makes an element: h('td.num', {title: 'x'}, 'text', child...). */
function h(tag, attrs, ...kids) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style')
      Object.assign(el.style, v); // CSSOM: allowed under the page's CSP, unlike style=
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat())
    if (kid !== null && kid !== undefined && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const link = (href, text, cls) => h(cls ? `a.${cls}` : 'a', { href, 'data-nav': '' }, text);
const portHref = (origin) => `/ports/${origin}`;
const logHref = (bulk, origin) => `/bulks/${bulk}/ports/${origin}`;

function dur(s) {
  if (s === null || s === undefined || !isFinite(s)) return '';
  s = Math.max(0, s);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
// Times with their time zone (the viewer's; the title has the UTC time).
const when = (iso) =>
  iso
    ? h('time', { datetime: iso, title: iso }, new Date(iso).toLocaleString(undefined, { timeZoneName: 'short' }))
    : '';
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
/** Ports per hour for people: nothing built yet says so, not `0.0 ports/hour`. */
const throughput = (built, elapsedS) => {
  if (!built || !(elapsedS > 0)) return 'no port built yet';
  const perHour = (built / elapsedS) * 3600;
  return `${perHour.toFixed(perHour < 10 ? 1 : 0)} ports/hour`;
};
/**
 * The ETA now: the runner's last estimate counted down since it came, plus what running builds have overrun their
 * expected time since then (a build past its expectation pushes the end back; the next estimate takes it in).
 */
function etaNow(s, now) {
  if (s.etaS === null || s.etaS === undefined) return null;
  const at = s.etaAt || now;
  let over = 0;
  for (const p of s.ports) {
    if (p.result !== 'running' || !p.startedT || !p.expectedS) continue;
    const overNow = Math.max(0, (now - p.startedT) / 1000 - p.expectedS);
    const overThen = Math.max(0, (at - p.startedT) / 1000 - p.expectedS);
    over += overNow - overThen;
  }
  return Math.max(0, s.etaS - (now - at) / 1000) + over;
}

async function getJson(url) {
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).trim()}`);
  return r.json();
}

function setLive(on) {
  $live.hidden = on === null;
  $live.classList.toggle('off', on === false);
  $live.textContent = on === false ? 'reconnecting' : 'live';
}

// ---- routing ----------------------------------------------------------------------------------------------------
function route() {
  for (const c of cleanup) c();
  cleanup = [];
  setLive(null);
  const p = location.pathname.replace(/\/+$/, '') || '/';
  let m;
  const pages = [
    [/^\/(bulks)?$/, () => bulksPage()],
    [/^\/bulks\/(\d+)$/, () => bulkPage(Number(m[1]))],
    [/^\/bulks\/(\d+)\/ports\/([^/]+\/[^/]+)$/, () => bulkPortPage(Number(m[1]), decodeURIComponent(m[2]))],
    [/^\/ports\/([^/]+\/[^/]+)$/, () => portPage(decodeURIComponent(m[1]))],
    [/^\/repos(?:\/([^/]+))?$/, () => reposPage(m[1] ? decodeURIComponent(m[1]) : null)],
  ];
  for (const [re, fn] of pages) {
    m = re.exec(p);
    if (m) {
      fn().catch(showError);
      return;
    }
  }
  page(h('p.error', {}, `no page at ${p}`));
}
/** Replaces the page's content; arrays (and nulls) among the parts are flattened out. */
function page(...parts) {
  $main.replaceChildren(...parts.flat(3).filter((x) => x !== null && x !== undefined && x !== false));
}
function showError(e) {
  page(h('p.error', {}, String(e && e.message ? e.message : e)));
}
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  route();
});
window.addEventListener('popstate', route);

// ---- bulks list -------------------------------------------------------------------------------------------------
async function bulksPage() {
  document.title = 'kiln: bulks';
  const filter = { jail: '', tree: '' };
  const draw = (bulks) => {
    const jails = [...new Set(bulks.map((b) => b.jail))].sort();
    const trees = [...new Set(bulks.map((b) => b.tree))].sort();
    const sel = (key, values) =>
      h(
        'select',
        {
          onchange: (e) => {
            filter[key] = e.target.value;
            draw(bulks);
          },
        },
        h('option', { value: '' }, `every ${key}`),
        values.map((v) => h('option', { value: v, selected: filter[key] === v }, v)),
      );
    const shown = bulks.filter(
      (b) => (!filter.jail || b.jail === filter.jail) && (!filter.tree || b.tree === filter.tree),
    );
    const c = (b, k) => (b.counts ? (b.counts[k] ?? 0) : '');
    page(
      h('h1', {}, 'Bulks'),
      h('div.filters', {}, sel('jail', jails), sel('tree', trees)),
      shown.length === 0
        ? h('p.mute', {}, 'no bulks yet: run kiln bulk')
        : h(
            'table',
            { id: 'bulks' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                [
                  '#',
                  'status',
                  'jail',
                  'tree',
                  'started',
                  'duration',
                  'built',
                  'failed',
                  'skipped',
                  'kept',
                  'left',
                ].map((title, i) => h(i >= 5 ? 'th.num' : 'th', {}, title)),
              ),
            ),
            h(
              'tbody',
              {},
              shown.map((b) =>
                h(
                  'tr',
                  { dataset: { bulk: b.id } },
                  h('td', {}, link(`/bulks/${b.id}`, `${b.id}`)),
                  h('td', {}, h(`span.badge.${b.status}`, {}, b.status)),
                  h('td', {}, b.jail),
                  h('td', {}, b.tree),
                  h('td', {}, when(b.started)),
                  h('td.num', {}, dur(b.durationS)),
                  h('td.num', {}, c(b, 'built')),
                  h('td.num', {}, c(b, 'failed')),
                  h('td.num', {}, c(b, 'skipped')),
                  h('td.num', {}, c(b, 'kept')),
                  h('td.num', {}, c(b, 'remaining')),
                ),
              ),
            ),
          ),
    );
  };
  const load = async () => draw(await getJson('/api/bulks'));
  await load();
  const t = setInterval(() => load().catch(() => {}), 4000);
  cleanup.push(() => clearInterval(t));
}

// ---- one bulk, live ---------------------------------------------------------------------------------------------
/** The same moves as src/report/state.ts applyEvent. */
function applyEvent(s, ev) {
  const port = (o) => {
    let e = s.index.get(o);
    if (!e) {
      e = { origin: o, result: 'queued' };
      s.index.set(o, e);
      s.ports.push(e);
    }
    return e;
  };
  switch (ev.type) {
    case 'bulk-start':
      Object.assign(s, { jail: ev.jail, tree: ev.tree, builders: ev.builders, counts: ev.counts, status: 'running' });
      break;
    case 'queue':
      s.queue = new Set(ev.origins);
      break;
    case 'port-start': {
      const e = port(ev.origin);
      Object.assign(e, { result: 'running', builder: ev.builder, startedT: ev.t, expectedS: ev.expectedS });
      delete e.phase;
      delete e.reason;
      delete e.failure;
      s.queue.delete(ev.origin);
      break;
    }
    case 'port-phase':
      port(ev.origin).phase = ev.phase;
      break;
    case 'port-done': {
      const e = port(ev.origin);
      e.result = ev.ok ? 'built' : 'failed';
      e.wallS = ev.wallS;
      if (ev.ok) {
        delete e.phase;
      } else {
        e.phase = ev.phase;
        e.failure = ev.failure;
        e.reason = ev.reason;
      }
      s.queue.delete(ev.origin);
      break;
    }
    case 'port-skipped': {
      const e = port(ev.origin);
      e.result = 'skipped';
      if (!(e.reason || '').includes(ev.because)) e.reason = `depends on ${ev.because}, which failed`;
      s.queue.delete(ev.origin);
      break;
    }
    case 'progress':
      s.counts = ev.counts;
      s.etaS = ev.etaS;
      s.etaAt = ev.t;
      s.elapsedS = ev.elapsedS;
      s.elapsedAt = Date.now();
      break;
    case 'publish':
      s.generation = ev.generation;
      break;
    case 'bulk-done':
      Object.assign(s, {
        status: ev.status,
        counts: ev.counts,
        elapsedS: ev.wallS,
        etaS: 0,
        offenders: ev.offenders,
        finished: new Date(ev.t).toISOString(),
      });
      if (ev.generation !== undefined) s.generation = ev.generation;
      break;
    default:
      break;
  }
}

const LIST_MAX = 300;
function portList(id, bulk, rows, cols) {
  const shown = rows.slice(0, LIST_MAX);
  return [
    rows.length === 0
      ? h('p.mute', {}, 'none')
      : h(
          'table',
          { id },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              cols.map((c) => h(c.num ? 'th.num' : 'th', {}, c.t)),
            ),
          ),
          h(
            'tbody',
            {},
            shown.map((p) =>
              h(
                'tr',
                { dataset: { origin: p.origin } },
                cols.map((c) => h(c.num ? 'td.num' : 'td', {}, c.v(p))),
              ),
            ),
          ),
        ),
    rows.length > LIST_MAX ? h('div.more', {}, `and ${rows.length - LIST_MAX} more (see the report)`) : null,
  ];
}

async function bulkPage(id) {
  document.title = `kiln: bulk ${id}`;
  const api = await getJson('/api').catch(() => ({ actions: false }));
  // QA per port (kiln bulk -t): lintian counts by severity and the install test, fetched again when a port ends.
  const qa = new Map();
  const loadQa = async () => {
    for (const q of await getJson(`/api/bulks/${id}/qa`).catch(() => [])) qa.set(q.origin, q);
  };
  await loadQa();
  const qaCell = (p) => {
    const q = qa.get(p.origin);
    if (!q) return '';
    const counts =
      Object.entries(q.lintian)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ') || 'clean';
    return h(
      q.ok ? 'span.qa' : 'span.qa.error',
      { title: q.reason || '' },
      `${counts}; install ${q.install.ok ? 'ok' : 'failed'}${
        q.autopkgtest
          ? `; autopkgtest ${Object.entries(q.autopkgtest)
              .map(([k, v]) => `${k} ${v}`)
              .join(' · ')}`
          : ''
      }`,
    );
  };
  let s = null;
  let offset = 0; // server clock minus ours
  let dirty = false;
  const now = () => Date.now() + offset;
  const liveElapsed = () => (s.status === 'running' ? Math.max(0, (now() - Date.parse(s.started)) / 1000) : s.elapsedS);

  const drawBuilders = (box) => {
    const running = s.ports.filter((p) => p.result === 'running');
    const byBuilder = new Map(running.map((p) => [p.builder, p]));
    const n = Math.max(s.builders, ...running.map((p) => p.builder || 0));
    const out = [];
    for (let b = 1; b <= n; b++) {
      const p = byBuilder.get(b);
      if (!p) {
        out.push(
          h(
            'div.builder.idle',
            { dataset: { builder: b } },
            h('span.num', {}, `#${b}`),
            h('span.origin', {}, 'idle'),
            h('span'),
            h('span'),
          ),
        );
        continue;
      }
      const el = (now() - (p.startedT || now())) / 1000;
      const pct = p.expectedS > 0 ? Math.min(100, (el / p.expectedS) * 100) : 0;
      out.push(
        h(
          'div.builder',
          { dataset: { builder: b, origin: p.origin } },
          h('span.num', {}, `#${b}`),
          h('span.origin', {}, link(logHref(id, p.origin), p.origin)),
          h('span.phase', {}, p.phase || 'starting'),
          h('span.el', { title: `expected ${dur(p.expectedS)}` }, `${dur(el)} / ${dur(p.expectedS)}`),
          h('div.bar', {}, h(el > p.expectedS ? 'span.over' : 'span', { style: { width: `${pct.toFixed(1)}%` } })),
        ),
      );
    }
    box.replaceChildren(...out);
  };

  const draw = () => {
    dirty = false;
    const c = s.counts;
    const total = c.built + c.failed + c.skipped + c.remaining;
    const elapsed = liveElapsed();
    const by = (r) => s.ports.filter((p) => p.result === r);
    const failed = by('failed');
    const logCell = (p) => link(logHref(id, p.origin), p.origin);
    const bar = (k) => h(`span.p-${k}`, { style: { width: `${total ? (c[k] / total) * 100 : 0}%` } });
    const queue = [...s.queue];
    const builders = h('div.builders', { id: 'builders' });
    drawBuilders(builders);
    const actions = [];
    if (api.actions && s.status === 'running')
      actions.push(h('button.danger', { onclick: () => act(`/api/bulks/${id}/cancel`) }, 'cancel'));
    page(
      h('h1', {}, `Bulk ${id}`, h(`span.badge.${s.status}`, { id: 'status' }, s.status), ...actions),
      h(
        'div.meta',
        {},
        h('span', {}, 'jail ', h('b', {}, s.jail)),
        h('span', {}, 'tree ', h('b', {}, s.tree)),
        h('span', { id: 'builders-n' }, plural(s.builders, 'builder', 'builders')),
        h('span', {}, 'started ', when(s.started)),
        h('span', { id: 'elapsed' }, 'elapsed ', h('b', {}, dur(elapsed))),
        s.status === 'running'
          ? h('span', { id: 'eta' }, 'ETA ', h('b', {}, etaNow(s, now()) === null ? '…' : dur(etaNow(s, now()))))
          : null,
        h('span', { id: 'throughput' }, throughput(c.built, elapsed)),
        s.generation !== undefined ? h('span', {}, 'repository generation ', h('b', {}, s.generation)) : null,
        h('a', { href: `/bulks/${id}/report.html` }, 'report'),
      ),
      h(
        'div.cards',
        {},
        ['built', 'failed', 'skipped', 'kept', 'deleted', 'remaining'].map((k) =>
          h(`div.card.${k}`, {}, h('span.v', { id: `count-${k}` }, c[k] ?? 0), h('span.k', {}, k)),
        ),
      ),
      h('div.progress', {}, bar('built'), bar('failed'), bar('skipped')),
      h(
        'div.grid2',
        {},
        h('section', {}, h('h2', {}, 'Builders'), builders),
        h(
          'section',
          {},
          h('h2', {}, 'Queue ', h('span.n', {}, `(${queue.length}, in priority order)`)),
          queue.length === 0
            ? h('p.mute', {}, 'empty')
            : h(
                'ol.queue',
                { id: 'queue' },
                queue.slice(0, 200).map((o, i) => h('li', {}, h('span.i', {}, i + 1), o)),
              ),
          queue.length > 200 ? h('div.more', {}, `and ${queue.length - 200} more`) : null,
        ),
      ),
      h('h2', {}, 'Failed ', h('span.n', {}, `(${failed.length})`)),
      portList('failed-list', id, failed, [
        { t: 'port', v: logCell },
        { t: 'phase', v: (p) => p.phase || '' },
        { t: 'kind', v: (p) => p.failure || '' },
        { t: 'reason', v: (p) => h('span.reason', {}, p.reason || '') },
        { t: 'qa', v: qaCell },
        { t: 'time', num: true, v: (p) => dur(p.wallS) },
        ...(api.actions
          ? [
              {
                t: '',
                v: (p) => h('button', { onclick: () => act(`/api/bulks/${id}/ports/${p.origin}/retry`) }, 'retry'),
              },
            ]
          : []),
      ]),
      s.offenders && s.offenders.length
        ? [
            h('h2', {}, 'Most offending failures'),
            portList('offenders', id, s.offenders, [
              { t: 'port', v: (p) => link(portHref(p.origin), p.origin) },
              { t: 'ports blocked', num: true, v: (p) => p.blocked },
            ]),
          ]
        : null,
      h('h2', {}, 'Skipped ', h('span.n', {}, `(${by('skipped').length})`)),
      portList('skipped-list', id, by('skipped'), [
        { t: 'port', v: (p) => link(portHref(p.origin), p.origin) },
        { t: 'why', v: (p) => h('span.reason', {}, p.reason || '') },
      ]),
      h('h2', {}, 'Built ', h('span.n', {}, `(${by('built').length})`)),
      portList('built-list', id, by('built'), [
        { t: 'port', v: logCell },
        { t: 'version', v: (p) => p.version || '' },
        { t: 'why', v: (p) => h('span.reason', {}, (p.reasons || []).join('; ')) },
        { t: 'qa', v: qaCell },
        { t: 'time', num: true, v: (p) => dur(p.wallS) },
      ]),
      h('h2', {}, 'Kept ', h('span.n', {}, `(${by('kept').length})`)),
      portList('kept-list', id, by('kept'), [{ t: 'port', v: (p) => link(portHref(p.origin), p.origin) }]),
      by('deleted').length
        ? [
            h('h2', {}, 'Deleted'),
            portList('deleted-list', id, by('deleted'), [
              { t: 'port', v: (p) => p.origin },
              { t: 'why', v: (p) => (p.reasons || []).join('; ') },
            ]),
          ]
        : null,
    );
  };
  const schedule = () => {
    if (!dirty) {
      dirty = true;
      setTimeout(draw, 200);
    }
  };

  const es = new EventSource(`/api/bulks/${id}/events`);
  cleanup.push(() => es.close());
  es.addEventListener('snapshot', (m) => {
    const snap = JSON.parse(m.data);
    offset = snap.now - Date.now();
    s = {
      ...snap,
      etaAt: snap.lastT,
      index: new Map(),
      queue: new Set(snap.queue),
      elapsedAt: snap.status === 'running' ? Date.now() : 0,
    };
    for (const p of s.ports) s.index.set(p.origin, p);
    setLive(true);
    draw();
  });
  es.addEventListener('bulk', (m) => {
    if (!s) return;
    const ev = JSON.parse(m.data);
    applyEvent(s, ev);
    if (ev.type === 'port-done' || ev.type === 'bulk-done') void loadQa().then(schedule);
    else schedule();
  });
  es.addEventListener('status', (m) => {
    if (s) {
      Object.assign(s, JSON.parse(m.data));
      schedule();
    }
  });
  es.onerror = () => setLive(false);
  const tick = setInterval(() => {
    if (!s || s.status !== 'running') return;
    const box = document.getElementById('builders');
    if (box) drawBuilders(box);
    const el = document.querySelector('#elapsed b');
    if (el) el.textContent = dur(liveElapsed());
    const eta = document.querySelector('#eta b');
    const e = etaNow(s, now());
    if (eta && e !== null) eta.textContent = dur(e);
  }, 1000);
  cleanup.push(() => clearInterval(tick));
}

async function act(url) {
  let token = sessionStorage.getItem('kiln-token');
  if (!token) {
    token = prompt('kiln serve token');
    if (!token) return;
    sessionStorage.setItem('kiln-token', token);
  }
  const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (r.status === 401) sessionStorage.removeItem('kiln-token');
  alert(r.ok ? 'done' : `${r.status}: ${await r.text()}`);
}

// ---- one port of a bulk: its log ---------------------------------------------------------------------------------
function logLines(box, text, startN) {
  const frag = document.createDocumentFragment();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let n = startN;
  for (const l of lines) {
    n++;
    const cls = / FAILED in phase /.test(l)
      ? 'l err'
      : /^\[[^\]]+\] === phase /.test(l)
        ? 'l phase'
        : /^\[[^\]]+\] ! /.test(l)
          ? 'l stderr'
          : 'l';
    const d = document.createElement('div');
    d.className = cls;
    d.id = `L${n}`;
    d.dataset.n = n;
    d.textContent = l;
    frag.append(d);
  }
  box.append(frag);
  return n;
}

/** A port's QA: lintian's tags (by severity), the new errors, the install test. */
function qaSection(q) {
  const l = q.lintian;
  const counts =
    Object.entries(l.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ') || 'no tags';
  const i = q.install;
  return h(
    'section',
    { id: 'qa' },
    h('h2', {}, 'QA ', h(`span.badge.${q.ok ? 'built' : 'failed'}`, {}, q.ok ? 'ok' : 'failed')),
    q.reason ? h('p', {}, h('span.error', {}, q.reason)) : null,
    h(
      'p',
      {},
      'lintian: ',
      h('b', { id: 'qa-counts' }, counts),
      l.newErrors.length ? ` · new errors: ${l.newErrors.join(', ')}` : '',
      ` · baseline: ${l.baseline}`,
      l.error ? ` · ${l.error}` : '',
    ),
    l.tags.length
      ? h(
          'table',
          { id: 'qa-tags' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['', 'package', 'tag', 'info'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            l.tags.map((t) =>
              h(
                'tr',
                {},
                h('td', {}, t.severity),
                h('td.mono', {}, t.package),
                h('td.mono', {}, t.tag),
                h('td.mono', {}, t.info),
              ),
            ),
          ),
        )
      : null,
    h(
      'p',
      { id: 'qa-install' },
      'install test: ',
      h('b', {}, i.ok ? 'passed' : `failed: ${i.reason || ''}`),
      i.missing.length ? ` · missing: ${i.missing.join(', ')}` : '',
      i.leftovers.length ? ` · left after purge: ${i.leftovers.join(', ')}` : '',
    ),
    q.autopkgtest
      ? h(
          'p',
          { id: 'qa-autopkgtest' },
          'autopkgtest: ',
          h('b', {}, q.autopkgtest.error || (q.autopkgtest.present ? '' : 'no debian/tests/control')),
          q.autopkgtest.tests.map((t) => `${t.name} ${t.result}${t.reason ? ` (${t.reason})` : ''}`).join(' · '),
        )
      : null,
  );
}

async function bulkPortPage(id, origin) {
  document.title = `kiln: ${origin} in bulk ${id}`;
  const info = await getJson(`/api/bulks/${id}/ports/${origin}`);
  const p = info.port;
  const box = h('div.log', { id: 'log' });
  page(
    h(
      'h1',
      {},
      link(`/bulks/${id}`, `Bulk ${id}`),
      ' / ',
      h('span.mono', {}, origin),
      h(`span.badge.${p.result}`, { id: 'result' }, p.result),
    ),
    h(
      'div.meta',
      {},
      p.phase
        ? h('span', {}, p.result === 'failed' ? 'failed in phase ' : 'phase ', h('b', { id: 'phase' }, p.phase))
        : null,
      p.failure ? h('span', {}, 'kind ', h('b', {}, p.failure)) : null,
      p.wallS !== undefined ? h('span', {}, 'took ', h('b', {}, dur(p.wallS))) : null,
      info.log ? h('a', { href: info.log.url }, 'raw log') : null,
      link(portHref(origin), 'history'),
    ),
    p.reason ? h('p', { id: 'reason' }, h('span.error', {}, p.reason)) : null,
    info.qa ? qaSection(info.qa) : null,
    info.log ? box : h('p.mute', {}, 'no log (the port was not built in this bulk)'),
  );
  if (!info.log) return;
  const text = await (await fetch(info.log.url)).text();
  let n = logLines(box, text, 0);
  const first = info.log.firstErrorLine;
  if (first) {
    const el = document.getElementById(`L${first}`);
    if (el) {
      el.classList.add('err');
      el.scrollIntoView({ block: 'center' });
      box.dataset.firstError = first;
    }
  }
  if (p.result === 'running') {
    let partial = '';
    const es = new EventSource(
      `/api/bulks/${id}/ports/${origin}/log/stream?from=${new TextEncoder().encode(text).length}`,
    );
    cleanup.push(() => es.close());
    setLive(true);
    es.addEventListener('log', (m) => {
      const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
      const t = partial + JSON.parse(m.data).text;
      const cut = t.lastIndexOf('\n') + 1;
      partial = t.slice(cut);
      n = logLines(box, t.slice(0, cut), n);
      if (stick) box.scrollTop = box.scrollHeight;
    });
    es.addEventListener('end', () => {
      es.close();
      setLive(null);
      bulkPortPage(id, origin).catch(showError);
    });
    es.onerror = () => setLive(false);
  }
}

// ---- one port across bulks --------------------------------------------------------------------------------------
async function portPage(origin) {
  document.title = `kiln: ${origin}`;
  const d = await getJson(`/api/ports/${origin}`);
  page(
    h('h1', {}, h('span.mono', {}, origin)),
    h('h2', {}, 'Published packages'),
    d.packages.length === 0
      ? h('p.mute', {}, 'none')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['jail', 'tree', 'package', 'version', 'built', 'identity'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            d.packages.map((p) =>
              h(
                'tr',
                {},
                h('td', {}, p.jail),
                h('td', {}, p.tree),
                h('td', {}, p.pkgname),
                h('td', {}, p.version),
                h('td', {}, when(p.built)),
                h('td', {}, h('code', { title: p.identity }, p.identity.slice(0, 16))),
              ),
            ),
          ),
        ),
    h('h2', {}, 'Build history'),
    h(
      'table',
      { id: 'history' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['bulk', 'jail-tree', 'result', 'version', 'started', 'time', 'phase', 'why', 'identity', 'log'].map((t) =>
            h(t === 'time' ? 'th.num' : 'th', {}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        d.history.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, link(`/bulks/${r.bulkId}`, r.bulkId)),
            h('td', {}, `${r.jail || '?'}-${r.tree || '?'}`),
            h('td', {}, h(`span.badge.${r.result}`, {}, r.result)),
            h('td', {}, r.version || ''),
            h('td', {}, when(r.started)),
            h('td.num', {}, r.wallMs !== undefined ? dur(r.wallMs / 1000) : ''),
            h('td', {}, r.phase || ''),
            h('td.reason', {}, r.reason || (r.reasons || []).join('; ')),
            h('td', {}, r.identity ? h('code', { title: r.identity }, r.identity.slice(0, 12)) : ''),
            h('td', {}, r.log ? link(logHref(r.bulkId, r.origin), 'log') : ''),
          ),
        ),
      ),
    ),
  );
}

// ---- repositories -----------------------------------------------------------------------------------------------
async function reposPage(name) {
  document.title = 'kiln: repositories';
  const repos = (await getJson('/api/repos')).filter((r) => !name || r.name === name);
  page(
    h('h1', {}, name ? `Repository ${name}` : 'Repositories'),
    repos.length === 0
      ? h('p.mute', {}, name ? `no repository ${name}` : 'no repository is published yet (kiln bulk publishes one)')
      : null,
    repos.map((r) =>
      h(
        'section.sources',
        { dataset: { repo: r.name } },
        h(
          'h2',
          {},
          link(`/repos/${r.name}`, r.name),
          ' ',
          h('span.n', {}, `jail ${r.jail}, tree ${r.tree}, ${r.arch}, generation ${r.current ?? 'none'}`),
        ),
        h('div', {}, '1. Fetch the signing key:'),
        h('pre', {}, h('code.fetch-key', {}, r.fetchKey)),
        h('div', {}, `2. Add this line to /etc/apt/sources.list.d/kiln-${r.name}.list:`),
        h('pre', {}, h('code.sources-line', {}, r.sourcesLine)),
        h(
          'div',
          {},
          'Key: ',
          h('a', { href: r.keyUrl }, r.keyUrl),
          ' · files: ',
          h('a', { href: `/repo/${r.name}/` }, `/repo/${r.name}/`),
        ),
        h(
          'div.mute',
          {},
          `generations: ${r.generations.map((g) => `${g.generation}${g.current ? ' (current)' : ''}: ${g.packages} packages`).join(', ')}`,
        ),
      ),
    ),
  );
}

route();
