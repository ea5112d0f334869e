// Pure helpers of the UI: durations, number and time formatting, axis ticks, URL state.
// No DOM here, so the browser test runs them as unit tests (ui/tests/unit.js).

const UNITS = [["y", 31536000000], ["w", 604800000], ["d", 86400000], ["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]];

/** Prometheus duration ("1h30m", "90s", "500ms") to milliseconds; null if it is not one. */
export function parseDuration(s) {
  if (typeof s !== "string" || !/^(\d+(y|w|d|h|ms|m|s))+$/.test(s.trim())) return null;
  let total = 0;
  for (const [, n, u] of s.trim().matchAll(/(\d+)(y|w|d|h|ms|m|s)/g)) total += Number(n) * UNITS.find(([name]) => name === u)[1];
  return total;
}

/** Milliseconds to the shortest Prometheus duration ("1h30m"); "0s" for 0. */
export function formatDuration(ms) {
  if (ms <= 0) return "0s";
  let out = "";
  for (const [u, size] of UNITS) {
    if (ms >= size) { out += Math.floor(ms / size) + u; ms %= size; }
  }
  return out;
}

/** A value for an axis or a tooltip: SI prefixes above 1000 and below 1, 3 significant digits. */
export function humanize(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const abs = Math.abs(v);
  const big = [[1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, p] of big) if (abs >= size) return trim(v / size) + p;
  const small = [[1, ""], [1e-3, "m"], [1e-6, "µ"], [1e-9, "n"]];
  for (const [size, p] of small) if (abs >= size) return trim(v / size) + p;
  return v.toExponential(2);
}

function trim(x) { return String(Number(x.toPrecision(3))); }

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten). */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) { const v = Number.isFinite(min) ? min : 0; return [v]; }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * 1000);

/** About `count` tick times (ms) on round boundaries in [start, end] (ms). */
export function timeTicks(start, end, count = 6) {
  const step = TIME_STEPS.find((s) => (end - start) / s <= count) || TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return { ticks, step };
}

/** A tick label: the time of day, with the date when ticks are a day or more apart (UTC). */
export function formatTick(t, step) {
  const iso = new Date(t).toISOString();
  if (step >= 86400000) return iso.slice(5, 10);
  if (step >= 60000) return iso.slice(11, 16);
  return iso.slice(11, 19);
}

/** `{__name__="up", job="x"}` as Prometheus prints it: `up{job="x"}`. */
export function seriesName(metric) {
  const name = metric.__name__ || "";
  const labels = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return labels.length || !name ? `${name}{${labels.join(", ")}}` : name;
}

/** The step a graph of `rangeMs` gets without one given: about 250 points, at least 1s. */
export function autoStep(rangeMs) {
  return Math.max(1000, Math.round(rangeMs / 250 / 1000) * 1000);
}

/** "1:8: parse error: …" → { line: 1, column: 8 }; null without a position. */
export function errorPosition(message) {
  const m = /(?:^|: )(\d+):(\d+): parse error/.exec(message || "");
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

/**
 * Panels from a URL query in Prometheus' format (`g0.expr=…&g0.tab=0&g0.range_input=1h`), so
 * links people already have open the same view. tab 0 is the graph, 1 the table.
 */
export function parseState(search) {
  const params = new URLSearchParams(search);
  const panels = [];
  for (const [key, value] of params) {
    const m = /^g(\d+)\.(.+)$/.exec(key);
    if (!m) continue;
    const i = Number(m[1]);
    panels[i] = panels[i] || { expr: "", tab: 0, range: "1h", end: "", step: "", stacked: false };
    const p = panels[i];
    switch (m[2]) {
      case "expr": p.expr = value; break;
      case "tab": p.tab = value === "1" ? 1 : 0; break;
      case "range_input": p.range = value; break;
      case "end_input": p.end = value; break;
      case "step_input": p.step = value; break;
      case "stacked": p.stacked = value === "1"; break;
    }
  }
  return panels.filter(Boolean);
}

/** The URL query of `panels`, in the format `parseState` reads. */
export function stateQuery(panels) {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    params.set(`g${i}.expr`, p.expr);
    params.set(`g${i}.tab`, String(p.tab));
    params.set(`g${i}.range_input`, p.range);
    if (p.end) params.set(`g${i}.end_input`, p.end);
    if (p.step) params.set(`g${i}.step_input`, p.step);
    if (p.stacked) params.set(`g${i}.stacked`, "1");
  });
  return params.toString();
}

/**
 * The stacked graph: per series `{t, v, base}` where `v` is the running total at each time
 * (the series' own value over the series before it) and `base` the total below it; a missing
 * value adds nothing. `series` are `{t, v}` with typed or plain arrays.
 */
export function stack(series) {
  const totals = new Map();
  return series.map(({ t, v }) => {
    const top = new Float64Array(t.length), base = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      base[i] = totals.get(t[i]) || 0;
      top[i] = base[i] + (Number.isFinite(v[i]) ? v[i] : 0);
      totals.set(t[i], top[i]);
    }
    return { t, v: top, base };
  });
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "atan2"]);
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

/** PromQL's aggregations and functions, for completion and highlighting. */
export const FUNCTIONS = [
  "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes", "clamp",
  "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
  "delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction",
  "histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate",
  "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute",
  "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin",
  "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time",
  "tan", "tanh", "time", "timestamp", "vector", "year",
];

const FUNCTION_SET = new Set(FUNCTIONS);

/**
 * PromQL split into tokens for highlighting: `{type, text}` with type one of comment, string,
 * number, duration, keyword, function, metric, label, operator, paren, space. The texts joined
 * give the input back, whatever it is (unknown characters become "operator").
 */
export function tokenize(src) {
  const out = [];
  let i = 0, braces = 0, labelList = false, expectList = false;
  const push = (type, text) => { out.push({ type, text }); i += text.length; };
  while (i < src.length) {
    const rest = src.slice(i);
    let m;
    if ((m = /^\s+/.exec(rest))) { push("space", m[0]); continue; }
    if ((m = /^#[^\n]*/.exec(rest))) { push("comment", m[0]); continue; }
    if ((m = /^("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`[^`]*`?)/.exec(rest))) { push("string", m[0]); continue; }
    if ((m = /^(\d+(ms|y|w|d|h|m|s))+(?![a-zA-Z0-9_:])/.exec(rest))) { push("duration", m[0]); continue; }
    if ((m = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(rest))) { push("number", m[0]); continue; }
    if ((m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest))) {
      const word = m[0], after = src.slice(i + word.length);
      let type;
      if (braces > 0 || labelList) type = "label";
      else if (KEYWORDS.has(word.toLowerCase())) type = "keyword";
      else if (/^(inf|nan)$/i.test(word)) type = "number";
      else if (/^\s*\(/.test(after) || (FUNCTION_SET.has(word) && /^\s*(by|without)\b/i.test(after))) type = "function";
      else type = "metric";
      expectList = type === "keyword" && LABEL_LISTS.has(word.toLowerCase());
      push(type, word);
      continue;
    }
    const c = rest[0];
    if (c === "{") braces++;
    if (c === "}") braces = Math.max(0, braces - 1);
    if (c === "(" && expectList) labelList = true;
    else if (c === ")") labelList = false;
    if (c !== " ") expectList = false;
    if ("{}()[]".includes(c)) { push("paren", c); continue; }
    m = /^(=~|!~|!=|==|>=|<=|[-+*/%^=<>,@:])/.exec(rest);
    push("operator", m ? m[0] : c);
  }
  return out;
}

/**
 * What the word before `cursor` in `text` could be completed to: a metric or function name
 * (kind "metric"), a label name inside a selector's braces or a `by (…)` list ("label"), or a
 * label value inside a matcher's quotes ("value"); with the `word` typed so far, where it
 * starts (`from`), the selector's metric name and the matcher's label. null elsewhere.
 */
export function completionContext(text, cursor) {
  const before = text.slice(0, cursor);
  const open = before.lastIndexOf("{");
  if (open > before.lastIndexOf("}")) {
    const inside = before.slice(open + 1);
    const metric = (/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before.slice(0, open)) || [])[1] || "";
    const v = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (v) return { kind: "value", label: v[1], word: v[3], from: cursor - v[3].length, metric };
    const l = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside);
    return l ? { kind: "label", word: l[1] || "", from: cursor - (l[1] || "").length, metric } : null;
  }
  const list = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)$/i.exec(before);
  if (list) {
    const w = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(list[2]);
    return w ? { kind: "label", word: w[1] || "", from: cursor - (w[1] || "").length, metric: "" } : null;
  }
  if (before.lastIndexOf("[") > before.lastIndexOf("]")) return null;
  if (((before.match(/"/g) || []).length - (before.match(/\\"/g) || []).length) % 2 === 1) return null;
  const m = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before);
  if (!m || /[0-9.]$/.test(before.slice(0, cursor - m[0].length))) return null;
  return { kind: "metric", word: m[0], from: cursor - m[0].length, metric: "" };
}

/** Prometheus' range steps, for the − and + buttons beside a graph's range. */
const RANGE_STEPS = ["1s", "10s", "1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "1w", "2w", "4w", "8w", "1y", "2y"];

/** The next range below (`dir` -1) or above (+1) `ms`, as a duration string. */
export function stepRange(ms, dir) {
  const steps = RANGE_STEPS.map((s) => [s, parseDuration(s)]);
  const found = dir < 0 ? steps.filter(([, v]) => v < ms).pop() : steps.find(([, v]) => v > ms);
  return (found || (dir < 0 ? steps[0] : steps[steps.length - 1]))[0];
}
