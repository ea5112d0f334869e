import StrataModel
import Synchronization

/// One series as storage returns it: labels plus a way to read its samples in a time range.
/// Implementations snapshot what they need at selection time, so reading is safe while writes go on.
public protocol StorageSeries: Sendable {
    var labels: Labels { get }
    /// Appends the samples with `mint <= t <= maxt` to `out`, in time order.
    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws
    /// The same data under other labels (external labels attached, a replica label removed).
    /// The default wraps the series; a series cheap to copy returns a copy, which saves a
    /// wrapper (and, for a chunked series, the dynamic cast that keeps its chunks readable).
    func relabeled(_ labels: Labels) -> any StorageSeries
    /// The same data under `labels.overriding(external)`, which a series may compute each time
    /// its labels are read instead of now: for a selection nobody sorts (an aggregation's input,
    /// whose labels are read once), so a million relabeled sets need not exist at once. The
    /// default relabels now.
    func overriding(lazily external: Labels) -> any StorageSeries
}

extension StorageSeries {
    public func relabeled(_ labels: Labels) -> any StorageSeries { RelabeledSeries(labels: labels, series: self) }
    public func overriding(lazily external: Labels) -> any StorageSeries { relabeled(labels.overriding(external)) }
}

public struct SelectHints: Sendable {
    public var mint: Int64
    public var maxt: Int64
    /// Called every 1,024 label values of an index scan (a regex over many values); throws to
    /// stop it when the query timed out or was cancelled.
    public var interrupt: (@Sendable () throws -> Void)?
    /// The PromQL function or aggregation the selected series feed (Prometheus' `hints.Func`:
    /// `rate`, `sum`, …; "" under a binary operator; nil outside PromQL). Deduplication and
    /// downsampled reads pick their behaviour from it, as Thanos' querier does.
    public var function: String?
    /// The range of a range selector (`x[5m]` → 300000), 0 for an instant selector.
    public var range: Int64 = 0
    /// The coarsest downsampled resolution the query accepts (ms; 0: raw data only), Thanos'
    /// `max_source_resolution`.
    public var maxSourceResolution: Int64 = 0
    /// Set under Thanos' `partial_response`: storage that cannot reach part of its data (the
    /// bucket) reports it here and answers with the rest, instead of failing the read.
    public var partialResponse: StorageWarnings?
    /// Whether the series must come sorted by labels (Prometheus' `sortSeries`). The engine asks
    /// for them unsorted where their order cannot change the answer (an aggregation's input);
    /// a querier may sort anyway, and one that merges or deduplicates sources asks its sources
    /// for sorted series (`sorted`) and returns them sorted.
    public var sortSeries = true

    /// These hints, asking for sorted series.
    public var sorted: SelectHints {
        var h = self
        h.sortSeries = true
        return h
    }

    public init(mint: Int64, maxt: Int64, interrupt: (@Sendable () throws -> Void)? = nil, function: String? = nil, range: Int64 = 0) {
        self.mint = mint; self.maxt = maxt; self.interrupt = interrupt; self.function = function; self.range = range
    }
}

/// What storage could not read under `partial_response`, as warnings for the response.
public final class StorageWarnings: Sendable {
    private let list = Mutex<[String]>([])
    public init() {}
    public func add(_ warning: String) { list.withLock { if !$0.contains(warning) { $0.append(warning) } } }
    public var all: [String] { list.withLock { $0 } }
}

/// A queryable whose selects carry changed hints (a query's `max_source_resolution`): lets a
/// request's options reach storage without a second query path.
public struct HintingQueryable: Queryable {
    public let base: any Queryable
    public let adjust: @Sendable (inout SelectHints) -> Void

    public init(_ base: any Queryable, adjust: @escaping @Sendable (inout SelectHints) -> Void) { self.base = base; self.adjust = adjust }

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        HintingQuerier(base: try base.querier(mint: mint, maxt: maxt), adjust: adjust)
    }
}

struct HintingQuerier: Querier {
    let base: any Querier
    let adjust: @Sendable (inout SelectHints) -> Void

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        var h = hints
        adjust(&h)
        return try base.select(matchers, hints: h)
    }
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try base.labelNames(matchers) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try base.labelValues(name, matchers) }

    func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        var h = hints
        adjust(&h)
        return try base.labelNames(matchers, hints: h)
    }

    func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        var h = hints
        adjust(&h)
        return try base.labelValues(name, matchers, hints: h)
    }
}

/// Reads series in a time range. `select` returns series sorted by labels (`Labels.compare`)
/// unless the hints say the order does not matter (`SelectHints.sortSeries`).
public protocol Querier: Sendable {
    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries]
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String]
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String]
    /// The same, with the request's hints (`partialResponse`): queriers that wrap others pass
    /// them on; the others need not implement these.
    func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String]
    func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String]
}

extension Querier {
    public func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] { try labelNames(matchers) }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try labelValues(name, matchers)
    }
}

public protocol Queryable: Sendable {
    func querier(mint: Int64, maxt: Int64) throws -> any Querier
}

/// An error from reading or writing stored data, typed so that callers (compaction, a shipper,
/// a store gateway) can tell data that is damaged from data that is absent or a disk that failed.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// Bytes that fail a checksum, a magic number or a structural check.
        case corrupt
        /// A file, block or object that does not exist.
        case notFound
        /// The operating system refused a read or write (ENOSPC, EIO, permissions).
        case io
        /// Well-formed data in a version or encoding Strata does not read (native histograms).
        case unsupported
        /// Input or arguments that break the format's rules (out-of-order series, a bad import line).
        case invalid
        /// An operation that gave up waiting for another one (e.g. an appender that does not commit).
        case timeout
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The same error with context (a path, a block) in front of its message, kind kept.
    public func prefixed(_ context: String) -> StorageError { StorageError(kind, context + ": " + description) }

    /// `error` as a storage error with `context` in front: storage errors keep their kind,
    /// anything else becomes `fallback`.
    public static func wrapping(_ error: any Error, _ context: String, fallback: Kind = .io) -> StorageError {
        if let e = error as? StorageError { return e.prefixed(context) }
        return StorageError(fallback, context + ": \(error)")
    }
}
