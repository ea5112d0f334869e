import StrataModel

/// One series as storage returns it: labels plus a way to read its samples in a time range.
/// Implementations snapshot what they need at selection time, so reading is safe while writes go on.
public protocol StorageSeries: Sendable {
    var labels: Labels { get }
    /// Appends the samples with `mint <= t <= maxt` to `out`, in time order.
    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws
}

public struct SelectHints: Sendable {
    public var mint: Int64
    public var maxt: Int64
    /// Called every 1,024 label values of an index scan (a regex over many values); throws to
    /// stop it when the query timed out or was cancelled.
    public var interrupt: (@Sendable () throws -> Void)?
    public init(mint: Int64, maxt: Int64, interrupt: (@Sendable () throws -> Void)? = nil) {
        self.mint = mint; self.maxt = maxt; self.interrupt = interrupt
    }
}

/// Reads series in a time range. `select` returns series sorted by labels (`Labels.compare`).
public protocol Querier: Sendable {
    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries]
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String]
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String]
}

public protocol Queryable: Sendable {
    func querier(mint: Int64, maxt: Int64) throws -> any Querier
}

public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
