import Foundation
import StrataTestSupport
import Testing

/// `strata check rules` and `strata test rules` print what `promtool check rules` and `promtool
/// test rules` (Prometheus 2.42) print, on the same streams, with the same exit statuses.
@Suite struct RuleToolsCommandTests {
    static let valid = """
    groups:
    - name: g
      rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 5m
        annotations: {summary: "{{ $labels.instance }} down for {{ 300 | humanizeDuration }}"}

    """
    static let invalid = """
    groups:
    - name: g
      rules:
      - alert: BadTemplate
        expr: up == 0
        annotations: {summary: "{{ $labels.instance }"}
      - alert: UnknownFunction
        expr: up
        labels: {team: "{{ nosuch . }}"}
      - record: 'a b'
        expr: sum(
    - name: g
      rules: []

    """
    static let duplicates = """
    groups:
    - name: a
      rules:
      - record: x
        expr: up
      - record: x
        expr: sum(up)

    """

    /// Runs `strata` and `promtool` with the same arguments and compares what they print. On
    /// dispatch threads (`runAsync`): a test that blocked Swift's few cooperative threads would
    /// starve the in-process servers of the tests running beside it.
    static func compare(_ strata: String, _ promtool: String, _ args: [String], in dir: TempDir) async throws {
        let ours = try await Tools.runAsync(strata, args), theirs = try await Tools.runAsync(promtool, args)
        #expect(ours.status == theirs.status, "\(args): exit \(ours.status) vs promtool's \(theirs.status)")
        #expect(ours.stdout == theirs.stdout, "\(args)")
        #expect(ours.stderr == theirs.stderr, "\(args)")
    }

    @Test func checkRulesPrintsWhatPromtoolPrints() async throws {
        guard let strata = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("check-rules"); defer { dir.remove() }
        for (name, text) in [("valid.yml", Self.valid), ("invalid.yml", Self.invalid), ("dup.yml", Self.duplicates)] {
            try text.write(toFile: dir.file(name), atomically: true, encoding: .utf8)
        }
        try await Self.compare(strata, promtool, ["check", "rules", dir.file("valid.yml")], in: dir)
        try await Self.compare(strata, promtool, ["check", "rules", dir.file("invalid.yml")], in: dir)
        try await Self.compare(strata, promtool, ["check", "rules", dir.file("valid.yml"), dir.file("dup.yml")], in: dir)
        try await Self.compare(strata, promtool, ["check", "rules", "--lint-fatal", dir.file("dup.yml")], in: dir)
        try await Self.compare(strata, promtool, ["check", "rules", "--lint=none", dir.file("dup.yml")], in: dir)
        try await Self.compare(strata, promtool, ["check", "rules", dir.file("dup.yml"), dir.file("invalid.yml")], in: dir)
    }

    /// Expressions and templates nested as deep as the parsers allow are parsed on a thread
    /// with room for them, not on the main thread's 8 MiB.
    @Test func deeplyNestedRulesAreCheckedWithoutRunningOutOfStack() async throws {
        guard let strata = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("check-deep"); defer { dir.remove() }
        let depth = 5000
        let expr = String(repeating: "(", count: depth) + "up" + String(repeating: ")", count: depth)
        let template = "{{" + String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth) + "}}"
        try "groups:\n- name: g\n  rules:\n  - alert: Deep\n    expr: '\(expr)'\n    annotations: {x: '\(template)'}\n"
            .write(toFile: dir.file("deep.yml"), atomically: true, encoding: .utf8)
        try await Self.compare(strata, promtool, ["check", "rules", dir.file("deep.yml")], in: dir)
    }

    @Test func testRulesPrintsWhatPromtoolPrints() async throws {
        guard let strata = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("test-rules"); defer { dir.remove() }
        try Self.valid.write(toFile: dir.file("rules.yml"), atomically: true, encoding: .utf8)
        let passing = """
        rule_files: [rules.yml]
        tests:
        - interval: 1m
          input_series:
          - series: 'up{job="api", instance="a"}'
            values: '1 1 0x10'
          alert_rule_test:
          - eval_time: 4m
            alertname: Down
          - eval_time: 7m
            alertname: Down
            exp_alerts:
            - exp_labels: {job: api, instance: a}
              exp_annotations: {summary: "a down for 5m 0s"}
          promql_expr_test:
          - expr: job:up:sum
            eval_time: 1m
            exp_samples:
            - labels: 'job:up:sum{job="api"}'
              value: 1

        """
        let failing = passing.replacingOccurrences(of: "eval_time: 7m", with: "eval_time: 6m")
            .replacingOccurrences(of: "value: 1\n", with: "value: 2\n")
        try passing.write(toFile: dir.file("pass.yml"), atomically: true, encoding: .utf8)
        try failing.write(toFile: dir.file("fail.yml"), atomically: true, encoding: .utf8)
        try await Self.compare(strata, promtool, ["test", "rules", dir.file("pass.yml")], in: dir)
        try await Self.compare(strata, promtool, ["test", "rules", dir.file("fail.yml"), dir.file("pass.yml")], in: dir)
        let r = try await Tools.runAsync(strata, ["test", "rules", dir.file("fail.yml")])
        #expect(r.status == 1 && r.stderr.contains("alertname: Down, time: 6m"), "\(r.stderr)")
    }
}

/// The rule unit-test corpus (`Tests/Fixtures/rule-tests`, 63 cases, half of them failing on
/// purpose): `strata test rules` and `promtool test rules` print the same and exit the same on
/// each, but for the differences listed here.
@Suite struct RuleUnitTestCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rule-tests").path

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".test.yml") }.map { String($0.dropLast(".test.yml".count)) }.sorted()
    }

    /// Where the output differs, and why; the exit status is the same unless said otherwise.
    static let knownDifferences: [String: String] = [
        "fail-bad-input-series-labels": "series notation errors are worded by Strata's own reader, not the PromQL lexer",
        "fail-bad-input-values": "series notation errors are worded by Strata's own reader, not the PromQL lexer",
        "fail-input-hex-value": "series notation errors are worded by Strata's own reader, not the PromQL lexer",
        "fail-bad-promql-expr": "exp_samples label errors are worded by Strata's own reader, not the PromQL lexer",
        "fail-input-quoted-label-name": "quoted label names are Prometheus 3 syntax, which Strata reads",
        "rule-eval-error-many-to-many": "Strata's engine lists the two clashing series in label order",
        "tmpl-pathprefix": "status too: promtool 2.42 has no external URL object in unit tests, so pathPrefix fails there",
    ]

    /// `tool test rules <name>.test.yml` run in the corpus directory, so messages name files alike.
    static func run(_ tool: String, _ name: String) async throws -> Tools.RunResult {
        try await Tools.runAsync("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, tool, "test", "rules", name + ".test.yml"])
    }

    // One case at a time: 63 pairs of processes started at once starved the in-process servers of
    // the tests running beside them on 2 cores (a request of theirs passed its 10 s deadline).
    @Test(.serialized, arguments: cases)
    func strataAndPromtoolAgree(_ name: String) async throws {
        guard let strata = strataBinary(), let promtool = requiredTool("promtool") else { return }
        let ours = try await Self.run(strata, name), theirs = try await Self.run(promtool, name)
        switch Self.knownDifferences[name] {
        case nil:
            #expect(ours.status == theirs.status, "\(name)")
            #expect(ours.stdout == theirs.stdout, "\(name)")
            #expect(ours.stderr == theirs.stderr, "\(name)")
        case let why? where why.hasPrefix("status too"):
            #expect(ours.status == 0 && theirs.status == 1, "\(name): \(why)")
        default:
            #expect(ours.status == theirs.status, "\(name)")
        }
    }

    @Test func theCorpusHasPassingAndFailingCases() async throws {
        guard let promtool = requiredTool("promtool") else { return }
        var passing = 0, failing = 0
        for name in Self.cases {
            let r = try await Self.run(promtool, name)
            if r.status == 0 { passing += 1 } else { failing += 1 }
        }
        #expect(passing >= 25 && failing >= 25, "\(passing) passing, \(failing) failing")
    }
}
