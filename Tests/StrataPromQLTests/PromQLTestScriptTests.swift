import StrataModel
import StrataPromQLParser
import StrataPromQL
@testable import StrataTestSupport
import Testing

/// The test-script runner itself: reading scripts, expanding values, comparing results.
@Suite struct PromQLTestScriptTests {
    private func floats(_ line: SeriesLine) -> [Double?] {
        line.values.map { if case .float(let v) = $0 { return v } else { return nil } }
    }

    private func onlyEval(_ script: String) throws -> EvalCommand {
        let evals = PromQLScriptParser.parse(script).compactMap { if case .eval(let e) = $0 { return e } else { return nil } }
        try #require(evals.count == 1, "\(PromQLScriptParser.parse(script))")
        return evals[0]
    }

    // MARK: Script structure

    @Test func splitsCommandsAtEmptyAndCommentLines() throws {
        let script = """
        # leading comment
        load 5m
          a{job="x"} 1 2
          # a comment ends the block like an empty line
        clear
        load_with_nhcb 1m
            b 3

        eval instant at 10m a
          a{job="x"} 2

        eval range from 0 to 10m step 5m b
          expect no_warn
          b 3 3 3
        """
        let commands = PromQLScriptParser.parse(script)
        try #require(commands.count == 5)
        guard case .load(let first) = commands[0], case .clear(let clearLine) = commands[1],
              case .load(let second) = commands[2], case .eval(let instant) = commands[3], case .eval(let range) = commands[4]
        else { Issue.record("unexpected commands \(commands)"); return }
        #expect(first.step == 300_000 && !first.withNHCB && first.line == 2)
        #expect(clearLine == 5)
        #expect(second.withNHCB && second.step == 60_000)
        #expect(instant.line == 9 && instant.query == "a" && instant.instantTime == 600_000)
        #expect(instant.expectedSeries.map(\.labels) == [Labels([("__name__", "a"), ("job", "x")])])
        guard case .range(let start, let end, let step) = range.mode else { Issue.record("not a range eval"); return }
        #expect((start, end, step) == (0, 600_000, 300_000))
        #expect(range.forbidWarnings && range.expectedSeries.count == 1)
    }

    @Test func readsEvalHeadersAndDurations() throws {
        #expect(try onlyEval("eval instant at 1h30m10s5ms  sum( x )").instantTime == 5_410_005)
        #expect(try onlyEval("eval instant at 0 x").query == "x")
        let range = try onlyEval("eval range from 1m to 2m step 10s10ms rate(x[5m])")
        guard case .range(60_000, 120_000, 10_010) = range.mode else { Issue.record("bad range \(range.mode)"); return }
        #expect(range.query == "rate(x[5m])")
        // Units must go from largest to smallest.
        guard case .invalid(line: 1, _, query: "x"?) = PromQLScriptParser.parse("eval instant at 1s1m x")[0] else {
            Issue.record("1s1m should not parse"); return
        }
    }

    @Test func readsExpectLines() throws {
        let ev = try onlyEval("""
        eval instant at 1m foo
          expect warn msg: PromQL warning: something odd (1:1)
          expect warn
          expect info regex:count \\(1:[0-9]+\\)
          expect ordered
          foo{a="1"} 1
          foo{a="2"} 2
        """)
        #expect(ev.ordered)
        #expect(ev.expectedWarnings.count == 2 && ev.expectedInfos.count == 1 && !ev.forbidWarnings)
        #expect(ev.expectedWarnings[0].matches("PromQL warning: something odd (1:1)"))
        #expect(!ev.expectedWarnings[0].matches("PromQL warning: something odd (1:2)"))
        #expect(ev.expectedWarnings[1].matches("anything at all"))
        #expect(ev.expectedInfos[0].matches("PromQL info: count (1:12)"))
        #expect(!ev.expectedInfos[0].matches("PromQL info: count (x:12)"))

        let fail = try onlyEval("eval instant at 0 foo\n  expect fail msg: bad thing")
        guard case .exact("bad thing") = fail.expectedFailure else { Issue.record("\(String(describing: fail.expectedFailure))"); return }
        let regexFail = try onlyEval("eval instant at 0 foo\n  expect fail regex: bad .*")
        #expect(regexFail.expectedFailure?.matches("a bad thing") == true)
    }

    @Test func readsDeprecatedSpellings() throws {
        let message = try onlyEval("eval_fail instant at 0 foo\n  expected_fail_message vector cannot contain metrics with the same labelset")
        guard case .exact("vector cannot contain metrics with the same labelset") = message.expectedFailure else {
            Issue.record("\(String(describing: message.expectedFailure))"); return
        }
        let pattern = try onlyEval("eval_fail instant at 0 foo\n  expected_fail_regexp same label.*")
        #expect(pattern.expectedFailure?.matches("vector cannot contain metrics with the same labelset") == true)
        #expect(try onlyEval("eval_warn instant at 0 foo").requireWarning)
        #expect(try onlyEval("eval_info range from 0 to 1m step 1m foo").requireInfo)
        #expect(try onlyEval("eval_ordered instant at 0 foo").ordered)
        guard case .any = try onlyEval("eval_fail instant at 0 foo").expectedFailure else { Issue.record("eval_fail"); return }
    }

    @Test func readsScalarStringAndRangeVectorExpectations() throws {
        #expect(try onlyEval("eval instant at 0 1 + 1\n  0x10").expectedScalar == 16)
        #expect(try onlyEval("eval instant at 0 -Inf\n  -Inf").expectedScalar == -.infinity)
        #expect(try onlyEval("eval instant at 0 0 / 0\n\tNaN").expectedScalar?.isNaN == true)
        #expect(try onlyEval("eval instant at 0 \"a\"\n  expect string \"a\\tb\"").expectedString == "a\tb")
        #expect(try onlyEval("eval instant at 0 `Foo`\n  expect string `F\\oo`").expectedString == "F\\oo")

        let rv = try onlyEval("""
        eval instant at 1m some_metric[1m]
          expect range vector from 10s to 1m step 10s
          some_metric{env="a"} 2 3 _ 5 6
        """)
        #expect(rv.instantTime == 60_000)
        #expect(rv.expectedRange?.start == 10_000 && rv.expectedRange?.step == 10_000)
        #expect(floats(rv.expectedSeries[0]) == [2, 3, nil, 5, 6])
    }

    @Test func aScalarLineEndsTheBlock() {
        let commands = PromQLScriptParser.parse("eval instant at 0 1\n  1\n  2")
        guard case .eval(let ev) = commands[0], case .invalid(line: 3, _, nil) = commands[1] else {
            Issue.record("unexpected \(commands)"); return
        }
        #expect(ev.expectedScalar == 1)
    }

    @Test func brokenEvalsAreKeptAsInvalid() {
        let commands = PromQLScriptParser.parse("""
        eval instant at 1m foo
          foo 1 2

        bogus command
        eval instant at 1m foo
          expect warn
          expect no_warn
        """)
        guard commands.count == 3, case .invalid(1, _, "foo"?) = commands[0], case .invalid(4, _, nil) = commands[1],
              case .invalid(5, _, "foo"?) = commands[2]
        else { Issue.record("unexpected \(commands)"); return }
    }

    // MARK: Series and values

    @Test func readsSeriesDescriptions() throws {
        let s = try PromQLScriptParser.series(#"http_requests{job="api \"x\"", instance='0', path=`a\b`,} 1"#)
        #expect(s.labels == Labels([("__name__", "http_requests"), ("job", "api \"x\""), ("instance", "0"), ("path", "a\\b")]))
        #expect(try PromQLScriptParser.series(#"{group="canary"} 700"#).labels == Labels([("group", "canary")]))
        #expect(try PromQLScriptParser.series("{} 3").labels == Labels.empty)
        #expect(try PromQLScriptParser.series("up 1").labels == Labels([("__name__", "up")]))
        #expect(try PromQLScriptParser.series(#"{"my.metric", "a.b"="\x41\u00e9\n"} 1"#).labels
            == Labels([("__name__", "my.metric"), ("a.b", "Aé\n")]))
        #expect(throws: (any Error).self) { try PromQLScriptParser.series(#"foo{a="b" 1"#) }
        #expect(throws: (any Error).self) { try PromQLScriptParser.series("1 2") }
    }

    @Test func expandsValues() throws {
        func values(_ text: String) throws -> [Double?] { floats(try PromQLScriptParser.series("m " + text)) }
        #expect(try values("1+1x3") == [1, 2, 3, 4])
        #expect(try values("10-2.5x2") == [10, 7.5, 5])
        #expect(try values("-2+1x1") == [-2, -1])
        #expect(try values("5x2") == [5, 5, 5])
        #expect(try values("_ 1 _x2 2") == [nil, 1, nil, nil, 2])
        #expect(try values("1e3 -1.5E+2 .5 1_000 010 +Inf -Inf inf") == [1000, -150, 0.5, 1000, 8, .infinity, -.infinity, .infinity])
        // No hex in series lines: `0+0x3` is "0, plus 0, three times".
        #expect(try values("0+0x3") == [0, 0, 0, 0])
        // Repeated addition, not a + i*b: ten steps of 0.1 stop just short of 1.
        #expect(try values("0+0.1x10").last == 0.9999999999999999)

        let odd = try PromQLScriptParser.series("m NaN stale 1")
        guard case .float(let nan) = odd.values[0], case .float(let stale) = odd.values[1] else { Issue.record("\(odd.values)"); return }
        #expect(nan.isNaN && !StaleNaN.isStale(nan))
        #expect(StaleNaN.isStale(stale))
    }

    @Test func expandsHistogramsWithoutModellingThem() throws {
        let h = try PromQLScriptParser.series("m {{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{count:1}}x2 {{count:0}}+{{count:1}}x1 3")
        #expect(h.values.count == 7)
        let histograms = h.values.prefix(6).filter(\.isHistogram).count
        #expect(histograms == 6)
        #expect(floats(h).last == 3)
    }

    // MARK: Comparison

    @Test func comparesFloatsWithRelativeTolerance() {
        #expect(ExpectedFloat.matches(1, 1 + 1e-7))
        #expect(!ExpectedFloat.matches(1, 1 + 1e-5))
        #expect(ExpectedFloat.matches(1e300, 1.0000001e300))
        #expect(ExpectedFloat.matches(.infinity, .infinity))
        #expect(!ExpectedFloat.matches(.infinity, -.infinity))
        #expect(!ExpectedFloat.matches(.infinity, .greatestFiniteMagnitude))
        #expect(ExpectedFloat.matches(.nan, normalNaN))
        #expect(ExpectedFloat.matches(StaleNaN.value, StaleNaN.value))
        #expect(!ExpectedFloat.matches(StaleNaN.value, .nan))
        #expect(!ExpectedFloat.matches(.nan, 1))
        // Zero only equals (practically) zero.
        #expect(!ExpectedFloat.matches(0, 1e-300))
        #expect(ExpectedFloat.matches(0, -0.0))
        #expect(ExpectedFloat.matches(0, 1e-320))
        // Below the smallest normal double only a practically exact match counts.
        #expect(!ExpectedFloat.matches(1e-310, 2e-310))
        #expect(ExpectedFloat.format(2) == "2" && ExpectedFloat.format(0.5) == "0.5" && ExpectedFloat.format(-.infinity) == "-Inf")
    }

    @Test func comparesVectors() throws {
        let ev = try onlyEval("eval instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2")
        let one = Labels([("__name__", "x"), ("a", "1")]), two = Labels([("__name__", "x"), ("a", "2")])
        let w = ResultComparison.Window(start: 0, end: 0, step: 0)
        func check(_ els: [(Labels, Double)]) -> String? {
            ResultComparison.compare(.vector(els.map { VectorElement(labels: $0.0, t: 0, v: $0.1) }), with: ev, window: w)
        }
        #expect(check([(two, 2), (one, 1.0000001)]) == nil)
        #expect(check([(one, 1)])?.contains("not found") == true)
        #expect(check([(one, 1), (two, 3)])?.contains("expected 2") == true)
        #expect(check([(one, 1), (two, 2), (Labels([("a", "3")]), 3)])?.contains("unexpected series") == true)
        #expect(ResultComparison.compare(.scalar(t: 0, v: 1), with: ev, window: w) != nil)

        var ordered = ev
        ordered.ordered = true
        #expect(ResultComparison.compare(.vector([VectorElement(labels: two, t: 0, v: 2), VectorElement(labels: one, t: 0, v: 1)]),
                                         with: ordered, window: w)?.contains("position") == true)
    }

    @Test func comparesMatrices() throws {
        let ev = try onlyEval("eval range from 0 to 2m step 1m x\n  x 1 _ 3\n  {} 5")
        let x = Labels([("__name__", "x")])
        let w = ResultComparison.Window(start: 0, end: 120_000, step: 60_000)
        func check(_ series: [SeriesPoints]) -> String? { ResultComparison.compare(.matrix(series), with: ev, window: w) }
        let good = [SeriesPoints(labels: .empty, points: [Sample(t: 0, v: 5)]),
                    SeriesPoints(labels: x, points: [Sample(t: 0, v: 1), Sample(t: 120_000, v: 3)])]
        #expect(check(good) == nil)
        #expect(check(good.reversed())?.contains("not sorted") == true)
        var shifted = good
        shifted[1].points[1].t = 60_000
        #expect(check(shifted)?.contains("t=120000") == true)
        var extra = good
        extra[0].points.append(Sample(t: 60_000, v: 5))
        #expect(check(extra)?.contains("expected 1 float points") == true)

        let tooMany = try onlyEval("eval range from 0 to 1m step 1m x\n  x 1 2 3")
        #expect(ResultComparison.compare(.matrix([SeriesPoints(labels: x, points: [Sample(t: 0, v: 1)])]), with: tooMany,
                                         window: .init(start: 0, end: 60_000, step: 60_000))?.contains("cannot hold") == true)
    }

    @Test func checksAnnotationsInRenderedForm() throws {
        let ev = try onlyEval("eval instant at 0 sum(x)\n  expect warn msg: PromQL warning: mixed (1:5)")
        let warning = Annotation(.warning, "mixed", position: .init(start: 4, end: 5))
        #expect(AnnotationCheck.check([warning], for: ev) == nil)
        #expect(AnnotationCheck.check([], for: ev) != nil)
        #expect(AnnotationCheck.check([warning, Annotation(.warning, "other")], for: ev)?.contains("unexpected") == true)
        // Infos are unchecked without an info or no_info line.
        #expect(AnnotationCheck.check([warning, Annotation(.info, "fyi")], for: ev) == nil)

        let quiet = try onlyEval("eval instant at 0 x\n  expect no_warn")
        #expect(AnnotationCheck.check([Annotation(.info, "fyi")], for: quiet) == nil)
        #expect(AnnotationCheck.check([Annotation(.warning, "w")], for: quiet) != nil)
    }

    // MARK: Classification and report

    @Test func readsTheCaseList() {
        let list = "a.test:3\t-\tsum(x)\na.test:9\tnh\thistogram_count(x)\nb.test:4\tnh,xfn\tlimitk(1, h)\nb.test:8\tdur,xfn\tx[2m*3]\n"
        let classes = PromQLCaseList.parse(listOutput: list)
        #expect(classes["a.test"] == [3: .core, 9: .nativeHistogram])
        #expect(classes["b.test"] == [4: .nativeHistogram, 8: .experimental])
    }

    @Test func classifiesByQueryTextWhenUnparsed() {
        #expect(EvalClassifier.classify(queryText: "sum(rate(x[5m]))") == .core)
        #expect(EvalClassifier.classify(queryText: "limitk(2, x)") == .experimental)
        #expect(EvalClassifier.classify(queryText: "x[step()]") == .experimental)
        #expect(EvalClassifier.classify(queryText: "x @ start()") == .core)
        #expect(EvalClassifier.classify(queryText: "histogram_count(x) + limitk(1, y)") == .nativeHistogram)
        // Flag-gated syntax: fill modifiers, extended selectors, duration arithmetic.
        #expect(EvalClassifier.classify(queryText: "a + fill(0) b") == .experimental)
        #expect(EvalClassifier.classify(queryText: "rate(x[5m] anchored)") == .experimental)
        #expect(EvalClassifier.classify(queryText: "x offset -100 smoothed") == .experimental)
        #expect(EvalClassifier.classify(queryText: "x[2m*15]") == .experimental)
        #expect(EvalClassifier.classify(queryText: "x offset (1m+1s)") == .experimental)
        #expect(EvalClassifier.classify(queryText: "sum_over_time(x[10m:1m]) offset -4") == .core)
        #expect(EvalClassifier.classify(queryText: #"{__name__=~"a[0-9]+", b=~"[a-z]"}[1800]"#) == .core)
    }

    @Test func classifiesBySelectedSeries() throws {
        let load = PromQLScriptParser.parse("""
        load 1m
          @st -1s
          plain 1
        """)
        guard case .load(let l) = load[0] else { Issue.record("\(load)"); return }
        #expect(l.startTimestampSeries == [Labels([("__name__", "plain")])])

        let script = """
        load_with_nhcb 1m
          req_bucket{le="1"} 1
          req_count 1
          h {{count:1}}
          typed{__type__="gauge"} 1
          plain 1

        eval instant at 0 sum(req)

        eval instant at 0 h

        eval instant at 0 typed

        eval instant at 0 req_count

        eval instant at 0 {__name__=~"plain|typed"}
        """
        // Pass or fail, each eval lands in its class: the converted `req` and `h` are histograms,
        // `typed` carries a type label, and the regex selects `typed` too.
        let report = PromQLTestRunner().run(script: script, file: "c.test")
        #expect(report.tally(.nativeHistogram).total == 2)
        #expect(report.tally(.experimental).total == 2)
        #expect(report.tally(.core).total == 1)
    }

    @Test func summarizesPerFile() {
        var report = PromQLTestReport(file: "aggregators.test")
        report.record(line: 1, query: "a", evalClass: .core, failure: nil)
        report.record(line: 2, query: "b", evalClass: .core, failure: "expected 1\ngot 2")
        report.record(line: 3, query: "c", evalClass: .nativeHistogram, failure: nil)
        report.record(line: 4, query: "d", evalClass: .experimental, failure: "nope")
        #expect(report.summary == "aggregators.test: core 1/2 passed, 1 failed; 2 non-core (native histograms/experimental): 1 passed, 1 skipped-as-unsupported")
        #expect(report.failures.map(\.description) == ["aggregators.test:2 [core] b — expected 1 got 2",
                                                         "aggregators.test:4 [experimental] d — nope"])
        let total = PromQLTestReport.combined([report, report])
        #expect(total.corePassed == 2 && total.coreFailed == 2 && total.nonCoreFailed == 2 && total.corePassRatio == 0.5)
    }

    // MARK: End to end

    @Test func runsATinyScript() {
        let script = """
        load 1m
          http_requests{job="api", instance="0"} 0+10x10
          http_requests{job="api", instance="1"} 0+20x10
          other 1 _ stale 4

        eval instant at 5m sum by (job) (http_requests)
          {job="api"} 150

        eval instant at 5m http_requests{instance="1"} * 2
          {job="api", instance="1"} 200

        eval range from 0 to 3m step 1m other
          other 1 1 _ 4

        eval instant at 1m 1 + 2
          3

        eval instant at 1m http_requests{instance="0"}[1m]
          expect range vector from 1m to 1m step 1m
          http_requests{job="api", instance="0"} 10

        eval instant at 0 "hello"
          expect string "hello"

        eval instant at 5m label_replace(http_requests, "dst", "value-$1", "instance", "(.*")
          expect fail

        clear

        eval instant at 5m http_requests
        """
        let report = PromQLTestRunner().run(script: script, file: "tiny.test")
        #expect(report.failures.map(\.description) == [])
        #expect(report.scriptErrors == [])
        #expect(report.corePassed == 8)
    }

    @Test func reportsWhyEvalsFailAndClassifiesThem() {
        let script = """
        load 1m
          up{job="a"} 1x5
          hist {{count:1}}x5

        eval instant at 2m up
          up{job="a"} 2

        eval instant at 2m up * 3
          expect fail

        eval range from 0 to 1m step 1m up
          up{job="a"} 1

        eval instant at 2m hist

        eval instant at 2m limitk(1, up)
          up{job="b"} 1
        """
        let report = PromQLTestRunner().run(script: script, file: "t.test")
        #expect(report.failures.map(\.location) == ["t.test:5", "t.test:8", "t.test:11", "t.test:16"])
        #expect(report.failures[0].reason == #"expected 2 for up{job="a"}, got 1"#)
        #expect(report.failures[1].reason == "expected an error, got none")
        #expect(report.failures[2].reason.hasPrefix(#"expected 1 float points for up{job="a"}, got 2 points"#))
        #expect(report.tally(.core) == PromQLTestReport.Tally(passed: 0, failed: 3))
        #expect(report.tally(.nativeHistogram) == PromQLTestReport.Tally(passed: 1, failed: 0))
        #expect(report.tally(.experimental) == PromQLTestReport.Tally(passed: 0, failed: 1))
    }
}
