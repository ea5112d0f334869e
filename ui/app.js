// The UI's entry: the query page (panels with an expression editor that completes metric
// names and shows parse errors at their position, a graph or a table of the result, the state
// in the URL) or one of the pages in pages.js, by path.
import { parseDuration, autoStep, errorPosition, parseState, stateQuery, seriesName, formatDuration } from "./format.js";
import { drawGraph } from "./graph.js";
import { pages, render } from "./pages.js";

const panels = [];
let metricNames = null;

async function api(path, params) {
  const body = new URLSearchParams(params);
  const r = await fetch(path, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  let json;
  try { json = await r.json(); } catch { throw new Error(`${r.status} ${r.statusText}`); }
  if (json.status !== "success") throw Object.assign(new Error(json.error || `HTTP ${r.status}`), { type: json.errorType });
  return json;
}

async function names() {
  if (!metricNames) {
    try { metricNames = (await (await fetch("/api/v1/label/__name__/values")).json()).data || []; } catch { metricNames = []; }
  }
  return metricNames;
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

/** The word being typed before the cursor, if it could be a metric name. */
function currentWord(textarea) {
  const before = textarea.value.slice(0, textarea.selectionStart);
  const m = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before);
  return m ? { word: m[0], from: before.length - m[0].length } : null;
}

async function suggest(p) {
  const ta = p.el.querySelector(".expr"), list = p.el.querySelector(".autocomplete");
  const cur = currentWord(ta);
  list.textContent = "";
  if (!cur || cur.word.length < 2) { list.hidden = true; return; }
  const matches = (await names()).filter((n) => n.startsWith(cur.word) && n !== cur.word).slice(0, 10);
  if (!matches.length) { list.hidden = true; return; }
  matches.forEach((n, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === 0));
    li.textContent = n;
    li.onmousedown = (e) => { e.preventDefault(); complete(p, n); };
    list.appendChild(li);
  });
  list.hidden = false;
}

function complete(p, name) {
  const ta = p.el.querySelector(".expr"), list = p.el.querySelector(".autocomplete");
  const cur = currentWord(ta);
  if (cur) {
    ta.value = ta.value.slice(0, cur.from) + name + ta.value.slice(ta.selectionStart);
    ta.selectionStart = ta.selectionEnd = cur.from + name.length;
  }
  list.hidden = true;
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
  for (const b of el.querySelectorAll(".tab")) b.onclick = () => { setTab(p, Number(b.dataset.tab)); execute(p); };
  el.querySelector(".stacked").onchange = () => execute(p);
  el.querySelector(".remove").onclick = () => { panels.splice(panels.indexOf(p), 1); el.remove(); saveState(); };
  ta.addEventListener("input", () => suggest(p));
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
