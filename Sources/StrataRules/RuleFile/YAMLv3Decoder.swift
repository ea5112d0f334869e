import Foundation
import StrataModel
import Yams

/// Decodes YAML nodes into rule-file values with the rules and messages of yaml.v3 with
/// `KnownFields(true)`, which is how Prometheus reads rule files: unknown keys and values of the
/// wrong kind are collected as "line N: …" problems, while a custom unmarshaler's own error
/// (a bad duration) ends the decoding on the spot, as it does in Go.
struct YAMLv3Decoder {
    /// Collected "line N: …" problems (yaml.v3's `TypeError`).
    private(set) var problems: [String] = []

    /// A custom unmarshaler's error: decoding stops and only this one is reported.
    struct Fatal: Error { let message: String }

    /// The scalar's text as yaml.v3 stores it in a `yaml.Node` field (`Value`): the text as
    /// written for a scalar, "" for a mapping or a sequence.
    static func nodeValue(_ node: Node?) -> String {
        guard case .scalar(let s)? = node else { return "" }
        return s.string
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// The mapping's pairs, each key checked against `fields` (the Go struct's yaml tags).
    mutating func fields(of node: Node, goType: String, known: Set<String>) -> [(key: String, value: Node)] {
        guard case .mapping(let mapping) = node else {
            typeError(node, into: goType)
            return []
        }
        var out: [(key: String, value: Node)] = []
        var seen: [String: Int] = [:]
        for (key, value) in mapping {
            let name = Self.nodeValue(key)
            if let first = seen[name] {
                problems.append("line \(key.line): mapping key \(goQuote(name)) already defined at line \(first)")
                continue
            }
            seen[name] = key.line
            guard known.contains(name) else {
                problems.append("line \(key.line): field \(name) not found in type \(goType)")
                continue
            }
            out.append((name, value))
        }
        return out
    }

    /// A Go `string` field: any scalar as written, null as "".
    mutating func string(_ node: Node) -> String {
        if Self.isNull(node) { return "" }
        guard case .scalar(let s) = node else {
            typeError(node, into: "string")
            return ""
        }
        return s.string
    }

    /// A Go `int` field: integers, and floats that fit (truncated, as yaml.v3 converts them).
    mutating func int(_ node: Node) -> Int {
        if Self.isNull(node) { return 0 }
        if case .scalar(let s) = node, s.style == .plain {
            let text = s.string.replacingOccurrences(of: "_", with: "")
            if let v = Int(text) { return v }
            if text.hasPrefix("0x"), let v = Int(text.dropFirst(2), radix: 16) { return v }
            if text.hasPrefix("0o"), let v = Int(text.dropFirst(2), radix: 8) { return v }
            if let d = Double(text), d.isFinite, let v = Int(exactly: d.rounded(.towardZero)) { return v }
        }
        typeError(node, into: "int")
        return 0
    }

    /// A `model.Duration` field in milliseconds: its `UnmarshalYAML` reads a string (a wrong kind
    /// is a collected type error) and then parses it (a bad duration is fatal).
    mutating func duration(_ node: Node) throws(Fatal) -> Int64 {
        if Self.isNull(node) { return 0 }
        guard case .scalar(let s) = node else {
            typeError(node, into: "string")
            return 0
        }
        do { return try parsePrometheusDuration(s.string) } catch {
            // Prometheus 2.42's prometheus/common says only "not a valid duration string" for
            // every malformed duration (a bad unit included).
            let message = "\(error)"
            if message == "empty duration string" || message.contains("out of range") { throw Fatal(message: message) }
            throw Fatal(message: "not a valid duration string: \(goQuote(s.string))")
        }
    }

    /// A `map[string]string` field: scalar keys and values, null values as "".
    mutating func stringMap(_ node: Node) -> [String: String] {
        if Self.isNull(node) { return [:] }
        guard case .mapping(let mapping) = node else {
            typeError(node, into: "map[string]string")
            return [:]
        }
        var out: [String: String] = [:]
        for (key, value) in mapping {
            let k = string(key)
            out[k] = string(value)
        }
        return out
    }

    /// A slice field: the sequence's items (null is an empty slice).
    mutating func sequence(_ node: Node, goType: String) -> [Node] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let items) = node else {
            typeError(node, into: goType)
            return []
        }
        // Copied one by one: `Array(items)` over Yams' `Node.Sequence` left elements uninitialised
        // in an optimised ASan build (found by the rule-file fuzz harness).
        var out: [Node] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(item) }
        return out
    }

    /// yaml.v3's "cannot unmarshal !!str `maybe` into int", the value cut to 7 characters past 10.
    mutating func typeError(_ node: Node, into goType: String) {
        var shown = ""
        let tag: String
        switch node {
        case .scalar(let s):
            tag = Self.shortTag(s)
            shown = s.string.count > 10 ? " `\(s.string.prefix(7))...`" : " `\(s.string)`"
        case .sequence: tag = "!!seq"
        default: tag = "!!map"
        }
        problems.append("line \(node.line): cannot unmarshal \(tag)\(shown) into \(goType)")
    }

    /// The tag yaml.v3 resolves a scalar to (YAML 1.2's core schema, plus yaml.v3's extras).
    private static func shortTag(_ s: Node.Scalar) -> String {
        guard s.style == .plain else { return "!!str" }
        let text = s.string
        if ["", "~", "null", "Null", "NULL"].contains(text) { return "!!null" }
        if ["true", "True", "TRUE", "false", "False", "FALSE"].contains(text) { return "!!bool" }
        let plain = text.replacingOccurrences(of: "_", with: "")
        if Int(plain) != nil || plain.wholeMatch(of: /[-+]?0[xob][0-9a-fA-F]+/) != nil { return "!!int" }
        if plain.wholeMatch(of: /[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/) != nil
            || [".inf", ".Inf", ".INF", "+.inf", "-.inf", ".nan", ".NaN", ".NAN"].contains(text) { return "!!float" }
        return "!!str"
    }
}

extension Node {
    /// 1-based line of the node, as yaml.v3 reports it (0 when unknown).
    var line: Int { mark?.line ?? 0 }
    var column: Int { mark?.column ?? 0 }
}

/// A YAML syntax error in the words of Go's yaml packages: `yaml: line 4: did not find expected
/// key`. Both count lines from 0 and add one only for scanner errors; yaml.v3 (rule files) names
/// the line of the error's context when there is one, yaml.v2 (promtool's test files) the line
/// of the problem.
func goYAMLSyntaxError(_ error: any Error, text: String, v2: Bool = false) -> String {
    guard let yamlError = error as? YamlError else { return "yaml: \(error)" }
    func where_(_ context: YamlError.Context?, _ problem: Mark, scanner: Bool) -> String {
        let contextLine = context.map { $0.mark.line - 1 } ?? 0, problemLine = problem.line - 1
        let step = scanner ? 1 : 0
        let line: Int
        if v2 {
            line = problemLine != 0 ? problemLine + step : contextLine
        } else {
            line = contextLine != 0 ? contextLine + step : problemLine != 0 ? problemLine + step : 0
        }
        return line != 0 ? "line \(line): " : ""
    }
    switch yamlError {
    case .scanner(let context, let problem, let mark, _):
        return "yaml: " + where_(context, mark, scanner: true) + problem
    case .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
        return "yaml: " + where_(context, mark, scanner: false) + problem
    case .reader(let problem, _, _, _):
        return "yaml: " + problem
    case .duplicatedKeysInMapping(let keys, let context):
        return duplicateKeyError(keys.first ?? "", first: context.mark, text: text)
    default:
        return "yaml: \(yamlError)"
    }
}

/// yaml.v3 reports a repeated mapping key as a decoding error; Yams refuses the document while
/// composing it and names only the first occurrence, so the repeat is found in the text: the
/// next line holding the same key at the same column (a block mapping's keys line up).
private func duplicateKeyError(_ key: String, first: Mark, text: String) -> String {
    // libyaml counts a line at every line break it knows (\n, \r, \r\n, NEL, LS, PS).
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    let indent = max(first.column - 1, 0)
    var repeatLine: Int?
    for n in min(first.line, lines.count) ..< lines.count {
        let line = lines[n]
        guard line.count > indent else { continue }
        let before = line.prefix(indent), rest = line.dropFirst(indent)
        if before.allSatisfy({ $0 == " " }) && (rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":")) {
            repeatLine = n + 1
            break
        }
        // A line indented less than the mapping ends it.
        if !line.trimmingCharacters(in: .whitespaces).isEmpty && line.prefix(while: { $0 == " " || $0 == "-" }).count < indent { break }
    }
    let at = repeatLine.map { "line \($0): " } ?? ""
    return "yaml: unmarshal errors:\n  \(at)mapping key \(goQuote(key)) already defined at line \(first.line)"
}
