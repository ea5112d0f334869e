// The UI's entry: the query page (panels with an expression editor that highlights PromQL,
// completes metric, function and label names and label values, formats the expression and shows
// parse errors at their position; a graph or a table of the result; the state in the URL) or
// one of the pages in pages.js, by path.
import {
  parseDuration, autoStep, errorPosition, parseState, stateQuery, seriesName, formatDuration, tokenize, completionContext, FUNCTIONS, stepRange,
} from "./format.js";
import { drawGraph } from "./graph.js";
import { pages, render } from "./pages.js";

const panels = [];
let metricNames = null;
// Label names per metric ("" for all) and label values per metric and label, as the API gave them.
const labelNames = new Map(), labelValues = new Map();

async function api(path, params) {
  const body = new URLSearchParams(params);
  const r = await fetch(path, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  let json;
  try { json = await r.json(); } catch { throw new Error(`${r.status} ${r.statusText}`); }
  if (json.status !== "success") throw Object.assign(new Error(json.error || `HTTP ${r.status}`), { type: json.errorType });
  return json;
}

async function list(path) {
  try { return (await (await fetch(path)).json()).data || []; } catch { return []; }
}

async function names() {
  if (!metricNames) metricNames = await list("/api/v1/label/__name__/values");
  return metricNames;
}

/** Label names of a metric's series (all series' when `metric` is empty). */
async function labelsOf(metric) {
  if (!labelNames.has(metric)) {
    labelNames.set(metric, list("/api/v1/labels" + (metric ? "?" + new URLSearchParams({ "match[]": metric }) : "")));
  }
  return (await labelNames.get(metric)).filter((n) => n !== "__name__");
}

async function valuesOf(metric, label) {
  const key = metric + "\n" + label;
  if (!labelValues.has(key)) {
    const match = metric ? "?" + new URLSearchParams({ "match[]": metric }) : "";
    labelValues.set(key, list(`/api/v1/label/${encodeURIComponent(label)}/values${match}`));
  }
  return labelValues.get(key);
}

/** The expression, coloured by token, in the layer under the textarea. */
function highlight(p) {
  const pre = p.el.querySelector(".highlight"), text = p.el.querySelector(".expr").value;
  pre.textContent = "";
  for (const t of tokenize(text)) {
    if (t.type === "space") { pre.append(t.text); continue; }
    const span = document.createElement("span");
    span.className = "t-" + t.type;
    span.textContent = t.text;
    pre.append(span);
  }
  // A final newline takes a line in the textarea but not in a <pre> without something after it.
  pre.append("\n");
}

function saveState() {
  history.replaceState(null, "", "?" + stateQuery(panels.map((p) => p.state)));
}

function endTime(p) {
  const e = p.state.end.trim();
  if (!e) return Date.now();
  if (/^\d+(\.\d+)?$/.test(e)) return Number(e) * 1000;
  const t = Date.parse(e);
  return Number.isNaN(t) ? Date.now() : t;
}

function showError(p, message) {
  const box = p.el.querySelector(".error");
  box.hidden = false;
  box.textContent = "";
  const pos = errorPosition(message);
  if (pos) {
    // The expression's line with a caret under the column the parser names.
    const line = p.state.expr.split("\n")[pos.line - 1] || "";
    const pre = document.createElement("div");
    pre.className = "error-source";
    pre.textContent = line;
    const caret = document.createElement("div");
    caret.className = "caret";
    caret.dataset.column = String(pos.column);
    caret.textContent = " ".repeat(Math.max(0, pos.column - 1)) + "^";
    box.append(pre, caret);
  }
  const text = document.createElement("div");
  text.className = "error-message";
  text.textContent = message;
  box.append(text);
}

async function execute(p) {
  const s = p.state;
  s.expr = p.el.querySelector(".expr").value;
  s.range = p.el.querySelector(".range").value.trim() || "1h";
  s.end = p.el.querySelector(".end").value;
  s.step = p.el.querySelector(".step").value.trim();
  s.stacked = p.el.querySelector(".stacked").checked;
  p.el.querySelector(".end-picker").value = s.end.trim() ? new Date(endTime(p)).toISOString().slice(0, 19) : "";
  saveState();
  const errorBox = p.el.querySelector(".error"), notes = p.el.querySelector(".notes");
  errorBox.hidden = true;
  notes.hidden = true;
  if (!s.expr.trim()) return;
  const started = performance.now();
  try {
    if (s.tab === 0) {
      const range = parseDuration(s.range) ?? 3600000;
      const end = endTime(p), start = end - range;
      const step = parseDuration(s.step) ?? autoStep(range);
      const r = await api("/api/v1/query_range", { query: s.expr, start: start / 1000, end: end / 1000, step: step / 1000 });
      const drawStart = performance.now();
      p.graph = drawGraph(p.el.querySelector(".graph"), p.el.querySelector(".tooltip"), p.el.querySelector(".legend"), r.data.result, {
        start, end, stacked: s.stacked,
        onZoom: (a, b) => {
          p.el.querySelector(".range").value = formatDuration(Math.max(1000, b - a));
          p.el.querySelector(".end").value = new Date(b).toISOString();
          execute(p);
        },
      });
      p.drawMs = performance.now() - drawStart;
      showNotes(p, r, `${r.data.result.length} series, step ${formatDuration(step)}`, started);
    } else {
      const end = endTime(p);
      const r = await api("/api/v1/query", { query: s.expr, time: end / 1000 });
      renderTable(p, r.data);
      showNotes(p, r, "", started);
    }
  } catch (e) {
    showError(p, e.message);
  }
}

function showNotes(p, r, what, started) {
  const notes = p.el.querySelector(".notes");
  const lines = [...(r.warnings || []).map((w) => "warning: " + w), ...(r.infos || []).map((i) => "info: " + i)];
  notes.textContent = [what, `${Math.round(performance.now() - started)} ms`].filter(Boolean).join(" · ") + (lines.length ? "\n" + lines.join("\n") : "");
  notes.hidden = false;
}

function renderTable(p, data) {
  const body = p.el.querySelector(".table tbody");
  body.textContent = "";
  const rows = data.resultType === "vector" ? data.result.map((s) => [seriesName(s.metric), s.value[1]])
    : data.resultType === "matrix" ? data.result.map((s) => [seriesName(s.metric), s.values.map((v) => `${v[1]} @${v[0]}`).join("\n")])
    : [["scalar" === data.resultType ? "scalar" : "string", data.result[1]]];
  for (const [name, value] of rows) {
    const tr = document.createElement("tr");
    const a = document.createElement("td"), b = document.createElement("td");
    a.textContent = name;
    b.textContent = value;
    tr.append(a, b);
    body.appendChild(tr);
  }
}

function setTab(p, tab) {
  p.state.tab = tab;
  p.el.dataset.tab = String(tab);
  for (const b of p.el.querySelectorAll(".tab")) b.setAttribute("aria-selected", String(Number(b.dataset.tab) === tab));
}

// Each keystroke asks anew; an answer that comes after a newer question is dropped.
let suggestion = 0;

/** Offers completions for the word at the cursor: metric and function names, label names
 *  inside a selector or a `by (…)` list, label values inside a matcher's quotes. */
async function suggest(p) {
  const ta = p.el.querySelector(".expr"), list = p.el.querySelector(".autocomplete");
  const ctx = completionContext(ta.value, ta.selectionStart);
  const ask = ++suggestion;
  let options = [];
  if (ctx?.kind === "metric" && ctx.word.length >= 2) {
    options = [...FUNCTIONS.filter((f) => f.startsWith(ctx.word)), ...(await names()).filter((n) => n.startsWith(ctx.word))];
  } else if (ctx?.kind === "label") {
    options = (await labelsOf(ctx.metric)).filter((n) => n.startsWith(ctx.word));
  } else if (ctx?.kind === "value") {
    options = (await valuesOf(ctx.metric, ctx.label)).filter((v) => v.startsWith(ctx.word)).map((v) => v.replace(/[\\"]/g, "\\$&"));
  }
  if (ask !== suggestion) return;
  options = [...new Set(options)].filter((o) => o !== ctx?.word).slice(0, 12);
  list.textContent = "";
  p.completing = ctx;
  if (!options.length) { list.hidden = true; return; }
  options.forEach((n, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === 0));
    li.dataset.kind = ctx.kind;
    li.textContent = n;
    li.onmousedown = (e) => { e.preventDefault(); complete(p, n); };
    list.appendChild(li);
  });
  list.hidden = false;
}

/** Puts `text` in place of the word the completions were offered for. */
function complete(p, text) {
  const ta = p.el.querySelector(".expr"), list = p.el.querySelector(".autocomplete");
  const ctx = p.completing;
  if (ctx) {
    ta.value = ta.value.slice(0, ctx.from) + text + ta.value.slice(ta.selectionStart);
    ta.selectionStart = ta.selectionEnd = ctx.from + text.length;
  }
  list.hidden = true;
  highlight(p);
}

/** Replaces the expression with Prometheus' formatting of it. */
async function format(p) {
  const ta = p.el.querySelector(".expr");
  p.el.querySelector(".error").hidden = true;
  if (!ta.value.trim()) return;
  try {
    const r = await api("/api/v1/format_query", { query: ta.value });
    ta.value = r.data;
    p.state.expr = r.data;
    highlight(p);
    saveState();
  } catch (e) {
    p.state.expr = ta.value;
    showError(p, e.message);
  }
}

/** The − / + and « / » / now buttons: a range step, half a range back or forward, or now. */
function moveTime(p, what) {
  const range = p.el.querySelector(".range"), end = p.el.querySelector(".end");
  const ms = parseDuration(range.value.trim()) ?? 3600000;
  if (what === "less" || what === "more") range.value = stepRange(ms, what === "less" ? -1 : 1);
  if (what === "back" || what === "forward") {
    p.state.end = end.value;
    end.value = new Date(endTime(p) + (what === "back" ? -ms / 2 : ms / 2)).toISOString();
  }
  if (what === "now") end.value = "";
  execute(p);
}

function addPanel(state) {
  const el = document.getElementById("panel-template").content.firstElementChild.cloneNode(true);
  const p = { el, state: { expr: "", tab: 0, range: "1h", end: "", step: "", stacked: false, ...state } };
  panels.push(p);
  const ta = el.querySelector(".expr");
  ta.id = `expr-${panels.length - 1}`;
  el.querySelector("label[for]").htmlFor = ta.id;
  ta.value = p.state.expr;
  el.querySelector(".range").value = p.state.range;
  el.querySelector(".end").value = p.state.end;
  el.querySelector(".step").value = p.state.step;
  el.querySelector(".stacked").checked = p.state.stacked;
  setTab(p, p.state.tab);
  el.querySelector(".execute").onclick = () => execute(p);
  el.querySelector(".format").onclick = () => format(p);
  for (const [cls, what] of [["range-less", "less"], ["range-more", "more"], ["end-back", "back"], ["end-forward", "forward"], ["end-now", "now"]]) {
    el.querySelector("." + cls).onclick = () => moveTime(p, what);
  }
  // The picker reads and writes UTC, as the End field and the graph's axis do.
  el.querySelector(".end-picker").onchange = (e) => {
    if (!e.target.value) return;
    el.querySelector(".end").value = new Date(e.target.value + "Z").toISOString();
    execute(p);
  };
  for (const b of el.querySelectorAll(".tab")) b.onclick = () => { setTab(p, Number(b.dataset.tab)); execute(p); };
  el.querySelector(".stacked").onchange = () => execute(p);
  el.querySelector(".remove").onclick = () => { panels.splice(panels.indexOf(p), 1); el.remove(); saveState(); };
  ta.addEventListener("input", () => { highlight(p); suggest(p); });
  ta.addEventListener("keydown", (e) => {
    const list = el.querySelector(".autocomplete");
    const options = [...list.querySelectorAll("li")];
    const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (!list.hidden && options.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const next = (at + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        options.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey)) { e.preventDefault(); complete(p, options[Math.max(0, at)].textContent); return; }
      if (e.key === "Escape") { list.hidden = true; return; }
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); execute(p); }
  });
  ta.addEventListener("blur", () => { el.querySelector(".autocomplete").hidden = true; });
  document.getElementById("panels").appendChild(el);
  highlight(p);
  return p;
}

function init() {
  const theme = localStorage.getItem("strata-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme").onclick = () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("strata-theme", next);
  };
  const path = location.pathname;
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.getAttribute("href") === path || (path === "/query" && a.getAttribute("href") === "/graph")) a.setAttribute("aria-current", "page");
  }
  window.strata = { panels };
  if (pages[path]) {
    document.getElementById("query-page").remove();
    document.title = `Strata · ${document.querySelector("header nav a[aria-current]")?.textContent || ""}`;
    render(path, document.getElementById("main"));
    return;
  }
  document.getElementById("query-page").hidden = false;
  const state = parseState(location.search);
  for (const s of state.length ? state : [{}]) addPanel(s);
  document.getElementById("add-panel").onclick = () => { addPanel({}); saveState(); };
  for (const p of panels) if (p.state.expr) execute(p);
}

init();
