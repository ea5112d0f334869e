import StrataModel
import StrataPromQLParser

/// One rule file as Prometheus' `rulefmt` reads it: groups of recording and alerting rules.
public struct RuleFile: Sendable {
    public var path: String
    public var groups: [RuleGroupSpec]

    public var ruleCount: Int { groups.reduce(0) { $0 + $1.rules.count } }
}

/// A group as written: its rules run in order, every `interval`.
public struct RuleGroupSpec: Sendable {
    public var name: String
    /// Milliseconds; nil when the file leaves it to `--rules.evaluation-interval`.
    public var interval: Int64?
    /// Milliseconds evaluations look back from their time (Prometheus 2.53's `query_offset`);
    /// nil when the file leaves it to `--rules.query-offset`.
    public var queryOffset: Int64?
    /// At most this many series per recording rule, or alerts per alerting rule (0: no limit).
    public var limit: Int
    /// Labels added to every rule of the group (Prometheus 3.0); a rule's own labels win.
    public var labels: [String: String]
    public var rules: [RuleSpec]
}

/// A rule as written, its expression parsed.
public struct RuleSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case recording(record: String)
        case alerting(alert: String)
    }

    public var kind: Kind
    public var expr: String
    public var parsed: Expr
    /// Milliseconds (alerting rules only).
    public var forDuration: Int64
    public var keepFiringFor: Int64
    public var labels: [String: String]
    public var annotations: [String: String]

    /// The record or alert name.
    public var name: String {
        switch kind {
        case .recording(let record): return record
        case .alerting(let alert): return alert
        }
    }
}

/// Why a rule file did not load: each problem as `promtool check rules` prints it, the file first
/// (`rules.yml: 14:15: group "g", rule 3, "x": could not parse expression: …`).
public struct RuleFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var problems: [String]
    /// True when the only problems are lint findings (`promtool check rules`' exit status 3).
    public var lintOnly: Bool = false

    public var description: String { problems.joined(separator: "\n") }
}
