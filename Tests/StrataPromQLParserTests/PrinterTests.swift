import Testing
@testable import StrataPromQLParser

/// Queries and how Prometheus prints them after parsing (`printer_test.go` plus our own cases).
/// `nil` means the query prints as written.
private let printedForms: [(query: String, printed: String?)] = [
    // Aggregations.
    (#"sum by() (task:errors:rate10s{job="s"})"#, #"sum(task:errors:rate10s{job="s"})"#),
    (#"sum by(code) (task:errors:rate10s{job="s"})"#, #"sum by (code) (task:errors:rate10s{job="s"})"#),
    (#"sum without() (task:errors:rate10s{job="s"})"#, #"sum without () (task:errors:rate10s{job="s"})"#),
    (#"sum without(instance) (task:errors:rate10s{job="s"})"#, #"sum without (instance) (task:errors:rate10s{job="s"})"#),
    (#"sum by("foo.bar") (task:errors:rate10s{job="s"})"#, #"sum by ("foo.bar") (task:errors:rate10s{job="s"})"#),
    (#"sum by("üüü") (foo)"#, #"sum by ("üüü") (foo)"#),
    (#"count by("ööö", job) (foo)"#, #"count by ("ööö", job) (foo)"#),
    (#"topk(5, task:errors:rate10s{job="s"})"#, nil),
    (#"count_values("value", task:errors:rate10s{job="s"})"#, nil),
    ("quantile(0.9, x)", nil),
    ("SUM BY (group) (http_requests)", "sum by (group) (http_requests)"),
    ("SUM(http_requests) BY (job, group)", "sum by (job, group) (http_requests)"),
    ("sum(x) without (a,)", "sum without (a) (x)"),
    ("sum by (foo,bar,)(some_metric)", "sum by (foo, bar) (some_metric)"),
    ("sum without(and, by, avg, count, alert, annotations)(some_metric)",
     "sum without (and, by, avg, count, alert, annotations) (some_metric)"),
    ("sum by (on, bool, group_left, offset, start, atan2)(x)", "sum by (on, bool, group_left, offset, start, atan2) (x)"),
    ("sum by (a:b) (x)", #"sum by ("a:b") (x)"#),
    (#"sum by ("foo", bar, 'baz')({"some.metric"})"#, #"sum by (foo, bar, baz) ({__name__="some.metric"})"#),
    ("bottomk(3, x) > 1", nil),
    ("group(x)", nil), ("stddev(x)", nil), ("stdvar(x)", nil), ("avg(x)", nil), ("min(x)", nil), ("max(x)", nil),
    ("sum(rate(x[5m])) by (job) / ignoring (job) group_left count(x)",
     "sum by (job) (rate(x[5m])) / ignoring (job) group_left () count(x)"),

    // Vector matching and binary operators.
    ("a - on() c", "a - on () c"),
    ("a - on(b) c", "a - on (b) c"),
    ("a - on(b) group_left(x) c", "a - on (b) group_left (x) c"),
    ("a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"),
    ("a - on(b) group_left c", "a - on (b) group_left () c"),
    ("a - on(b) group_left() (c)", "a - on (b) group_left () (c)"),
    ("a - ignoring(b) c", "a - ignoring (b) c"),
    ("a - ignoring() c", "a - c"),
    ("a - ignoring() group_left(__metric__) c", "a - ignoring () group_left (__metric__) c"),
    ("a - ignoring() group_left c", "a - ignoring () group_left () c"),
    ("a * on(x) group_right(y) b", "a * on (x) group_right (y) b"),
    (#"foo / on("äää") group_left("ööö") bar"#, #"foo / on ("äää") group_left ("ööö") bar"#),
    (#"foo / on(legacy, "üüü") bar"#, #"foo / on (legacy, "üüü") bar"#),
    ("foo / on(job, instance) bar", "foo / on (job, instance) bar"),
    ("up > bool 0", nil),
    ("1 == bool 1", nil),
    ("a == bool on(x) b", "a == bool on (x) b"),
    ("foo and on() bar", "foo and on () bar"),
    ("foo and ignoring() bar", "foo and bar"),
    ("1 + on() foo", "1 + foo"),
    ("foo and bar or baz unless qux", nil),
    ("a atan2 b", nil),
    ("a ATAN2 b", "a atan2 b"),
    ("a AND b", "a and b"),
    ("1 + 2 * 3", nil), ("(1 + 2) * 3", nil), ("2 ^ 3 ^ 2", nil), ("1 - 2 - 3", nil),
    ("a^b", "a ^ b"), ("a%b", "a % b"), ("a!=b", "a != b"), ("a>=b", "a >= b"), ("a<=b", "a <= b"), ("a<b", "a < b"),
    ("a==b", "a == b"), ("a/b", "a / b"),
    ("-1 ^ 2", nil), ("-a * b", nil), ("foo * -1", nil), ("- -1", "1"), ("-(1)", nil), ("+foo", nil), ("-(foo)", nil),
    ("fill + fill", nil),
    ("fill_left + fill_right", nil),

    // Numbers and strings.
    ("1048576", nil), ("1", nil), (".5", "0.5"), ("5.", "5"), ("123.4567", nil), ("5e-3", "0.005"), ("5e3", "5000"),
    ("0xc", "12"), ("0x1f", "31"), ("010", "8"), ("08", "8"), ("1_000", "1000"), ("0x_1f", "31"), ("1e-7", "0.0000001"),
    ("1e21", "1000000000000000000000"), ("0.1", nil), ("3.14159", nil), ("-0.25", nil),
    ("Inf", "+Inf"), ("+Inf", "+Inf"), ("-inF", "-Inf"), ("nan", "NaN"), ("NaN", "NaN"),
    ("1h", nil), ("90m", "1h30m"), ("-5m", nil), ("1h + 1", nil), ("time() - 1d", nil), ("100ms", nil),
    (#""hello""#, nil), (#"'it\'s'"#, #""it's""#), ("`raw\\n`", #""raw\\n""#), (#""\u00e4\x41\101""#, #""äAA""#),
    (#""tab\there""#, nil), (#""quote\"d""#, nil),

    // Selectors.
    ("foo", nil), ("foo:bar:rate5m", nil), (":foo", nil),
    (#"foo{a="b",}"#, #"foo{a="b"}"#),
    (#"foo{b="2", a="1"}"#, #"foo{a="1",b="2"}"#),
    (#"foo{a!="1",b=~"x.*",c!~"y"}"#, nil),
    (#"{__name__="a"}"#, nil),
    (#"{__name__="",a="x"}"#, nil),
    (#"{"a.b"="c"}"#, nil), (#"{"0"="1"}"#, nil), (#"{"_0"="1"}"#, #"{_0="1"}"#), (#"{""="0"}"#, nil),
    ("{``=\"0\"}", #"{""="0"}"#),
    (#"{"my.metric", "lbl.x"="v"}"#, #"{"lbl.x"="v",__name__="my.metric"}"#),
    (#"{"foo"}"#, #"{__name__="foo"}"#),
    (#"foo{on="x", by="y", sum="z", bool="w"}"#, #"foo{bool="w",by="y",on="x",sum="z"}"#),
    (#"offset{step="1s"}[5m]"#, nil), (#"step{offset="1s"}[5m]"#, nil), (#"start{end="foo"}"#, nil), (#"end{start="foo"}"#, nil),
    ("sum", nil), ("sum + avg", nil), ("by", nil), ("without", nil), ("and", nil), ("anchored", nil), ("max_of", nil), ("step", nil), ("start + end", nil),
    (#"sum{job="a"}"#, nil), (#"SUM{job="a"}"#, nil),
    (#"foo{a="b"} # a comment"#, #"foo{a="b"}"#),
    ("sum(\n  foo # first\n)", "sum(foo)"),
    (#"foo{a="x\ny"}"#, #"foo{a="x\ny"}"#),

    // Ranges, subqueries, offset and @.
    ("a offset 1m", nil), ("a offset -7m", nil), (#"a{c="d"}[5m] offset 1m"#, nil), ("a[5m] offset 1m", nil),
    ("a[12m] offset -3m", nil), ("a[1h:5m] offset 1m", nil),
    (#"a{b!="c"}[1m]"#, nil), (#"a{b=~"c"}[1m]"#, nil), (#"a{b!~"c"}[1m]"#, nil),
    ("a @ 10", "a @ 10.000"), ("a[1m] @ 10", "a[1m] @ 10.000"), ("a @ start()", nil), ("a @ end()", nil),
    ("a[1m] @ start()", nil), ("a[1m] @ end()", nil), ("a @ 1.5", "a @ 1.500"), ("a @ -5", "a @ -5.000"),
    ("a @ 1h", "a @ 3600.000"), ("a @ +0.001", "a @ 0.001"),
    ("foo @ 100 offset 5m", "foo @ 100.000 offset 5m"), ("foo offset 5m @ 100", "foo @ 100.000 offset 5m"),
    ("foo offset 50", "foo offset 50s"), ("foo offset 1.5", "foo offset 1s500ms"), ("foo offset +5m", "foo offset 5m"),
    ("foo offset 0s", "foo"),
    ("foo[300]", "foo[5m]"), ("foo[1h30m]", nil), ("foo[7d]", "foo[1w]"), ("foo[90d]", nil), ("foo[365d]", "foo[1y]"),
    ("foo[1.5]", "foo[1s500ms]"), ("foo[+5m]", "foo[5m]"), ("foo[ 5m ]", "foo[5m]"), ("foo[100ms]", nil),
    ("rate(foo[5m])[30m:1m]", nil), ("rate(foo[5m])[30m:]", nil), ("foo[5m:]", nil),
    ("sum(x)[5m:] offset 1m @ end()", "sum(x)[5m:] @ end() offset 1m"),
    ("(foo + bar)[5m:1m]", nil), ("foo offset 5m [10m:1m]", "foo offset 5m[10m:1m]"), ("max_over_time(foo[5m:])[10m:]", nil),
    ("foo[5m] offset 1m @ 100", "foo[5m] @ 100.000 offset 1m"),
    ("-foo offset 5m", nil), ("-foo @ 5 ^ 2", "-foo @ 5.000 ^ 2"),

    // Functions.
    ("predict_linear(foo[1h], 3000)", nil),
    (#"label_replace(up, "a", "$1", "b", "(.*)")"#, nil),
    (#"label_join(up, "a", ",", "b", "c")"#, nil),
    ("time()", nil), ("pi()", nil), ("vector(1)", nil), ("scalar(x)", nil),
    ("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", nil),
    ("round(x)", nil), ("round(x, 0.5)", nil), ("hour()", nil), ("hour(x)", nil), ("clamp(x, 0, 1)", nil),
    ("abs(-1 * x)", nil), ("absent(nonexistent{job=\"x\"})", nil),
    ("sum(\n  rate(x[5m])\n)", "sum(rate(x[5m]))"),
]

@Suite struct PrinterTests {
    @Test func printsLikePrometheus() throws {
        var mismatches: [String] = []
        for (query, printed) in printedForms {
            do {
                let text = try PromQLParser.parse(query).description
                if text != (printed ?? query) { mismatches.append("\(query) → \(text), want \(printed ?? query)") }
            } catch {
                mismatches.append("\(query) → error \(error)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func printedFormParsesToTheSameText() throws {
        for (query, _) in printedForms {
            let once = try PromQLParser.parse(query).description
            let twice = try PromQLParser.parse(once).description
            #expect(once == twice, "\(query)")
        }
    }

    @Test func experimentalForms() throws {
        let options = ParserOptions(experimentalFunctions: true)
        for query in ["limitk(2, x)", "limit_ratio(0.5, x)", "mad_over_time(x[5m])", #"sort_by_label(x, "a", "b")"#,
                      #"info(x, {k8s_cluster_id=~".+"})"#, "info(x)", "double_exponential_smoothing(x[5m], 0.5, 0.5)",
                      "step()", "end() - start()", "min_of(1, range())", "max_of(2, 3)"] {
            #expect(try PromQLParser.parse(query, options: options).description == query)
        }
    }
}
