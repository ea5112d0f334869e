import StrataModel
import StrataPromQLParser

/// A test script is a list of these, in file order. Lines are 1-based.
public enum ScriptCommand: Sendable {
    case clear(line: Int)
    case load(LoadCommand)
    case eval(EvalCommand)
    /// A block the runner could not read; an unreadable eval still counts as a failed eval.
    case invalid(line: Int, message: String, query: String?)
}

public struct LoadCommand: Sendable {
    public var line: Int
    public var step: Int64
    /// `load_with_nhcb`: classic histograms are also loaded as native ones (not modelled here).
    public var withNHCB: Bool
    public var series: [SeriesLine]
    /// Series given start timestamps by `name{...}@st <offsets>` lines (not stored by Strata).
    public var startTimestampSeries: [Labels] = []
}

/// How an `expect warn|info|fail` line matches a text: any text, exactly, or by regex search.
public enum TextExpectation: Sendable, CustomStringConvertible {
    case any
    case exact(String)
    case pattern(String)

    public func matches(_ text: String) -> Bool {
        switch self {
        case .any: return true
        case .exact(let s): return s == text
        case .pattern(let p):
            guard let re = try? Regex(p) else { return false }
            return text.firstMatch(of: re) != nil
        }
    }

    public var description: String {
        switch self {
        case .any: return "anything"
        case .exact(let s): return "\"\(s)\""
        case .pattern(let p): return "/\(p)/"
        }
    }
}

public struct EvalCommand: Sendable {
    public enum Mode: Sendable {
        case instant(at: Int64)
        case range(start: Int64, end: Int64, step: Int64)
    }

    public var line: Int
    public var query: String
    public var mode: Mode

    /// Set by `expect fail` or `eval_fail`; `expected_fail_message`/`_regexp` refine it.
    public var expectedFailure: TextExpectation?
    public var expectedWarnings: [TextExpectation] = []
    public var expectedInfos: [TextExpectation] = []
    public var forbidWarnings = false
    public var forbidInfos = false
    /// `eval_warn` / `eval_info`: at least one, texts unchecked.
    public var requireWarning = false
    public var requireInfo = false
    public var ordered = false

    public var expectedString: String?
    /// `expect range vector from … to … step …` on an instant eval (which then runs at its end).
    public var expectedRange: (start: Int64, end: Int64, step: Int64)?
    public var expectedScalar: Double?
    /// In the order written; a repeated label set replaces the earlier line.
    public var expectedSeries: [SeriesLine] = []

    public init(line: Int, query: String, mode: Mode) { self.line = line; self.query = query; self.mode = mode }

    public var isInstant: Bool { if case .instant = mode { return true } else { return false } }

    /// The time an instant eval runs at (the end of an expected range vector, when there is one).
    public var instantTime: Int64? {
        guard case .instant(let at) = mode else { return nil }
        return expectedRange?.end ?? at
    }

    public var expectsHistogram: Bool { expectedSeries.contains { $0.values.contains(where: \.isHistogram) } }
}
