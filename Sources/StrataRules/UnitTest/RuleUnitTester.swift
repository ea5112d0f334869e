import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataRuntime
import StrataStorage

/// Storage a rule unit test runs on: the input series, and what the rules write.
public typealias RuleTestStorage = Appendable & Queryable

/// Runs `promtool test rules` files with Strata's engine and templates, the way promtool runs
/// them: every rule group evaluated at each `evaluation_interval` step from 0 to the last
/// `eval_time`, with input samples loaded up to the step; alerts compared at the steps their
/// `eval_time` falls in; expressions evaluated at the end. Problems are worded as promtool's.
public struct RuleUnitTester: Sendable {
    public var makeStorage: @Sendable () -> any RuleTestStorage
    public var makeTemplater: @Sendable (_ externalLabels: [String: String], _ externalURL: String) -> any AlertTemplater
    public var parser: RuleFileParser
    /// Told about rule-file patterns that match nothing (promtool warns and goes on).
    public var warn: @Sendable (String) -> Void = { _ in }

    public init(parser: RuleFileParser, makeStorage: @escaping @Sendable () -> any RuleTestStorage,
                makeTemplater: @escaping @Sendable (_ externalLabels: [String: String], _ externalURL: String) -> any AlertTemplater) {
        self.parser = parser
        self.makeStorage = makeStorage
        self.makeTemplater = makeTemplater
    }

    /// The problems found in one test file, each as promtool prints it; empty when it passes.
    /// Runs on a thread with a query's stack, as the server evaluates rules (templates and
    /// PromQL recurse once per level).
    public func run(path: String) -> [String] {
        BlockingThread.runAndWait(stackBytes: BlockingThread.queryStackBytes) { runHere(path: path) }
    }

    private func runHere(path: String) -> [String] {
        let file: RuleTestFile
        do { file = try RuleTestFile.load(path: path) } catch { return ["\(error)"] }
        let base = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let patterns = file.ruleFiles.map { $0.isEmpty || $0.hasPrefix("/") ? $0 : (base.isEmpty ? $0 : base + "/" + $0) }
        var ruleFiles: [String] = []
        for p in patterns {
            let matched = (try? RuleManager.expand([p])) ?? []
            if matched.isEmpty { warn("  WARNING: no file match pattern \(p)") }
            ruleFiles += matched
        }
        var order: [String: Int] = [:]
        for (i, name) in file.groupEvalOrder.enumerated() {
            guard order[name] == nil else { return ["group name repeated in evaluation order: \(name)"] }
            order[name] = i
        }
        var problems: [String] = []
        for group in file.tests {
            problems += run(group, evaluationInterval: file.evaluationInterval, order: order, ruleFiles: ruleFiles)
        }
        return problems
    }

    private func run(_ tg: RuleTestFile.TestGroup, evaluationInterval: Int64, order: [String: Int], ruleFiles: [String]) -> [String] {
        let storage = makeStorage()
        // The input series, by time: loaded up to each step before the step's evaluation.
        var pending: [(t: Int64, labels: Labels, v: Double)] = []
        for s in tg.inputSeries {
            let line: SeriesLine
            do { line = try SeriesDescription.parse("\(s.series) \(s.values)") } catch {
                return ["\(error)"]
            }
            for (i, value) in line.values.enumerated() {
                if case .float(let v) = value { pending.append((Int64(i) * tg.interval, line.labels, v)) }
            }
        }
        pending.sort { $0.t < $1.t }

        var groups: [RuleGroup] = []
        for path in ruleFiles {
            let file: RuleFile
            do { file = try parser.load(path: path) } catch { return error.problems }
            // As promtool: the test group's input interval is the rule groups' default interval,
            // and alerting rules are restored from the start.
            groups += file.groups.map { RuleGroup($0, file: path, interval: tg.interval, queryOffset: 0, restored: true) }
        }
        groups = groups.enumerated().sorted { a, b in
            let (x, y) = (order[a.element.name] ?? 0, order[b.element.name] ?? 0)
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)

        var engineOptions = EngineOptions()
        engineOptions.maxSamples = 10_000
        engineOptions.defaultSubqueryStep = evaluationInterval
        let engine = Engine(options: engineOptions)
        let context = RuleEvaluationContext(engine: engine, queryable: storage, templater: makeTemplater(tg.externalLabels, tg.externalURL), limit: 0)
        let output = RuleGroupOutput(appendable: storage)

        for a in tg.alertTests where a.alertname.isEmpty {
            let inGroup = tg.name.isEmpty ? "" : " (in TestGroup \(tg.name))"
            return ["an item under alert_rule_test misses required attribute alertname at eval_time \(formatPrometheusDuration(milliseconds: a.evalTime))\(inGroup)"]
        }
        let alertTimes = Set(tg.alertTests.map(\.evalTime)).sorted()
        let maxt = (tg.alertTests.map(\.evalTime) + tg.exprTests.map(\.evalTime)).max() ?? 0
        var problems: [String] = []
        var next = 0, loaded = 0
        var ts: Int64 = 0
        while ts <= maxt {
            if loaded < pending.count {
                let app = storage.appender()
                while loaded < pending.count && pending[loaded].t <= ts {
                    app.append(pending[loaded].labels, [Sample(t: pending[loaded].t, v: pending[loaded].v)])
                    loaded += 1
                }
                try? app.commit()
            }
            var evalErrors: [String] = []
            for g in groups {
                g.evaluate(at: ts, context, output)
                for r in g.rules {
                    if let e = r.status.lastError {
                        evalErrors.append("    rule: \(r.spec.name), time: \(goDurationString(milliseconds: ts)), err: \(e)")
                    }
                }
            }
            if !evalErrors.isEmpty { return problems + evalErrors }

            while next < alertTimes.count && ts <= alertTimes[next] && alertTimes[next] < ts + evaluationInterval {
                let t = alertTimes[next]
                problems += checkAlerts(tg, at: t, groups: groups)
                next += 1
            }
            ts += evaluationInterval
        }
        for test in tg.exprTests {
            problems += checkExpression(test, engine: engine, storage: storage)
        }
        return problems
    }

    private typealias LabeledAlert = (labels: Labels, annotations: Labels)

    private func checkAlerts(_ tg: RuleTestFile.TestGroup, at t: Int64, groups: [RuleGroup]) -> [String] {
        let names = Set(tg.alertTests.filter { $0.evalTime == t }.map(\.alertname))
        var got: [String: [LabeledAlert]] = [:]
        for g in groups {
            for case let r as AlertingRule in g.rules where names.contains(r.spec.name) {
                got[r.spec.name, default: []] += r.alerts.filter { $0.state == .firing }.map { ($0.labels, $0.annotations) }
            }
        }
        var problems: [String] = []
        for test in tg.alertTests where test.evalTime == t {
            let expected: [LabeledAlert] = test.expected.map { e in
                var labels = e.labels
                labels["alertname"] = test.alertname
                return (Labels(labels), Labels(e.annotations))
            }
            let exp = Self.sorted(expected), gotAlerts = Self.sorted(got[test.alertname] ?? [])
            let same = exp.count == gotAlerts.count && zip(exp, gotAlerts).allSatisfy { $0.labels == $1.labels && $0.annotations == $1.annotations }
            if !same {
                let name = tg.name.isEmpty ? "" : "    name: \(tg.name),\n"
                problems.append("\(name)    alertname: \(test.alertname), time: \(formatPrometheusDuration(milliseconds: test.evalTime)), \n"
                    + "        exp:\(Self.indent(Self.describe(exp), "            ")), \n"
                    + "        got:\(Self.indent(Self.describe(gotAlerts), "            "))")
            }
        }
        return problems
    }

    private static func sorted(_ alerts: [LabeledAlert]) -> [LabeledAlert] {
        alerts.sorted { a, b in
            let c = Labels.compare(a.labels, b.labels)
            return c != 0 ? c < 0 : a.annotations < b.annotations
        }
    }

    private static func describe(_ alerts: [LabeledAlert]) -> String {
        guard !alerts.isEmpty else { return "[]" }
        var s = "["
        for (i, a) in alerts.enumerated() {
            s += (i == 0 ? "\n" : ",\n") + "\(i):" + indent("\nLabels:\(a.labels)\nAnnotations:\(a.annotations)", "  ")
        }
        return s + "\n]"
    }

    private static func indent(_ text: String, _ prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset == 0 ? String($0.element) : prefix + $0.element }.joined(separator: "\n")
    }

    private func checkExpression(_ test: RuleTestFile.ExprTest, engine: Engine, storage: any RuleTestStorage) -> [String] {
        let when = formatPrometheusDuration(milliseconds: test.evalTime)
        let got: [VectorElement]
        do {
            let expr = try PromQLParser.parse(test.expr, options: parser.parserOptions)
            switch try engine.instantQuery(storage, expr, at: test.evalTime).value {
            case .vector(let v): got = v
            case .scalar(let t, let v): got = [VectorElement(labels: .empty, t: t, v: v)]
            default: throw RuleError("rule result is not a vector or scalar")
            }
        } catch {
            return ["    expr: \(goQuote(test.expr)), time: \(when), err: \(error)"]
        }
        var expected: [(labels: Labels, value: Double)] = []
        for s in test.expected {
            // No labels (or none written) is the empty label set, as `parser.ParseMetric("")` gives.
            if s.labels.allSatisfy(\.isWhitespace) {
                expected.append((.empty, s.value))
                continue
            }
            do {
                let (labels, rest) = try SeriesDescription.parseLabels(Substring(s.labels))
                guard rest.allSatisfy(\.isWhitespace) else { throw SeriesDescription.SyntaxError("unexpected \(goQuote(String(rest)))") }
                expected.append((labels, s.value))
            } catch {
                return ["    expr: \(goQuote(test.expr)), time: \(when), err: labels \(goQuote(s.labels)): \(error)"]
            }
        }
        let exp = expected.sorted { $0.labels < $1.labels }
        let gotSamples = got.map { (labels: $0.labels, value: $0.v) }.sorted { $0.labels < $1.labels }
        // reflect.DeepEqual: NaN never equals NaN.
        let same = exp.count == gotSamples.count && zip(exp, gotSamples).allSatisfy { $0.labels == $1.labels && $0.value == $1.value }
        guard !same else { return [] }
        func list(_ s: [(labels: Labels, value: Double)]) -> String {
            s.isEmpty ? "nil" : s.map { "\($0.labels) \(GoFloat.formatE($0.value, uppercase: true))" }.joined(separator: ", ")
        }
        return ["    expr: \(goQuote(test.expr)), time: \(when),\n        exp: \(list(exp))\n        got: \(list(gotSamples))"]
    }
}

/// Go's `time.Duration.String()` of whole milliseconds: `0s`, `1m30s`, `1h0m0s`, `1.5s`, `500ms`.
func goDurationString(milliseconds ms: Int64) -> String {
    if ms == 0 { return "0s" }
    var out = ms < 0 ? "-" : ""
    let m = ms.magnitude
    if m < 1000 { return out + "\(m)ms" }
    let h = m / 3_600_000, min = m / 60_000 % 60, sec = m / 1000 % 60, frac = m % 1000
    if h > 0 { out += "\(h)h" }
    if h > 0 || min > 0 { out += "\(min)m" }
    out += "\(sec)"
    if frac > 0 {
        var f = String(frac)
        f = String(repeating: "0", count: 3 - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        out += "." + f
    }
    return out + "s"
}
