import Foundation
import StrataGoYAML
import StrataModel
import Yams

/// A `promtool test rules` file: rule files, and groups of tests with input series, expected
/// alerts and expected query results. Read as promtool reads it (yaml.v2, unknown keys refused).
public struct RuleTestFile: Sendable {
    public var ruleFiles: [String]
    /// Milliseconds; 1m when the file does not say.
    public var evaluationInterval: Int64
    public var groupEvalOrder: [String]
    public var tests: [TestGroup]

    public struct TestGroup: Sendable {
        /// The input series' scrape interval (ms); also the default interval of the rule groups.
        public var interval: Int64
        public var inputSeries: [(series: String, values: String)]
        public var alertTests: [AlertTest]
        public var exprTests: [ExprTest]
        public var externalLabels: [String: String]
        public var externalURL: String
        public var name: String
    }

    public struct AlertTest: Sendable {
        public var evalTime: Int64
        public var alertname: String
        public var expected: [(labels: [String: String], annotations: [String: String])]
    }

    public struct ExprTest: Sendable {
        public var expr: String
        public var evalTime: Int64
        public var expected: [(labels: String, value: Double)]
    }

    static let sampleSchema = GoYAMLSchema(goType: "main.sample", fields: ["labels": .string(), "value": .float64])
    static let promqlSchema = GoYAMLSchema(goType: "main.promqlTestCase", fields: [
        "expr": .string(), "eval_time": .string(), "exp_samples": .objectList(sampleSchema),
    ])
    static let alertSchema = GoYAMLSchema(goType: "main.alert", fields: ["exp_labels": .stringMap, "exp_annotations": .stringMap])
    static let alertTestSchema = GoYAMLSchema(goType: "main.alertTestCase", fields: [
        "eval_time": .string(), "alertname": .string(), "exp_alerts": .objectList(alertSchema),
    ])
    static let seriesSchema = GoYAMLSchema(goType: "main.series", fields: ["series": .string(), "values": .string()])
    static let groupSchema = GoYAMLSchema(goType: "main.testGroup", fields: [
        "interval": .string(), "input_series": .objectList(seriesSchema), "alert_rule_test": .objectList(alertTestSchema),
        "promql_expr_test": .objectList(promqlSchema), "external_labels": .stringMap, "external_url": .string(), "name": .string(),
    ])
    static let fileSchema = GoYAMLSchema(goType: "main.unitTestFile", fields: [
        "rule_files": .stringList(), "evaluation_interval": .string(), "group_eval_order": .stringList(),
        "tests": .objectList(groupSchema),
    ])

    /// The first duration that does not parse, in file order, as prometheus/common 0.39 (the
    /// version in Prometheus 2.42) words it.
    static func checkDurations(_ d: DecodedFields) throws {
        func check(_ f: DecodedFields, _ key: String) throws {
            guard let text = f.scalars[key], !text.isEmpty else { return }
            do { _ = try parsePrometheusDuration(text) } catch {
                let message = "\(error)"
                if message.contains("out of range") { throw RuleError(message) }
                throw RuleError("not a valid duration string: \(goQuote(text))")
            }
        }
        try check(d, "evaluation_interval")
        for g in d.objectList("tests") {
            try check(g, "interval")
            for a in g.objectList("alert_rule_test") { try check(a, "eval_time") }
            for p in g.objectList("promql_expr_test") { try check(p, "eval_time") }
        }
    }

    /// Reads the test file at `path`; errors are worded as promtool's (yaml.v2's, and a bad
    /// duration's own message alone, as `model.Duration`'s unmarshaler returns it).
    public static func load(path: String) throws -> RuleTestFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleError("open \(path): no such file or directory")
        }
        let text = String(decoding: data, as: UTF8.self)
        do { _ = try Yams.compose(yaml: text) } catch { throw RuleError(goYAMLSyntaxError(error, text: text, v2: true)) }
        let d: DecodedFields
        do { d = try decodeGoYAML(text, as: fileSchema, what: path) } catch {
            // yaml.v2 names no field after each problem; StrataGoYAML does, for config files.
            let message = "\(error)".replacingOccurrences(of: path + ": ", with: "")
                .replacing(/\ \(field [^)\n]* in type [^)\n]*\)/, with: "")
            throw RuleError(message)
        }
        try checkDurations(d)
        func duration(_ f: DecodedFields, _ key: String) -> Int64 { (try? parsePrometheusDuration(f.string(key))) ?? 0 }
        let tests = d.objectList("tests").map { g in
            TestGroup(
                interval: duration(g, "interval"),
                inputSeries: g.objectList("input_series").map { ($0.string("series"), $0.string("values")) },
                alertTests: g.objectList("alert_rule_test").map { a in
                    AlertTest(evalTime: duration(a, "eval_time"), alertname: a.string("alertname"),
                              expected: a.objectList("exp_alerts").map { e in
                                  (Dictionary(e.stringMap("exp_labels"), uniquingKeysWith: { _, b in b }),
                                   Dictionary(e.stringMap("exp_annotations"), uniquingKeysWith: { _, b in b }))
                              })
                },
                exprTests: g.objectList("promql_expr_test").map { p in
                    ExprTest(expr: p.string("expr"), evalTime: duration(p, "eval_time"),
                             expected: p.objectList("exp_samples").map { ($0.string("labels"), Double($0.string("value")) ?? 0) })
                },
                externalLabels: Dictionary(g.stringMap("external_labels"), uniquingKeysWith: { _, b in b }),
                externalURL: g.string("external_url"),
                name: g.string("name"))
        }
        let interval = duration(d, "evaluation_interval")
        return RuleTestFile(ruleFiles: d.stringList("rule_files"), evaluationInterval: interval == 0 ? 60_000 : interval,
                            groupEvalOrder: d.stringList("group_eval_order"), tests: tests)
    }
}
