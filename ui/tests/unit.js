// Unit tests of ui/format.js, run inside the page by the browser test
// (Tests/Fixtures/ui_browser.py): no npm, no test framework. `run()` returns the failures.
export async function run() {
  const f = await import(location.origin + "/ui/format.js");
  const failures = [];
  const eq = (name, got, want) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  eq("parseDuration 1h30m", f.parseDuration("1h30m"), 5400000);
  eq("parseDuration 500ms", f.parseDuration("500ms"), 500);
  eq("parseDuration bad", f.parseDuration("5 minutes"), null);
  eq("formatDuration", f.formatDuration(5400000), "1h30m");
  eq("formatDuration 0", f.formatDuration(0), "0s");
  eq("humanize k", f.humanize(1500), "1.5k");
  eq("humanize M", f.humanize(2340000), "2.34M");
  eq("humanize m", f.humanize(0.0123), "12.3m");
  eq("humanize 0", f.humanize(0), "0");
  eq("humanize negative", f.humanize(-4200), "-4.2k");
  eq("niceTicks", f.niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  eq("niceTicks fractional", f.niceTicks(0.1, 0.45, 4), [0.1, 0.2, 0.3, 0.4]);
  eq("timeTicks step", f.timeTicks(0, 3600000, 6).step, 600000);
  eq("seriesName", f.seriesName({ __name__: "up", job: "a", instance: "b" }), 'up{instance="b", job="a"}');
  eq("seriesName no name", f.seriesName({ job: "a" }), '{job="a"}');
  eq("seriesName bare", f.seriesName({ __name__: "up" }), "up");
  eq("autoStep", f.autoStep(3600000), 14000);
  eq("errorPosition", f.errorPosition('invalid parameter "query": 1:8: parse error: unclosed left parenthesis'), { line: 1, column: 8 });
  eq("errorPosition none", f.errorPosition("execution error"), null);
  const state = f.parseState("?g0.expr=rate(x%5B5m%5D)&g0.tab=1&g0.range_input=6h&g1.expr=up&g1.stacked=1");
  eq("parseState", state, [
    { expr: "rate(x[5m])", tab: 1, range: "6h", end: "", step: "", stacked: false },
    { expr: "up", tab: 0, range: "1h", end: "", step: "", stacked: true },
  ]);
  eq("stateQuery round trip", f.parseState(f.stateQuery(state)), state);
  const stacked = f.stack([{ t: [1, 2], v: [1, 2] }, { t: [1, 2], v: [10, NaN] }]).map((s) => [[...s.v], [...s.base]]);
  eq("stack", stacked, [[[1, 2], [0, 0]], [[11, 2], [1, 2]]]);
  const kinds = (src) => f.tokenize(src).filter((t) => t.type !== "space").map((t) => `${t.type}:${t.text}`);
  eq("tokenize", kinds('sum by (job) (rate(x{a=~"b"}[5m] offset 1h)) > 0.5 # c'), [
    "function:sum", "keyword:by", "paren:(", "label:job", "paren:)", "paren:(", "function:rate", "paren:(", "metric:x", "paren:{",
    "label:a", "operator:=~", 'string:"b"', "paren:}", "paren:[", "duration:5m", "paren:]", "keyword:offset", "duration:1h", "paren:)",
    "paren:)", "operator:>", "number:0.5", "comment:# c"]);
  eq("tokenize keeps the text", f.tokenize('a{b="\\"x"} @ 1e3 unless on(c) d').map((t) => t.text).join(""), 'a{b="\\"x"} @ 1e3 unless on(c) d');
  eq("tokenize unclosed", kinds('x{a="b'), ["metric:x", "paren:{", "label:a", "operator:=", 'string:"b']);
  eq("complete metric", f.completionContext("rate(x_to", 9), { kind: "metric", word: "x_to", from: 5, metric: "" });
  eq("complete label", f.completionContext("x{a=\"1\", b", 10), { kind: "label", word: "b", from: 9, metric: "x" });
  eq("complete label empty", f.completionContext("x_total{", 8), { kind: "label", word: "", from: 8, metric: "x_total" });
  eq("complete value", f.completionContext('x{i="0', 6), { kind: "value", label: "i", word: "0", from: 5, metric: "x" });
  eq("complete by list", f.completionContext("sum by (jo", 10), { kind: "label", word: "jo", from: 8, metric: "" });
  eq("complete none in a range", f.completionContext("x[5", 3), null);
  eq("complete none in a number", f.completionContext("1e5", 3), null);
  eq("stepRange up", f.stepRange(3600000, 1), "2h");
  eq("stepRange down", f.stepRange(3600000, -1), "30m");
  eq("stepRange between", f.stepRange(4000000, -1), "1h");
  eq("stepRange top", f.stepRange(1e15, 1), "2y");
  return failures;
}
