// The pages besides the query page: metrics explorer, TSDB status, blocks, rules, alerts, build
// and runtime status, flags and configuration. Each reads the API and renders tables (the
// blocks page also a timeline).
import { humanize, formatDuration, timeTicks, formatTick, seriesName } from "./format.js";
import { color } from "./graph.js";

async function get(path) {
  const r = await fetch(path);
  const json = await r.json();
  if (json.status !== "success") throw Object.assign(new Error(json.error || `HTTP ${r.status}`), { status: r.status });
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

/**
 * `/tsdb-status`: the head's statistics and cardinality, and the WAL replay. While Strata starts
 * (the TSDB endpoints answer 503 until the head is rebuilt) the page follows the replay's
 * progress every second and shows the head once it is done.
 */
async function tsdbStatus(main) {
  const replayBox = section("WAL replay");
  main.append(replayBox);
  let s;
  for (;;) {
    const replay = await get("/api/v1/status/walreplay");
    try { s = await get("/api/v1/status/tsdb"); } catch (e) { if (e.status !== 503) throw e; }
    replayBox.replaceChildren(el("h2", {}, "WAL replay"), table("Write-ahead log replay at start-up",
      ["First segment", "Last segment", "Current", "State"], [[replay.min, replay.max, replay.current, s ? "done" : "replaying"]], "wal-replay"));
    if (s) break;
    replayBox.append(el("p", { class: "notes replaying" },
      `Strata is starting: the head is being rebuilt from the write-ahead log (segment ${replay.current} of ${replay.min}–${replay.max}). `
      + "This page follows the replay and shows the head when it is done."));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const h = s.headStats;
  main.insertBefore(section("Head", table("Head statistics", ["Series", "Chunks", "Label pairs", "Min time", "Max time"],
    [[h.numSeries, h.chunkCount, h.numLabelPairs, time(h.minTime), time(h.maxTime)]], "head-stats")), replayBox);
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

const RESOLUTIONS = { 0: "raw", 300000: "5m", 3600000: "1h" };
const resolutionOf = (b) => b.thanos?.downsample?.resolution || 0;
const resolutionName = (r) => RESOLUTIONS[r] || formatDuration(r);
/** A block's external labels as one sortable key: `a="1", b="2"`. */
const streamOf = (b) => Object.entries(b.thanos?.labels || {}).sort(([a], [c]) => (a < c ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
const whereOf = (b) => [b.strata.local && "local", b.strata.bucket && "bucket"].filter(Boolean).join(" + ");
const bytes = (n) => (n == null ? "" : humanize(n) + "B");
/** Bytes on disk, or for a bucket-only block the sum of its `thanos.files`. */
const sizeOf = (b) => b.strata.sizeBytes ?? (b.thanos?.files?.length ? b.thanos.files.reduce((n, f) => n + (f.size_bytes || 0), 0) : null);
/** `/api/v1/blocks/inspect` for the blocks whose external labels include `labels`. */
const inspectLink = (labels) => "/api/v1/blocks/inspect?" + new URLSearchParams(Object.entries(labels || {}).map(([k, v]) => ["selector", `${k}=${JSON.stringify(v)}`]));

/** `/blocks`: local and bucket blocks on a timeline by external labels, resolution and level. */
async function blocks(main) {
  const data = await get("/api/v1/blocks");
  const all = data.blocks;
  const streams = [...new Set(all.map(streamOf))].sort();
  const stream = el("select", { class: "stream", "aria-label": "External labels" }, el("option", { value: "*" }, "All external labels"),
    ...streams.map((s) => el("option", { value: s }, `{${s}}`)));
  const where = el("select", { class: "where", "aria-label": "Where the blocks are" },
    el("option", { value: "all" }, "Local and bucket"), el("option", { value: "local" }, "Local"), el("option", { value: "bucket" }, "Bucket"));
  const hideMarked = el("input", { type: "checkbox", class: "hide-marked" });
  const find = el("input", { class: "find", placeholder: "ULID", size: "28", "aria-label": "Find blocks by ULID" });
  const summary = el("p", { class: "notes" });
  const timeline = el("div", { class: "timeline" });
  const details = el("div", { class: "details block-details" });
  const body = el("tbody");
  const inspect = el("a", { href: inspectLink({}) }, "strata bucket inspect");
  main.append(section("Blocks", el("div", { class: "controls" }, stream, where, find,
    el("label", {}, hideMarked, " Hide blocks marked for deletion"), el("span", { class: "notes" }, "As text: ", inspect)),
    summary, timeline, el("p", { class: "notes" }, "Colour: compaction level. Dashed outline: only in the data directory (not shipped). Faded: marked for deletion."),
    details));
  main.append(section("List", el("table", { class: "table blocks-list" },
    el("thead", {}, el("tr", {}, ...["ULID", "From", "Until", "Range", "Level", "Resolution", "Series", "Samples", "Chunks", "Size", "Where"]
      .map((h) => el("th", {}, h)))), body)));
  const update = () => {
    const shown = all.filter((b) => (stream.value === "*" || streamOf(b) === stream.value) && (where.value === "all" || b.strata[where.value])
      && !(hideMarked.checked && b.strata.deletionMarkedAt) && b.ulid.includes(find.value.trim().toUpperCase()));
    const scanned = data.refreshedAt ? `; the bucket was last read at ${data.refreshedAt}` : "";
    summary.textContent = `${shown.length} of ${all.length} blocks${scanned}. Click a block for its details.`;
    const pick = (b) => showBlock(b, details);
    drawTimeline(timeline, shown, pick);
    body.replaceChildren(...shown.map((b) => {
      const tr = el("tr", { "data-ulid": b.ulid, tabindex: "0", onclick: () => pick(b), onkeydown: (e) => { if (e.key === "Enter") pick(b); } },
        ...[b.ulid, time(b.minTime), time(b.maxTime), formatDuration(b.maxTime - b.minTime), b.compaction.level, resolutionName(resolutionOf(b)),
          b.stats.numSeries ?? 0, b.stats.numSamples ?? 0, b.stats.numChunks ?? 0, bytes(sizeOf(b)), whereOf(b)].map((c) => el("td", {}, c)));
      return tr;
    }));
    inspect.href = inspectLink(stream.value === "*" ? {} : shown[0]?.thanos?.labels);
  };
  stream.onchange = where.onchange = hideMarked.onchange = update;
  find.oninput = update;
  update();
}

/**
 * The blocks as rectangles over time: a band per external label set and resolution (as
 * Thanos' block viewer groups them), within it a row per compaction level, more rows where
 * blocks of a level overlap. Dashed: only local; faded: marked for deletion.
 */
function drawTimeline(box, shown, pick) {
  box.textContent = "";
  if (!shown.length) return;
  const SVGNS = "http://www.w3.org/2000/svg", ROW = 18, LEFT = 150, RIGHT = 12;
  const width = Math.max(600, box.clientWidth), plot = width - LEFT - RIGHT;
  const start = Math.min(...shown.map((b) => b.minTime)), end = Math.max(...shown.map((b) => b.maxTime));
  const x = (t) => LEFT + ((t - start) / Math.max(1, end - start)) * plot;
  const groups = new Map();
  for (const b of shown) {
    const key = `${streamOf(b)}@${resolutionOf(b)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(b);
  }
  const svg = document.createElementNS(SVGNS, "svg");
  const add = (parent, tag, attrs, text) => {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  };
  let y = 0;
  for (const key of [...groups.keys()].sort()) {
    const list = groups.get(key), first = list[0];
    add(svg, "text", { x: 4, y: y + 13, class: "band" }, `${resolutionName(resolutionOf(first))} {${streamOf(first)}}`);
    y += ROW;
    const levels = [...new Set(list.map((b) => b.compaction.level))].sort((a, b) => b - a);
    for (const level of levels) {
      // First fit: each block goes on the first row of its level where it overlaps nothing.
      const rows = [];
      for (const b of list.filter((b) => b.compaction.level === level).sort((a, b) => a.minTime - b.minTime)) {
        let row = rows.findIndex((r) => r <= b.minTime);
        if (row < 0) { row = rows.length; rows.push(0); }
        rows[row] = b.maxTime;
        const rect = add(svg, "rect", {
          x: x(b.minTime), y: y + row * ROW + 2, width: Math.max(2, x(b.maxTime) - x(b.minTime) - 1), height: ROW - 4, rx: 2,
          class: "block" + (b.strata.bucket ? "" : " local-only") + (b.strata.deletionMarkedAt ? " marked" : ""),
          fill: color(level - 1), tabindex: "0", role: "button", "data-ulid": b.ulid,
          "aria-label": `Block ${b.ulid}, level ${level}, ${time(b.minTime)} to ${time(b.maxTime)}`,
        });
        add(rect, "title", {}, `${b.ulid}\nlevel ${level} · ${whereOf(b)}\n${time(b.minTime)} – ${time(b.maxTime)}`);
        rect.onclick = () => pick(b);
        rect.onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(b); } };
      }
      add(svg, "text", { x: 16, y: y + 13, class: "level" }, `level ${level}`);
      y += rows.length * ROW;
    }
  }
  const ticks = timeTicks(start, end, Math.max(2, Math.floor(plot / 120)));
  for (const t of ticks.ticks) {
    add(svg, "line", { x1: x(t), x2: x(t), y1: 0, y2: y, class: "grid" });
    add(svg, "text", { x: x(t), y: y + 14, "text-anchor": "middle", class: "tick" },
      ticks.step >= 86400000 ? formatTick(t, ticks.step) : new Date(t).toISOString().slice(5, 16).replace("T", " "));
  }
  // The grid goes under the blocks.
  for (const line of svg.querySelectorAll("line")) svg.insertBefore(line, svg.firstChild);
  svg.setAttribute("viewBox", `0 0 ${width} ${y + 20}`);
  svg.setAttribute("height", y + 20);
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-label", `Timeline of ${shown.length} blocks`);
  box.appendChild(svg);
}

/** A block's meta, where it is, its marks and sources, and a link to the inspect report. */
function showBlock(b, box) {
  const s = b.strata, labels = b.thanos?.labels || {};
  const rows = [
    ["ULID", b.ulid], ["Tenant", s.tenant || labels.tenant_id || ""], ["External labels", `{${streamOf(b)}}`],
    ["Resolution", resolutionName(resolutionOf(b))], ["Compaction level", b.compaction.level],
    ["From", time(b.minTime)], ["Until", time(b.maxTime)], ["Range", formatDuration(b.maxTime - b.minTime)],
    ["Series", b.stats.numSeries ?? 0], ["Samples", b.stats.numSamples ?? 0], ["Chunks", b.stats.numChunks ?? 0],
    ["Size", bytes(sizeOf(b))], ["Where", whereOf(b)], ["Shipping", s.state || ""], ["Uploaded", s.uploadedAt || ""],
    ["Source", b.thanos?.source || ""], ["Marked for deletion", s.deletionMarkedAt || ""], ["Marked no-compact", s.noCompactMarkedAt || ""],
    ["Sources", (b.compaction.sources || []).join("\n")],
    ["Parents", (b.compaction.parents || []).map((p) => p.ulid).join("\n")],
  ].filter(([, v]) => v !== "");
  box.replaceChildren(table(`Block ${b.ulid}`, ["Field", "Value"], rows, "block"),
    el("p", { class: "notes" }, "The bucket's blocks with these external labels as ",
      el("a", { href: inspectLink(labels), class: "inspect" }, "strata bucket inspect"), " prints them."));
}

/** "12s ago" for an RFC 3339 time; "never" for Go's zero time. */
function ago(iso) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t) || t < 0) return "never";
  return formatDuration(Math.max(0, Math.round((Date.now() - t) / 1000)) * 1000) + " ago";
}

const seconds = (s) => (s == null ? "" : s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);

/** A rule as it reads in its file. */
function ruleText(r) {
  const lines = [r.type === "alerting" ? `alert: ${r.name}` : `record: ${r.name}`, `expr: ${r.query}`];
  if (r.duration) lines.push(`for: ${formatDuration(r.duration * 1000)}`);
  for (const [k, v] of Object.entries(r.labels || {})) lines.push(`labels.${k}: ${v}`);
  for (const [k, v] of Object.entries(r.annotations || {})) lines.push(`annotations.${k}: ${v}`);
  return el("pre", { class: "rule" }, lines.join("\n"));
}

/** `/rules`: every group with its rules, their health, last error and evaluation times. */
async function rules(main) {
  const { groups } = await get("/api/v1/rules");
  if (!groups.length) main.append(section("Rules", el("p", { class: "notes" }, "No rule groups are loaded (--rule-file).")));
  for (const g of groups) {
    const rows = g.rules.map((r) => [ruleText(r), r.health, r.lastError || "", ago(r.lastEvaluation), seconds(r.evaluationTime)]);
    const t = table(`${g.file} · every ${formatDuration(g.interval * 1000)} · last evaluated ${ago(g.lastEvaluation)} in ${seconds(g.evaluationTime)}`,
      ["Rule", "Health", "Error", "Last evaluation", "Evaluation time"], rows, "rules");
    t.dataset.group = g.name;
    g.rules.forEach((r, i) => { t.tBodies[0].rows[i].dataset.rule = r.name; t.tBodies[0].rows[i].dataset.health = r.health; });
    main.append(section(g.name, t));
  }
}

/** `/alerts`: each alerting rule with its state and active alerts, filtered by state. */
async function alerts(main) {
  const { groups } = await get("/api/v1/rules?type=alert");
  const states = ["firing", "pending", "inactive"];
  const boxes = Object.fromEntries(states.map((s) => [s, el("input", { type: "checkbox", checked: "", class: "state-" + s })]));
  const counts = Object.fromEntries(states.map((s) => [s, 0]));
  const sections = [];
  for (const g of groups) for (const r of g.rules) {
    counts[r.state] = (counts[r.state] || 0) + 1;
    const rows = (r.alerts || []).map((a) => [seriesName(a.labels), a.state, a.activeAt ? `${a.activeAt} (${ago(a.activeAt)})` : "", a.value]);
    const body = rows.length ? table(`${rows.length} active`, ["Labels", "State", "Active since", "Value"], rows, "alerts")
      : el("p", { class: "notes" }, "No active alerts.");
    const sec = section(`${r.name} (${r.state})`, el("p", { class: "notes" }, `group ${g.name} · ${g.file}`), ruleText(r), body);
    sec.classList.add("alert-rule", "state-" + r.state);
    sec.dataset.rule = r.name;
    sec.dataset.state = r.state;
    sections.push(sec);
  }
  const filter = () => { for (const sec of sections) sec.hidden = !boxes[sec.dataset.state]?.checked; };
  for (const s of states) boxes[s].onchange = filter;
  main.append(el("div", { class: "controls" }, ...states.map((s) => el("label", {}, boxes[s], ` ${s} (${counts[s]})`))));
  if (!sections.length) main.append(section("Alerts", el("p", { class: "notes" }, "No alerting rules are loaded (--rule-file).")));
  main.append(...sections);
}

export const pages = {
  "/explore": explore, "/tsdb-status": tsdbStatus, "/blocks": blocks, "/rules": rules, "/alerts": alerts,
  "/status": status, "/flags": flags, "/config": config,
};

/** Renders the page at `path` into `main`; errors end up on the page. */
export async function render(path, main) {
  try { await pages[path](main); } catch (e) { main.append(el("div", { class: "error", role: "alert" }, e.message)); }
  main.dataset.loaded = "true";
}
