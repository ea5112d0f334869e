// The graph: one SVG path per series over time and value axes, a hover tooltip with the
// nearest series' labels and value, a legend that hides and shows series, and zoom by dragging.
import { humanize, niceTicks, timeTicks, formatTick, seriesName, stack } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5"];
const MARGIN = { top: 8, right: 12, bottom: 22, left: 56 };

export function color(i) { return PALETTE[i % PALETTE.length]; }

/**
 * Draws `result` (the API's matrix: [{metric, values: [[t, "v"], …]}]) over [start, end] (ms)
 * into `el`. `onZoom(start, end)` is called with the range dragged over. Returns what the
 * tests read: the series drawn and their points.
 */
export function drawGraph(el, tooltip, legend, result, { start, end, stacked = false, onZoom }) {
  // Times (ms) and values in typed arrays: no object per point, which at a million points is
  // what the drawing would otherwise spend its time on.
  const series = result.map((s, i) => {
    const n = s.values.length, t = new Float64Array(n), v = new Float64Array(n);
    for (let j = 0; j < n; j++) { const p = s.values[j]; t[j] = p[0] * 1000; v[j] = +p[1]; }
    return { name: seriesName(s.metric), color: color(i), visible: true, t, v };
  });
  const state = { series };
  const width = Math.max(200, el.clientWidth), height = Math.max(120, el.clientHeight);
  const plotW = width - MARGIN.left - MARGIN.right, plotH = height - MARGIN.top - MARGIN.bottom;

  function render() {
    el.textContent = "";
    const shown = series.filter((s) => s.visible);
    // Stacked: each series' tops (v) over the ones below (base); otherwise the series as they are.
    const drawn = stacked ? stack(shown) : shown.map((s) => ({ t: s.t, v: s.v }));
    let min = Infinity, max = -Infinity;
    for (const d of drawn) for (const arr of d.base ? [d.v, d.base] : [d.v]) {
      for (let j = 0; j < arr.length; j++) {
        const v = arr[j];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (!Number.isFinite(min)) { min = 0; max = 1; }
    if (min === max) { min -= 1; max += 1; }
    // The axis runs from a round value below the lowest point to one above the highest.
    const rough = niceTicks(min, max, 5);
    const tick = rough.length > 1 ? rough[1] - rough[0] : Math.abs(min) || 1;
    min = Math.floor(min / tick) * tick; max = Math.ceil(max / tick) * tick;
    const ticks = niceTicks(min, max, 5);
    const x = (t) => MARGIN.left + ((t - start) / Math.max(1, end - start)) * plotW;
    const y = (v) => MARGIN.top + (1 - (v - min) / (max - min)) * plotH;
    state.x = x; state.y = y; state.drawn = drawn; state.shown = shown;

    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `Graph of ${shown.length} series`);
    let grid = "";
    for (const v of ticks) grid += `<line class="grid" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(v)}" y2="${y(v)}"/>`
      + `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${humanize(v)}</text>`;
    const tt = timeTicks(start, end, Math.max(2, Math.floor(plotW / 110)));
    for (const t of tt.ticks) grid += `<text x="${x(t)}" y="${height - 6}" text-anchor="middle">${formatTick(t, tt.step)}</text>`;
    const axis = document.createElementNS(SVG, "g");
    axis.setAttribute("class", "axis");
    axis.innerHTML = grid;
    svg.appendChild(axis);

    const scale = { x0: MARGIN.left - start * plotW / Math.max(1, end - start), kx: plotW / Math.max(1, end - start),
      y0: MARGIN.top + plotH * max / (max - min), ky: -plotH / (max - min) };
    drawn.forEach((series, i) => {
      const d = pathOf(series.t, series.v, scale, 1.5 * guessStep(series.t));
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("class", "series-line");
      path.setAttribute("d", d);
      path.setAttribute("stroke", shown[i].color);
      path.dataset.series = shown[i].name;
      svg.appendChild(path);
    });
    const zoom = document.createElementNS(SVG, "rect");
    zoom.setAttribute("class", "zoom");
    zoom.setAttribute("y", MARGIN.top);
    zoom.setAttribute("height", plotH);
    zoom.setAttribute("width", 0);
    svg.appendChild(zoom);
    el.appendChild(svg);
    state.zoom = zoom;
  }

  function nearest(px, py) {
    let best = null;
    state.drawn.forEach(({ t: ts, v: vs }, i) => {
      if (!ts.length) return;
      let lo = 0, hi = ts.length - 1;
      const t = start + ((px - MARGIN.left) / plotW) * (end - start);
      while (lo < hi) { const mid = (lo + hi) >> 1; if (ts[mid] < t) lo = mid + 1; else hi = mid; }
      for (const j of [lo - 1, lo]) {
        if (j < 0 || !Number.isFinite(vs[j])) continue;
        const dist = Math.hypot(state.x(ts[j]) - px, state.y(vs[j]) - py);
        if (!best || dist < best.dist) best = { dist, series: state.shown[i], t: ts[j], v: state.shown[i].v[j] };
      }
    });
    return best;
  }

  let dragFrom = null;
  const local = (e) => { const r = el.getBoundingClientRect(); return [(e.clientX - r.left) * (width / r.width), (e.clientY - r.top) * (height / r.height)]; };
  el.onmousemove = (e) => {
    const [px, py] = local(e);
    if (dragFrom !== null) {
      state.zoom.setAttribute("x", Math.min(dragFrom, px));
      state.zoom.setAttribute("width", Math.abs(px - dragFrom));
    }
    const hit = nearest(px, py);
    if (!hit) { tooltip.hidden = true; return; }
    tooltip.hidden = false;
    tooltip.textContent = "";
    const head = document.createElement("div");
    head.textContent = new Date(hit.t).toISOString().replace("T", " ").replace(".000Z", "Z");
    const line = document.createElement("div");
    line.className = "tooltip-series";
    line.textContent = `${hit.series.name}: ${humanize(hit.v)}`;
    line.dataset.value = String(hit.v);
    line.dataset.series = hit.series.name;
    line.dataset.time = String(hit.t);
    tooltip.append(head, line);
    tooltip.style.left = Math.min(e.clientX - el.getBoundingClientRect().left + 12, el.clientWidth - 200) + "px";
    tooltip.style.top = (e.clientY - el.getBoundingClientRect().top + 12) + "px";
  };
  el.onmouseleave = () => { tooltip.hidden = true; dragFrom = null; state.zoom.setAttribute("width", 0); };
  el.onmousedown = (e) => { dragFrom = local(e)[0]; };
  el.onmouseup = (e) => {
    if (dragFrom === null) return;
    const px = local(e)[0];
    const [a, b] = [Math.min(dragFrom, px), Math.max(dragFrom, px)];
    dragFrom = null;
    state.zoom.setAttribute("width", 0);
    if (b - a < 5 || !onZoom) return;
    const toT = (p) => start + ((p - MARGIN.left) / plotW) * (end - start);
    onZoom(Math.round(toT(a)), Math.round(toT(b)));
  };

  legend.textContent = "";
  series.forEach((s) => {
    const li = document.createElement("li");
    li.setAttribute("role", "button");
    li.setAttribute("tabindex", "0");
    li.setAttribute("aria-pressed", "true");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = s.color;
    li.append(sw, document.createTextNode(s.name));
    const toggle = () => { s.visible = !s.visible; li.setAttribute("aria-pressed", String(s.visible)); render(); };
    li.onclick = toggle;
    li.onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } };
    legend.appendChild(li);
  });
  render();
  return state;
}

/**
 * An SVG path through the points (`ts`, `vs`), `scale` mapping time and value to pixels: a new
 * "M" after a gap (a missing step or NaN), and in each pixel column only its first, lowest,
 * highest and last points, which draw the same picture however many points the series has.
 */
function pathOf(ts, vs, { x0, kx, y0, ky }, gap) {
  const out = [];
  let prevT = -Infinity, col = NaN, n = 0, move = false;
  // The current column's first, lowest, highest and last points, by index.
  let first = 0, lo = 0, hi = 0, last = 0, loY = 0, hiY = 0;
  const X = new Float64Array(ts.length), Y = new Float64Array(ts.length);
  const flush = () => {
    if (!n) return;
    let prev = -1;
    for (const i of [first, Math.min(lo, hi), Math.max(lo, hi), last]) {
      if (i === prev) continue;
      out.push((i === first && move ? "M" : "L") + X[i] + "," + Y[i]);
      prev = i;
    }
    n = 0;
  };
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i], v = vs[i];
    if (!Number.isFinite(v)) { flush(); prevT = -Infinity; continue; }
    const px = Math.round((x0 + t * kx) * 10) / 10, py = Math.round((y0 + v * ky) * 10) / 10;
    X[i] = px; Y[i] = py;
    const gapHere = t - prevT > gap;
    if (gapHere || Math.round(px) !== col) {
      flush();
      col = Math.round(px); move = gapHere; first = lo = hi = last = i; loY = hiY = py; n = 1;
    } else {
      last = i; n++;
      if (py < loY) { loY = py; lo = i; }
      if (py > hiY) { hiY = py; hi = i; }
    }
    prevT = t;
  }
  flush();
  return out.join("");
}

/** The smallest spacing of a series' first points (its step), for telling gaps from steps. */
function guessStep(ts) {
  let best = Infinity;
  for (let i = 1; i < Math.min(ts.length, 50); i++) best = Math.min(best, ts[i] - ts[i - 1]);
  return Number.isFinite(best) ? best : Infinity;
}
