import StrataPromQLParser
import Testing

/// Cases from Prometheus' prettier_test.go (which sets the line width to 10).
@Suite struct PrettierTests {
    @Test(arguments: [
        ("sum(foo)", "sum(foo)"),
        (#"sum by() (task:errors:rate10s{job="s"})"#, "sum(\n  task:errors:rate10s{job=\"s\"}\n)"),
        (#"sum without(job,foo) (task:errors:rate10s{job="s"})"#, "sum without (job, foo) (\n  task:errors:rate10s{job=\"s\"}\n)"),
        (#"topk(10, ask:errors:rate10s{job="s"})"#, "topk(\n  10,\n  ask:errors:rate10s{job=\"s\"}\n)"),
        (#"sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))"#,
         "sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job=\"s\"}\n  )\n)"),
        (#"a{job="1"} + b{job="2"}"#, "  a{job=\"1\"}\n+\n  b{job=\"2\"}"),
        (#"a{job="1"} + on(job) group_left(x) b{job="2"}"#, "  a{job=\"1\"}\n+ on (job) group_left (x)\n  b{job=\"2\"}"),
        (#"rate(foo{job="s"}[5m])"#, "rate(\n  foo{job=\"s\"}[5m]\n)"),
        (#"-sum(foo{job="s"})"#, "-sum(\n  foo{job=\"s\"}\n)"),
        (#"(foo{job="s"} + bar)"#, "(\n    foo{job=\"s\"}\n  +\n    bar\n)"),
        ("a+b", "a + b"),
        ("a == bool 1", "  a\n== bool\n  1"),
        ("a + ignoring(job) b", "  a\n+ ignoring (job)\n  b"),
        ("foo_1 + foo_2", "  foo_1\n+\n  foo_2"),
        ("((_foo_long_))", "(\n  (\n    _foo_long_\n  )\n)"),
        ("(-vector_selector)", "(\n  -vector_selector\n)"),
        ("-histogram_quantile(0.9,rate(foo[1m]))", "-histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)"),
    ])
    func prettyAtWidthTen(input: String, expected: String) throws {
        #expect(try PromQLParser.parse(input).pretty(width: 10) == expected)
    }

    @Test func shortQueriesStayOnOneLine() throws {
        let q = #"sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))"#
        #expect(try PromQLParser.parse(q).pretty() == q)
    }
}
