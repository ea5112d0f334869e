import Foundation
import StrataGoYAML
import StrataModel

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
        "expr": .string(), "eval_time": .duration, "exp_samples": .objectList(sampleSchema),
    ])
    static let alertSchema = GoYAMLSchema(goType: "main.alert", fields: ["exp_labels": .stringMap, "exp_annotations": .stringMap])
    static let alertTestSchema = GoYAMLSchema(goType: "main.alertTestCase", fields: [
        "eval_time": .duration, "alertname": .string(), "exp_alerts": .objectList(alertSchema),
    ])
    static let seriesSchema = GoYAMLSchema(goType: "main.series", fields: ["series": .string(), "values": .string()])
    static let groupSchema = GoYAMLSchema(goType: "main.testGroup", fields: [
        "interval": .duration, "input_series": .objectList(seriesSchema), "alert_rule_test": .objectList(alertTestSchema),
        "promql_expr_test": .objectList(promqlSchema), "external_labels": .stringMap, "external_url": .string(), "name": .string(),
    ])
    static let fileSchema = GoYAMLSchema(goType: "main.unitTestFile", fields: [
        "rule_files": .stringList(), "evaluation_interval": .duration, "group_eval_order": .stringList(),
        "tests": .objectList(groupSchema),
    ])

    /// Reads the test file at `path`; errors are worded as promtool's.
    public static func load(path: String) throws -> RuleTestFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleError("open \(path): no such file or directory")
        }
        let d: DecodedFields
        do { d = try decodeGoYAML(String(decoding: data, as: UTF8.self), as: fileSchema, what: path) } catch {
            throw RuleError("\(error)".replacingOccurrences(of: path + ": ", with: ""))
        }
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
