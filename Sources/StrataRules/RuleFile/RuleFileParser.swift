import Foundation
import StrataModel
import StrataPromQLParser
import StrataRuntime
import Yams

/// Reads rule files as Prometheus' `rulefmt.ParseFile` does: yaml.v3 with unknown fields refused,
/// then the same checks in the same order, each problem with the line and column `promtool check
/// rules` gives it. Keys added after Prometheus 2.42 (`query_offset`, group `labels`) are read.
public struct RuleFileParser: Sendable {
    public var parserOptions: ParserOptions
    /// Whether a label or annotation template of an alerting rule parses: nil when it does,
    /// else the template error (`template: __alert_X:1: unexpected "}" in operand`).
    public var checkTemplate: @Sendable (_ alertName: String, _ text: String) -> String?

    public init(parserOptions: ParserOptions = .init(),
                checkTemplate: @escaping @Sendable (_ alertName: String, _ text: String) -> String? = { _, _ in nil }) {
        self.parserOptions = parserOptions
        self.checkTemplate = checkTemplate
    }

    /// Reads and checks the file at `path`, on a thread whose stack holds the deepest PromQL
    /// expression and template the parsers accept (the caller's may not: the main thread's, a
    /// task's).
    public func load(path: String) throws(RuleFileError) -> RuleFile {
        try BlockingThread.runAndWait(stackBytes: BlockingThread.queryStackBytes) { () throws(RuleFileError) -> RuleFile in
            try loadHere(path: path)
        }
    }

    private func loadHere(path: String) throws(RuleFileError) -> RuleFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a regular file" : "no such file or directory"
            throw RuleFileError(path: path, problems: ["\(path): open \(path): \(reason)"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleFileError(path: path, problems: ["\(path): yaml: invalid leading UTF-8 octet"])
        }
        return try parse(text, path: path)
    }

    /// Checks `text`, read from `path` (which prefixes every problem).
    public func parse(_ text: String, path: String) throws(RuleFileError) -> RuleFile {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let message = "\(path): \(goYAMLSyntaxError(error, text: text))"
            // Both of rulefmt's decodings meet the same syntax error; a repeated key only the
            // strict one, unless it is at the top (`groups` twice).
            if case YamlError.duplicatedKeysInMapping(_, let context)? = error as? YamlError, context.mark.column > 1 {
                throw RuleFileError(path: path, problems: [message])
            }
            throw RuleFileError(path: path, problems: [message, message])
        }
        guard let root else { return RuleFile(path: path, groups: []) }

        var problems: [String] = []
        let decoded: [RawGroup]
        switch Self.decode(root) {
        case .success(let groups): decoded = groups
        case .failure(let message): problems.append("\(path): \(message)"); decoded = []
        }
        // rulefmt decodes a second time, into nodes, for positions; only its type errors matter.
        if let second = Self.decodeNodes(root) { problems.append("\(path): \(second)") }
        guard problems.isEmpty else { throw RuleFileError(path: path, problems: problems) }

        var groups: [RuleGroupSpec] = []
        var names = Set<String>()
        for group in decoded {
            if group.name.isEmpty {
                problems.append("\(path): \(group.node.line):\(group.node.column): Groupname must not be empty")
            }
            if names.contains(group.name) {
                problems.append("\(path): \(group.node.line):\(group.node.column): groupname: \"\(group.name)\" is repeated in the same file")
            }
            names.insert(group.name)
            for (k, _) in group.labels.sorted(by: { $0.key < $1.key }) where !isLabelName(k) || k == "__name__" {
                problems.append("\(path): invalid label name: \(k)")
            }
            var rules: [RuleSpec] = []
            for (i, raw) in group.rules.enumerated() {
                let (rule, ruleProblems) = validate(raw)
                let ruleName = raw.alertValue.isEmpty ? raw.recordValue : raw.alertValue
                for p in ruleProblems {
                    let position = p.positions.map { "\($0.line):\($0.column): " }.joined()
                    problems.append("\(path): \(position)group \(goQuote(group.name)), rule \(i + 1), \(goQuote(ruleName)): \(p.message)")
                }
                if let rule { rules.append(rule) }
            }
            groups.append(RuleGroupSpec(name: group.name, interval: group.interval, queryOffset: group.queryOffset,
                                        limit: group.limit, labels: group.labels, rules: rules))
        }
        guard problems.isEmpty else { throw RuleFileError(path: path, problems: problems) }
        return RuleFile(path: path, groups: groups)
    }

    // MARK: - Decoding

    struct RawGroup {
        var node: Node
        var name = ""
        var interval: Int64?
        var queryOffset: Int64?
        var limit = 0
        var labels: [String: String] = [:]
        var rules: [RawRule] = []
    }

    struct RawRule {
        /// `yaml.Node` fields in rulefmt: absent is a zero node (position 0:0).
        var record: Node?
        var alert: Node?
        var expr: Node?
        var forDuration: Int64 = 0
        var keepFiringFor: Int64 = 0
        var labels: [String: String] = [:]
        var annotations: [String: String] = [:]

        var recordValue: String { YAMLv3Decoder.nodeValue(record) }
        var alertValue: String { YAMLv3Decoder.nodeValue(alert) }
        var exprValue: String { YAMLv3Decoder.nodeValue(expr) }
    }

    enum Decoded { case success([RawGroup]), failure(String) }

    static let groupFields: Set<String> = ["name", "interval", "query_offset", "limit", "rules", "labels"]
    static let ruleFields: Set<String> = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"]

    /// The strict decoding into `rulefmt.RuleGroups`.
    static func decode(_ root: Node) -> Decoded {
        var d = YAMLv3Decoder()
        var groups: [RawGroup] = []
        do {
            if !YAMLv3Decoder.isNull(root) {
                for (key, value) in d.fields(of: root, goType: "rulefmt.RuleGroups", known: ["groups"]) where key == "groups" {
                    for item in d.sequence(value, goType: "[]rulefmt.RuleGroup") {
                        groups.append(try decodeGroup(item, &d))
                    }
                }
            }
        } catch {
            return .failure(error.message)
        }
        guard d.problems.isEmpty else {
            return .failure("yaml: unmarshal errors:\n  " + d.problems.joined(separator: "\n  "))
        }
        return .success(groups)
    }

    private static func decodeGroup(_ node: Node, _ d: inout YAMLv3Decoder) throws(YAMLv3Decoder.Fatal) -> RawGroup {
        var group = RawGroup(node: node)
        if YAMLv3Decoder.isNull(node) { return group }
        for (key, value) in d.fields(of: node, goType: "rulefmt.RuleGroup", known: groupFields) {
            switch key {
            case "name": group.name = d.string(value)
            case "interval": group.interval = try d.duration(value)
            case "query_offset": group.queryOffset = YAMLv3Decoder.isNull(value) ? nil : try d.duration(value)
            case "limit": group.limit = d.int(value)
            case "labels": group.labels = d.stringMap(value)
            default: // rules
                for item in d.sequence(value, goType: "[]rulefmt.RuleNode") { group.rules.append(try decodeRule(item, &d)) }
            }
        }
        // An interval of 0 is the same as none in rulefmt (the global one applies).
        if group.interval == 0 { group.interval = nil }
        return group
    }

    private static func decodeRule(_ node: Node, _ d: inout YAMLv3Decoder) throws(YAMLv3Decoder.Fatal) -> RawRule {
        var rule = RawRule()
        if YAMLv3Decoder.isNull(node) { return rule }
        for (key, value) in d.fields(of: node, goType: "rulefmt.RuleNode", known: ruleFields) {
            switch key {
            case "record": rule.record = value
            case "alert": rule.alert = value
            case "expr": rule.expr = value
            case "for": rule.forDuration = try d.duration(value)
            case "keep_firing_for": rule.keepFiringFor = try d.duration(value)
            case "labels": rule.labels = d.stringMap(value)
            default: rule.annotations = d.stringMap(value)
            }
        }
        return rule
    }

    /// rulefmt's second decoding, into `ruleGroups{Groups []yaml.Node}` without strictness: it
    /// fails only when `groups` (or the document) has the wrong kind.
    static func decodeNodes(_ root: Node) -> String? {
        if YAMLv3Decoder.isNull(root) { return nil }
        var d = YAMLv3Decoder()
        guard case .mapping(let mapping) = root else {
            d.typeError(root, into: "rulefmt.ruleGroups")
            return "yaml: unmarshal errors:\n  " + d.problems.joined(separator: "\n  ")
        }
        for (key, value) in mapping where YAMLv3Decoder.nodeValue(key) == "groups" {
            _ = d.sequence(value, goType: "[]yaml.Node")
        }
        return d.problems.isEmpty ? nil : "yaml: unmarshal errors:\n  " + d.problems.joined(separator: "\n  ")
    }

    // MARK: - Validation

    struct Position { var line: Int; var column: Int }
    struct Problem {
        var message: String
        var positions: [Position] = []
    }

    private static func position(_ node: Node?) -> Position {
        Position(line: node?.line ?? 0, column: node?.column ?? 0)
    }

    /// rulefmt's `RuleNode.Validate`, in its order; the rule when there is nothing to say.
    func validate(_ r: RawRule) -> (RuleSpec?, [Problem]) {
        var problems: [Problem] = []
        let record = r.recordValue, alert = r.alertValue, exprText = r.exprValue
        if !record.isEmpty && !alert.isEmpty {
            problems.append(Problem(message: "only one of 'record' and 'alert' must be set",
                                    positions: [Self.position(r.record), Self.position(r.alert)]))
        }
        if record.isEmpty && alert.isEmpty {
            problems.append(Problem(message: "one of 'record' or 'alert' must be set", positions: [Self.position(r.record)]))
        }
        var parsed: Expr?
        if exprText.isEmpty {
            problems.append(Problem(message: "field 'expr' must be set in rule", positions: [Self.position(r.expr)]))
        } else {
            do { parsed = try PromQLParser.parse(exprText, options: parserOptions) } catch {
                problems.append(Problem(message: "could not parse expression: \(error)", positions: [Self.position(r.expr)]))
            }
        }
        if !record.isEmpty {
            let at = [Self.position(r.record)]
            if !r.annotations.isEmpty { problems.append(Problem(message: "invalid field 'annotations' in recording rule", positions: at)) }
            if r.forDuration != 0 { problems.append(Problem(message: "invalid field 'for' in recording rule", positions: at)) }
            if r.keepFiringFor != 0 { problems.append(Problem(message: "invalid field 'keep_firing_for' in recording rule", positions: at)) }
            if !isMetricName(record) { problems.append(Problem(message: "invalid recording rule name: \(record)", positions: at)) }
        }
        for k in r.labels.keys.sorted() where !isLabelName(k) || k == "__name__" {
            problems.append(Problem(message: "invalid label name: \(k)"))
        }
        for k in r.annotations.keys.sorted() where !isLabelName(k) {
            problems.append(Problem(message: "invalid annotation name: \(k)"))
        }
        if !alert.isEmpty {
            for (k, v) in r.labels.sorted(by: { $0.key < $1.key }) {
                if let error = checkTemplate(alert, v) { problems.append(Problem(message: "label \(goQuote(k)): \(error)")) }
            }
            for (k, v) in r.annotations.sorted(by: { $0.key < $1.key }) {
                if let error = checkTemplate(alert, v) { problems.append(Problem(message: "annotation \(goQuote(k)): \(error)")) }
            }
        }
        guard problems.isEmpty, let parsed else { return (nil, problems) }
        let kind: RuleSpec.Kind = record.isEmpty ? .alerting(alert: alert) : .recording(record: record)
        return (RuleSpec(kind: kind, expr: exprText, parsed: parsed, forDuration: r.forDuration,
                         keepFiringFor: r.keepFiringFor, labels: r.labels, annotations: r.annotations), [])
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a label name in Prometheus' classic validation.
func isLabelName(_ name: String) -> Bool {
    guard let first = name.utf8.first, first == UInt8(ascii: "_") || isASCIILetter(first) else { return false }
    return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isASCIILetter($0) || ($0 >= 48 && $0 <= 57) }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: a metric name in Prometheus' classic validation.
func isMetricName(_ name: String) -> Bool {
    guard let first = name.utf8.first, first == UInt8(ascii: "_") || first == UInt8(ascii: ":") || isASCIILetter(first) else { return false }
    return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") || isASCIILetter($0) || ($0 >= 48 && $0 <= 57) }
}

private func isASCIILetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
