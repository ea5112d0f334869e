// The pages besides the query page: metrics explorer, TSDB status, build and runtime status,
// flags and configuration. Each reads the API and renders plain tables.
import { humanize } from "./format.js";

async function get(path) {
  const r = await fetch(path);
  const json = await r.json();
  if (json.status !== "success") throw new Error(json.error || `HTTP ${r.status}`);
  return json.data;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e[k] = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** A table with a header row; `rows` are arrays of cells (strings, numbers or nodes). */
function table(caption, headers, rows, cls = "") {
  return el("table", { class: "table " + cls },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));
}

function section(title, ...content) {
  return el("section", { class: "panel" }, el("h2", {}, title), ...content);
}

const time = (ms) => (ms ? new Date(ms).toISOString() : "—");

/** `/explore`: every metric name with its type, help and unit, and its series in the head. */
async function explore(main) {
  const [names, metadata, tsdb] = await Promise.all([
    get("/api/v1/label/__name__/values"), get("/api/v1/metadata"), get("/api/v1/status/tsdb?limit=100000"),
  ]);
  const counts = new Map(tsdb.seriesCountByMetricName.map((e) => [e.name, e.value]));
  const filter = el("input", { class: "filter", placeholder: "Filter metric names", "aria-label": "Filter metric names" });
  const details = el("div", { class: "details" });
  const body = el("tbody");
  const rows = names.map((name) => {
    const m = (metadata[name] || [])[0] || {};
    const link = el("a", { href: "/graph?" + new URLSearchParams({ "g0.expr": name, "g0.tab": "0", "g0.range_input": "1h" }) }, name);
    const more = el("button", { type: "button", class: "labels", onclick: () => showLabels(name, details) }, "Labels");
    const tr = el("tr", { "data-metric": name }, el("td", {}, link), el("td", {}, m.type || ""), el("td", {}, String(counts.get(name) ?? "")),
      el("td", {}, m.help || ""), el("td", {}, m.unit || ""), el("td", {}, more));
    body.append(tr);
    return tr;
  });
  filter.oninput = () => { for (const tr of rows) tr.hidden = !tr.dataset.metric.includes(filter.value.trim()); };
  main.append(section(`Metrics (${names.length})`, filter,
    el("table", { class: "table metrics" },
      el("thead", {}, el("tr", {}, ...["Metric", "Type", "Series (head)", "Help", "Unit", ""].map((h) => el("th", {}, h)))), body),
    details));
}

/** A metric's label names with their most frequent values (from up to 10,000 of its series). */
async function showLabels(name, box) {
  const series = await get("/api/v1/series?" + new URLSearchParams({ "match[]": name, limit: "10000" }));
  const byLabel = new Map();
  for (const s of series) for (const [k, v] of Object.entries(s)) {
    if (k === "__name__") continue;
    const values = byLabel.get(k) || new Map();
    values.set(v, (values.get(v) || 0) + 1);
    byLabel.set(k, values);
  }
  const rows = [...byLabel].sort(([a], [b]) => a.localeCompare(b)).map(([k, values]) => {
    const top = [...values].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([v, n]) => `${v} (${n})`).join(", ");
    return [k, values.size, top];
  });
  box.replaceChildren(table(`${name}: ${series.length} series`, ["Label", "Values", "Most frequent"], rows, "labels-of"));
}

/** `/tsdb-status`: the head's statistics and cardinality, and WAL replay progress. */
async function tsdbStatus(main) {
  const [s, replay] = await Promise.all([get("/api/v1/status/tsdb"), get("/api/v1/status/walreplay")]);
  const h = s.headStats;
  main.append(section("Head", table("Head statistics", ["Series", "Chunks", "Label pairs", "Min time", "Max time"],
    [[h.numSeries, h.chunkCount, h.numLabelPairs, time(h.minTime), time(h.maxTime)]], "head-stats")));
  main.append(section("WAL replay", table("Write-ahead log replay at start-up", ["First segment", "Last segment", "Current", "State"],
    [[replay.min, replay.max, replay.current, replay.current >= replay.max ? "done" : "replaying"]], "wal-replay")));
  const entries = (title, list, cls, fmt = (v) => v) => table(title, ["Name", "Count"], list.map((e) => [e.name, fmt(e.value)]), cls);
  main.append(section("Cardinality",
    entries("Top series count by metric name", s.seriesCountByMetricName, "series-by-metric"),
    entries("Top label names by value count", s.labelValueCountByLabelName, "values-by-label"),
    entries("Top label names by memory", s.memoryInBytesByLabelName, "memory-by-label", (v) => humanize(v) + "B"),
    entries("Top series count by label value pair", s.seriesCountByLabelValuePair, "series-by-pair")));
}

/** `/status`: build and runtime information. */
async function status(main) {
  const [build, runtime] = await Promise.all([get("/api/v1/status/buildinfo"), get("/api/v1/status/runtimeinfo")]);
  const rows = (o) => Object.entries(o).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
  main.append(section("Build", table("Build information", ["Name", "Value"], rows(build), "build-info")));
  main.append(section("Runtime", table("Runtime information", ["Name", "Value"], rows(runtime), "runtime-info")));
}

/** `/flags`: the command-line flags in force. */
async function flags(main) {
  const f = await get("/api/v1/status/flags");
  const filter = el("input", { class: "filter", placeholder: "Filter flags", "aria-label": "Filter flags" });
  const t = table("Command-line flags", ["Flag", "Value"], Object.keys(f).sort().map((k) => ["--" + k, f[k]]), "flags");
  filter.oninput = () => { for (const tr of t.tBodies[0].rows) tr.hidden = !tr.cells[0].textContent.includes(filter.value.trim()); };
  main.append(section("Flags", filter, t));
}

/** `/config`: the configuration, as YAML. */
async function config(main) {
  const c = await get("/api/v1/status/config");
  main.append(section("Configuration", el("pre", { class: "config" }, c.yaml)));
}

export const pages = { "/explore": explore, "/tsdb-status": tsdbStatus, "/status": status, "/flags": flags, "/config": config };

/** Renders the page at `path` into `main`; errors end up on the page. */
export async function render(path, main) {
  try { await pages[path](main); } catch (e) { main.append(el("div", { class: "error", role: "alert" }, e.message)); }
  main.dataset.loaded = "true";
}
