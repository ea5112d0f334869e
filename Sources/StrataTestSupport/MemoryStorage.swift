import StrataModel
import StrataStorage
import Synchronization

/// An in-memory `Queryable`/`Appendable` for tests: series sorted by labels, samples in time order.
/// No limits, no out-of-order rejection: a sample with an existing timestamp replaces the old one,
/// which is what the PromQL test scripts expect when a `load` repeats a series.
public final class MemoryStorage: Queryable, Appendable, Sendable {
    struct Series: Sendable {
        let labels: Labels
        var samples: [Sample]
    }

    // Sorted by `Labels.compare`; queriers take a copy-on-write snapshot of this array.
    private let state = Mutex<[Series]>([])

    public init() {}

    /// Adds samples to the series `labels`, creating it when new.
    public func add(_ labels: Labels, _ samples: [Sample]) {
        guard !samples.isEmpty else { return }
        state.withLock { all in
            let (index, found) = Self.position(of: labels, in: all)
            if !found { all.insert(Series(labels: labels, samples: []), at: index) }
            for s in samples { Self.insert(s, into: &all[index].samples) }
        }
    }

    /// Every stored series with all its samples, in label order.
    public var allSeries: [(labels: Labels, samples: [Sample])] {
        state.withLock { all in all.map { ($0.labels, $0.samples) } }
    }

    public func appender() -> any Appender { MemoryAppender(storage: self) }

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        MemoryQuerier(series: state.withLock { $0 }, mint: mint, maxt: maxt)
    }

    /// Binary search by labels: where `labels` is or would be inserted.
    static func position(of labels: Labels, in all: [Series]) -> (index: Int, found: Bool) {
        var lo = 0, hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let c = Labels.compare(all[mid].labels, labels)
            if c == 0 { return (mid, true) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (lo, false)
    }

    /// Keeps `samples` sorted by time; the common case (newer than the last sample) is an append.
    static func insert(_ s: Sample, into samples: inout [Sample]) {
        if let last = samples.last, last.t >= s.t {
            let i = firstIndex(notBefore: s.t, in: samples[...])
            if samples[i].t == s.t { samples[i] = s } else { samples.insert(s, at: i) }
        } else {
            samples.append(s)
        }
    }

    /// The index of the first sample with `t >= time` (or `endIndex`).
    static func firstIndex(notBefore time: Int64, in samples: ArraySlice<Sample>) -> Int {
        partition(samples) { $0 < time }
    }

    /// The index of the first sample with `t > time` (or `endIndex`).
    static func firstIndex(after time: Int64, in samples: ArraySlice<Sample>) -> Int {
        partition(samples) { $0 <= time }
    }

    /// Binary search for the first sample whose time fails `isBefore`.
    private static func partition(_ samples: ArraySlice<Sample>, _ isBefore: (Int64) -> Bool) -> Int {
        var lo = samples.startIndex, hi = samples.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if isBefore(samples[mid].t) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Buffers a write and applies it on `commit`, so readers never see half of one.
final class MemoryAppender: Appender {
    private let storage: MemoryStorage
    private var pending: [(Labels, [Sample])] = []

    init(storage: MemoryStorage) { self.storage = storage }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        pending.append((Labels(canonicalBytes: Array(labels)), Array(samples)))
        return AppendResult(accepted: samples.count)
    }

    // Metadata has no reader in this storage.
    func appendMetadata(_ metadata: MetricMetadata) {}

    func commit() throws {
        for (labels, samples) in pending { storage.add(labels, samples) }
        pending.removeAll()
    }

    func rollback() { pending.removeAll() }
}

/// Reads a snapshot taken when the querier was created.
struct MemoryQuerier: Querier {
    let series: [MemoryStorage.Series]
    let mint: Int64
    let maxt: Int64

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        // Like a TSDB querier: never outside the querier's own range, and series without a sample
        // in the range are left out.
        let lo = max(mint, hints.mint), hi = min(maxt, hints.maxt)
        var out: [any StorageSeries] = []
        for s in series where Self.matches(s.labels, matchers) {
            let from = MemoryStorage.firstIndex(notBefore: lo, in: s.samples[...])
            let to = MemoryStorage.firstIndex(after: hi, in: s.samples[...])
            if from < to { out.append(MemorySeries(labels: s.labels, samples: Array(s.samples[from ..< to]))) }
        }
        return out
    }

    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        var names = Set<String>()
        for s in series where Self.matches(s.labels, matchers) {
            s.labels.forEach { n, _ in names.insert(n) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        var values = Set<String>()
        for s in series where Self.matches(s.labels, matchers) {
            if let v = s.labels.get(name) { values.insert(v) }
        }
        return values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Prometheus semantics: a missing label reads as the empty string.
    static func matches(_ labels: Labels, _ matchers: [LabelMatcher]) -> Bool {
        matchers.allSatisfy { $0.matches(labels.get($0.name) ?? "") }
    }
}

struct MemorySeries: StorageSeries {
    let labels: Labels
    let samples: [Sample]

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let from = MemoryStorage.firstIndex(notBefore: mint, in: samples[...])
        let to = MemoryStorage.firstIndex(after: maxt, in: samples[...])
        if from < to { out.append(contentsOf: samples[from ..< to]) }
    }
}
