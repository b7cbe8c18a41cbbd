// tcplens report: the connection table, zoom and pan on the graphs, the
// tooltips, and the jump from a graph's mark to its ladder step. It reads
// the page's own data and puts everything from the capture in as text,
// never as markup.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';

  // ---- Numbers, as the Go side writes them.

  // duration writes seconds with three significant digits in the unit
  // that reads best, as render.AppendDuration does.
  function duration(s) {
    const units = [[1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns']];
    for (const [u, name] of units) {
      if (Math.abs(s) >= u || u === 1e-9) {
        const v = s / u;
        const digits = name === 'ns' ? 0 : Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0;
        return v.toFixed(digits) + ' ' + name;
      }
    }
    return String(s);
  }

  function bytes(n) {
    if (n < 1024) return String(n);
    const units = 'KMGTPE';
    let i = -1;
    for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
    return n.toFixed(1) + units[i] + 'i';
  }

  // ticks and formatTick follow the Go functions of the same names
  // (internal/graph/svg.go), so that a redrawn axis reads like the first.
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [[lo], 1];
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = mag;
    for (const m of [2, 5, 10]) {
      if (step >= raw) break;
      step = mag * m;
    }
    // Counted in steps, not summed: adding a small step to a large value
    // can leave it unchanged.
    const out = [];
    const last = Math.floor(hi / step + 1e-9);
    for (let k = Math.ceil(lo / step); k <= last && out.length < 4 * n; k++) out.push(k * step);
    return [out, step];
  }

  function decimals(step) {
    return step >= 1 ? 0 : Math.min(9, Math.ceil(-Math.log10(step) - 1e-9));
  }

  function formatTick(v, step, unit) {
    if (Math.abs(v) < step * 1e-6) v = 0;
    if (unit === 'B') {
      if (v === 0) return '0';
      let div = 1, suffix = '';
      const a = Math.max(Math.abs(v), step);
      if (a >= 1e9) [div, suffix] = [1e9, 'G'];
      else if (a >= 1e6) [div, suffix] = [1e6, 'M'];
      else if (a >= 1e3) [div, suffix] = [1e3, 'k'];
      return (v / div).toFixed(decimals(step / div)) + suffix;
    }
    if (unit === 's') return v.toFixed(decimals(step)) + ' s';
    return v.toFixed(decimals(step)) + ' ' + unit;
  }

  // ---- The connection table.

  const table = document.getElementById('conn-table');
  const data = JSON.parse(document.getElementById('conn-data').textContent);
  const heads = Array.from(table.tHead.rows[0].cells);
  const keys = heads.map(th => th.dataset.key);
  const SEV = keys.length, RANK = keys.length + 1, PICTURED = keys.length + 2;
  const sevNames = ['info', 'notice', 'warning', 'error'];
  const numeric = new Set(['id', 'start', 'dur', 'pkts', 'bytes', 'hs', 'retr']);
  // An address is the one cell that may wrap (besides the findings): before
  // its port, and after each colon of an IPv6 address, so that it breaks
  // between groups rather than stretch the table.
  function addrBreaks(s) {
    const port = s.lastIndexOf(':'), at = [];
    for (let i = s.indexOf(':'); i >= 0 && i < port; i = s.indexOf(':', i + 1)) {
      if (s[i + 1] !== ':' && i + 1 < port) at.push(i + 1);
    }
    at.push(port);
    return at;
  }
  const breakAt = {client: addrBreaks, server: addrBreaks};
  const cellText = {
    start: v => v.toFixed(3) + ' s',
    dur: duration,
    hs: v => (v === null ? '-' : duration(v)),
    pkts: p => p[0] + '/' + p[1],
    bytes: p => bytes(p[0]) + '/' + bytes(p[1]),
    retr: p => p[0] + '/' + p[1],
  };
  const filter = document.getElementById('conn-filter');
  const minSeverity = document.getElementById('conn-severity');
  const picturedOnly = document.getElementById('conn-detailed');
  const more = document.getElementById('conn-more');
  const countText = document.getElementById('conn-count');
  const PAGE = 200;
  let shown = PAGE, sortCol = -1, sortDir = 1;

  function text(row, i) {
    const f = cellText[keys[i]];
    return f ? f(row[i]) : String(row[i]);
  }

  function searchText(row) {
    if (row.search === undefined) row.search = keys.map((_, i) => text(row, i)).join(' ').toLowerCase();
    return row.search;
  }

  function sortValue(v) {
    if (Array.isArray(v)) return v[0] + v[1];
    return v === null ? -1 : v;
  }

  function visibleRows() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const min = Number(minSeverity.value);
    const rows = data.rows.filter(r => r[SEV] >= min && (!picturedOnly.checked || r[PICTURED]) &&
      words.every(w => searchText(r).includes(w)));
    const col = sortCol < 0 ? RANK : sortCol;
    const dir = sortCol < 0 ? 1 : sortDir;
    rows.sort((a, b) => {
      const x = sortValue(a[col]), y = sortValue(b[col]);
      return (x < y ? -1 : x > y ? 1 : a[RANK] - b[RANK]) * dir;
    });
    return rows;
  }

  function drawTable() {
    const rows = visibleRows();
    const body = document.createElement('tbody');
    for (const r of rows.slice(0, shown)) {
      const tr = body.insertRow();
      keys.forEach((key, i) => {
        const td = tr.insertCell();
        if (numeric.has(key)) td.className = 'num';
        if (key === 'id' && r[PICTURED]) {
          const a = document.createElement('a');
          a.href = '#c-' + r[0];
          a.textContent = r[0];
          td.appendChild(a);
          return;
        }
        const s = text(r, i);
        if (!breakAt[key]) {
          td.textContent = s;
        } else {
          td.className = 'addr';
          let from = 0;
          for (const at of breakAt[key](s).filter(at => at > 0)) {
            td.append(s.slice(from, at), document.createElement('wbr'));
            from = at;
          }
          td.append(s.slice(from));
        }
        if (key === 'id') td.title = 'not drawn: tcplens report -c ' + r[0] + ' draws it';
        if (key === 'findings' && r[SEV] > 0) td.classList.add('f-' + sevNames[r[SEV]]);
      });
    }
    table.replaceChild(body, table.tBodies[0]);
    countText.textContent = 'showing ' + Math.min(shown, rows.length) + ' of ' + rows.length +
      (rows.length < data.rows.length ? ' matching (' + data.rows.length + ' in all)' : '');
    more.hidden = rows.length <= shown;
  }

  heads.forEach((th, i) => th.addEventListener('click', () => {
    sortDir = sortCol === i ? -sortDir : 1;
    sortCol = i;
    heads.forEach(h => h.classList.remove('asc', 'desc'));
    th.classList.add(sortDir > 0 ? 'asc' : 'desc');
    drawTable();
  }));
  for (const el of [filter, minSeverity, picturedOnly]) {
    el.addEventListener('input', () => { shown = PAGE; drawTable(); });
  }
  more.addEventListener('click', () => { shown += PAGE; drawTable(); });
  drawTable();

  // ---- Connections in pictures: opening one, and finding a frame in its ladder.

  function section(id) {
    return document.getElementById('c-' + id);
  }

  // jump scrolls the ladder of sec to the step of frame, or to the
  // nearest step it shows when the ladder left that frame out.
  function jump(sec, frame) {
    sec.open = true;
    const box = sec.querySelector('.ladder-box');
    let best = null;
    for (const row of box.querySelectorAll('.row[data-f]')) {
      if (!best || Math.abs(row.dataset.f - frame) < Math.abs(best.dataset.f - frame)) best = row;
    }
    if (!best) return;
    for (const old of sec.querySelectorAll('.row.sel')) old.classList.remove('sel');
    best.classList.add('sel');
    box.scrollIntoView({block: 'nearest'});
    box.scrollTop = Number(best.dataset.y) - box.clientHeight / 2 + 17;
    let note = sec.querySelector('.jump-note');
    if (!note) {
      note = document.createElement('p');
      note.className = 'jump-note';
      box.before(note);
    }
    note.textContent = Number(best.dataset.f) === frame ? ''
      : 'Frame ' + frame + ' is not in the ladder, which leaves segments out; the nearest it shows is frame ' + best.dataset.f + '.';
  }

  document.addEventListener('click', e => {
    const link = e.target.closest('a[href^="#c-"]');
    if (link) {
      const sec = section(link.getAttribute('href').slice(3));
      if (!sec) return;
      e.preventDefault();
      history.replaceState(null, '', link.getAttribute('href'));
      sec.open = true;
      if (link.dataset.f) jump(sec, Number(link.dataset.f));
      else sec.scrollIntoView();
      return;
    }
    const mark = e.target.closest('.plot [data-f]');
    if (mark && !dragged) jump(mark.closest('details.conn'), Number(mark.dataset.f));
  });

  function openFromHash() {
    const sec = location.hash.startsWith('#c-') && section(location.hash.slice(3));
    if (sec) {
      sec.open = true;
      sec.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', openFromHash);
  openFromHash();

  // ---- Tooltips: an element's <title>, shown at once.

  const tip = document.getElementById('tip');
  const tipped = '.graph [data-f], .ladder .row, .ladder .state, .ladder .finding';
  document.addEventListener('mouseover', e => {
    const el = e.target.closest(tipped);
    if (!el || !el.closest('main')) return;
    const title = el.querySelector(':scope > title');
    if (title) {
      el.dataset.tip = title.textContent;
      title.remove(); // else the browser shows it too
    }
    tip.textContent = el.dataset.tip || '';
    tip.hidden = !tip.textContent;
  });
  document.addEventListener('mousemove', e => {
    if (tip.hidden) return;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 18 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8 : e.clientY + 18;
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  });
  document.addEventListener('mouseout', e => {
    if (e.target.closest(tipped)) tip.hidden = true;
  });

  // ---- Zoom and pan. A plot's viewBox spans 10000 units each way over
  // the data range in its data-* attributes; zooming changes the viewBox,
  // and the axes around it are redrawn for what it shows.

  const SPAN = 10000;
  let dragged = false;

  function axes(plot, view) {
    const d = plot.dataset;
    const x0 = +d.x0, x1 = +d.x1, y0 = +d.y0, y1 = +d.y1;
    const px = +plot.getAttribute('x'), py = +plot.getAttribute('y');
    const pw = +plot.getAttribute('width'), ph = +plot.getAttribute('height');
    const lo = x0 + view.x / SPAN * (x1 - x0), hi = x0 + (view.x + view.w) / SPAN * (x1 - x0);
    const top = y1 - view.y / SPAN * (y1 - y0), bottom = y1 - (view.y + view.h) / SPAN * (y1 - y0);
    const svg = plot.ownerSVGElement;
    const draw = (g, values, step, unit, place) => {
      g.replaceChildren();
      for (const v of values) {
        const [line, x, y, anchor] = place(v);
        const path = document.createElementNS(SVG, 'path');
        path.setAttribute('class', 'grid');
        path.setAttribute('d', line);
        const label = document.createElementNS(SVG, 'text');
        label.setAttribute('x', x);
        label.setAttribute('y', y);
        label.setAttribute('text-anchor', anchor);
        label.textContent = formatTick(v, step, unit);
        g.append(path, label);
      }
    };
    const [xs, xstep] = ticks(lo, hi, 8);
    draw(svg.querySelector('.xaxis'), xs, xstep, 's', v => {
      const x = px + (v - lo) / (hi - lo) * pw;
      return ['M' + x + ' ' + py + 'V' + (py + ph), x, py + ph + 14, 'middle'];
    });
    const [ys, ystep] = ticks(bottom, top, 6);
    draw(svg.querySelector('.yaxis'), ys, ystep, d.yu, v => {
      const y = py + ph - (v - bottom) / (top - bottom) * ph;
      return ['M' + px + ' ' + y + 'H' + (px + pw), px - 6, y + 4, 'end'];
    });
  }

  // plotRect is where the plot area is on screen. Not its own bounding
  // box, which grows with whatever is drawn beyond the area and clipped.
  function plotRect(plot) {
    const outer = plot.ownerSVGElement.getBoundingClientRect();
    const at = name => Number(plot.getAttribute(name));
    return {left: outer.left + at('x'), top: outer.top + at('y'), width: at('width'), height: at('height')};
  }

  function zoomable(plot) {
    let view = {x: 0, y: 0, w: SPAN, h: SPAN};
    const show = v => {
      view = v;
      plot.setAttribute('viewBox', [v.x, v.y, v.w, v.h].join(' '));
      axes(plot, v);
    };
    plot.addEventListener('wheel', e => {
      e.preventDefault();
      const r = plotRect(plot);
      const fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
      const f = Math.pow(1.2, Math.sign(e.deltaY));
      const w = e.altKey ? view.w : Math.min(Math.max(view.w * f, 1e-3), SPAN * 8);
      const h = e.shiftKey ? view.h : Math.min(Math.max(view.h * f, 1e-3), SPAN * 8);
      show({x: view.x + fx * (view.w - w), y: view.y + fy * (view.h - h), w, h});
    }, {passive: false});
    let start = null;
    plot.addEventListener('pointerdown', e => {
      start = {x: e.clientX, y: e.clientY, view};
      dragged = false;
    });
    plot.addEventListener('pointermove', e => {
      if (!start || !e.buttons) return;
      const dx = e.clientX - start.x, dy = e.clientY - start.y;
      if (!dragged && Math.hypot(dx, dy) < 4) return;
      if (!dragged) plot.setPointerCapture(e.pointerId);
      dragged = true;
      plot.classList.add('dragging');
      const r = plotRect(plot);
      const v = start.view;
      show({x: v.x - dx / r.width * v.w, y: v.y - dy / r.height * v.h, w: v.w, h: v.h});
    });
    const stop = () => {
      start = null;
      plot.classList.remove('dragging');
    };
    plot.addEventListener('pointerup', stop);
    plot.addEventListener('pointercancel', stop);
    plot.addEventListener('dblclick', () => show({x: 0, y: 0, w: SPAN, h: SPAN}));
  }

  document.querySelectorAll('svg.plot').forEach(zoomable);
})();
