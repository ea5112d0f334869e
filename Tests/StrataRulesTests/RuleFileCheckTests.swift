import Foundation
import StrataTestSupport
import Testing
@testable import StrataRules

/// Rule files checked by Strata and by `promtool check rules` (Prometheus 2.42) give the same
/// problems, word for word, with the same lines and columns.
@Suite struct RuleFileCheckTests {
    /// Files that promtool refuses, each for its own reasons, and two it takes.
    static let cases: [(name: String, text: String)] = [
        ("many-problems", """
        groups:
          - name: g
            interval: 30s
            rules:
              - record: job:up:sum
                expr: sum by (job) (up)
              - alert: X
                expr: up == 0
                for: 5m
                labels: {severity: page}
              - record: bad name
                expr: up +
                for: 1m
              - alert: Y
                record: Z
                expr: ""
              - expr: up
                labels: {__name__: x, "a-b": c}
                annotations: {"1x": y}
              - record: r
                expr: rate(up[5m])
                keep_firing_for: 5m
                annotations: {a: b}
          - name: g
            rules: []
          - name: ""
            rules:

        """),
        ("unknown-fields", """
        groups:
          - name: g
            foo: 1
            rules:
              - record: x
                expr: up
                bar: 2
        top: 1

        """),
        ("bad-duration", "groups:\n- name: g\n  interval: 5x\n  rules: []\n"),
        ("bad-for-after-type-error", "groups:\n- name: g\n  limit: x\n  rules:\n  - alert: a\n    expr: up\n    for: 1h1h\n"),
        ("duration-of-wrong-kind", "groups:\n- name: g\n  interval: [1]\n  rules:\n  - alert: a\n    expr: up\n    for: {a: 1}\n"),
        ("groups-is-a-map", "groups: {}\n"),
        ("document-is-a-list", "- a\n- b\n"),
        ("document-is-a-scalar", "hello\n"),
        ("limit-not-a-number", "groups:\n- name: g\n  limit: many\n  rules:\n  - record: a\n    expr: up\n"),
        ("labels-of-wrong-kind", "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    labels: [a, b]\n  - record: b\n    expr: up\n    labels: {a: [1]}\n"),
        ("expr-as-a-map", "groups:\n- name: g\n  rules:\n  - record: a\n    expr: {x: 1}\n  - alert: b\n    expr:\n"),
        ("type-errors-in-expressions", "groups:\n- name: g\n  rules:\n  - record: a\n    expr: rate(up)\n  - alert: b\n    expr: sum(up[5m])\n  - record: c\n    expr: '\"text\"'\n"),
        ("duplicate-keys", "groups:\n- name: g\n  name: h\n  rules:\n  - record: a\n    expr: up\n"),
        ("yaml-syntax-unclosed-flow", "groups: [\n"),
        ("yaml-syntax-bad-indent", "groups:\n- name: g\n  rules:\n  - record: a\n   expr: up\n"),
        ("yaml-syntax-tab", "groups:\n\t- name: g\n"),
        ("record-names", "groups:\n- name: g\n  rules:\n  - record: ~\n    expr: up\n  - record: 1abc\n    expr: up\n  - record: 'a{b=\"c\"}'\n    expr: up\n  - record: 'ok:name_1'\n    expr: up\n"),
        ("rule-is-a-scalar", "groups:\n- name: g\n  rules:\n  - just text\n"),
        ("valid", """
        groups:
          - name: recording
            interval: 15s
            limit: 10
            rules:
              - record: instance:cpu:rate5m
                expr: sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
                labels: {team: infra}
          - name: alerts
            rules:
              - alert: HighCPU
                expr: instance:cpu:rate5m > 0.9
                for: 10m
                keep_firing_for: 5m
                labels:
                  severity: page
                annotations:
                  summary: high CPU
              - alert: Absent
                expr: absent(up)

        """),
        ("empty", ""),
        ("template-errors", """
        groups:
        - name: g
          rules:
          - alert: Unclosed
            expr: up == 0
            annotations: {summary: "{{ $labels.instance }"}
          - alert: NoSuchFunction
            expr: up == 0
            labels: {team: "{{ nosuch . }}"}
          - alert: Fine
            expr: up == 0
            annotations: {summary: "{{ if gt $value 1.0 }}{{ $value | humanize }}{{ else }}low{{ end }}"}
          - record: templates_are_not_checked_in_recording_rules
            expr: up
            labels: {x: "{{ broken"}

        """),
        ("duplicate-top-level-key", "groups: []\ngroups: []\n"),
    ]

    static let parser = RuleFileParser(checkTemplate: AlertTemplates.parseCheck)

    /// What promtool prints to standard error for a file, one problem per line; nil when valid.
    static func promtoolProblems(_ promtool: String, _ path: String) async throws -> (status: Int32, problems: [String]) {
        let r = try await Tools.runAsync(promtool, ["check", "rules", path])
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (r.status, Array(lines.drop { $0 != "  FAILED:" }.dropFirst()).filter { !$0.isEmpty })
    }

    @Test(.serialized, arguments: cases.map(\.name))
    func strataFindsWhatPromtoolFinds(_ name: String) async throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("rules-check"); defer { dir.remove() }
        let path = dir.file(name + ".yml")
        try Self.cases.first { $0.name == name }!.text.write(toFile: path, atomically: true, encoding: .utf8)
        let expected = try await Self.promtoolProblems(promtool, path)
        var problems: [String] = []
        var rules = 0
        do { rules = try Self.parser.load(path: path).ruleCount } catch { problems = error.description.split(separator: "\n").map(String.init) }
        // promtool's label problems come in Go's map order; compare as sets of lines.
        #expect(problems.sorted() == expected.problems.sorted(), "\(name)")
        #expect((expected.status == 0) == problems.isEmpty)
        if expected.status == 0 {
            let out = try await Tools.runAsync(promtool, ["check", "rules", path]).stdout
            #expect(out.contains("SUCCESS: \(rules) rules found"), "\(out)")
        }
    }

    @Test func aMissingFileSaysSo() {
        #expect(throws: RuleFileError.self) { try RuleFileParser().load(path: "/nonexistent/rules.yml") }
        do { _ = try RuleFileParser().load(path: "/nonexistent/rules.yml") } catch {
            #expect(error.description == "/nonexistent/rules.yml: open /nonexistent/rules.yml: no such file or directory")
        }
    }

    @Test func theValidFileReadsAsWritten() throws {
        let file = try RuleFileParser().parse(Self.cases.first { $0.name == "valid" }!.text, path: "v.yml")
        #expect(file.groups.map(\.name) == ["recording", "alerts"])
        #expect(file.groups[0].interval == 15_000 && file.groups[0].limit == 10 && file.groups[1].interval == nil)
        let cpu = file.groups[0].rules[0]
        #expect(cpu.kind == .recording(record: "instance:cpu:rate5m") && cpu.labels == ["team": "infra"])
        let high = file.groups[1].rules[0]
        #expect(high.kind == .alerting(alert: "HighCPU") && high.forDuration == 600_000 && high.keepFiringFor == 300_000)
        #expect(high.annotations == ["summary": "high CPU"] && high.labels == ["severity": "page"])
        #expect(file.ruleCount == 3)
    }

    @Test func queryOffsetAndGroupLabelsOfNewerPrometheusAreRead() throws {
        let file = try RuleFileParser().parse("groups:\n- name: g\n  query_offset: 1m\n  labels: {team: a}\n  rules:\n  - record: x\n    expr: up\n", path: "n.yml")
        #expect(file.groups[0].queryOffset == 60_000 && file.groups[0].labels == ["team": "a"])
        #expect(throws: RuleFileError.self) {
            try RuleFileParser().parse("groups:\n- name: g\n  labels: {__name__: a}\n  rules: []\n", path: "n.yml")
        }
    }

    @Test func duplicateRulesAreReportedAsPromtoolLintsThem() async throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("rules-lint"); defer { dir.remove() }
        let path = dir.file("dup.yml")
        try """
        groups:
        - name: a
          rules:
          - record: x
            expr: up
            labels: {k: v, j: w}
          - record: y
            expr: up
        - name: b
          rules:
          - record: x
            expr: sum(up)
            labels: {j: w, k: v}
          - record: x
            expr: up
            labels: {j: w, k: v}
          - alert: y
            expr: up

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try await Tools.runAsync(promtool, ["check", "rules", path])
        let expected = r.stderr.components(separatedBy: "  FAILED:\n").last!.trimmingCharacters(in: .newlines)
        let file = try RuleFileParser().load(path: path)
        #expect(file.duplicateRulesReport == expected)
    }
}
