import StrataModel

/// Thanos querier's deduplication of HA replicas (`--query.replica-label`) over any querier.
///
/// Two Prometheus servers scraping the same targets differ only in a replica label
/// (`replica="a"` / `replica="b"`). `select` drops the replica labels from every series; series
/// that then have equal labels are replicas of one series and are read as one `DedupSeries`,
/// which follows one replica at a time with Thanos' penalty algorithm (see `DedupSeries`).
/// Series carrying none of the replica labels pass through unchanged. Output stays sorted by
/// `Labels.compare`: dropping a label can move a series, so the list is re-sorted when needed.
///
/// Matchers go to the wrapped querier as they are, so `{replica="a"}` still selects one replica
/// (Thanos' stores match on the labels they hold, then strip). Label reads follow Thanos' stores
/// under `without_replica_labels`: `labelNames` leaves the replica labels out, and
/// `labelValues` of a replica label is empty (`pkg/store/tsdb.go`, `bucket.go`, `prometheus.go`:
/// `LabelValues` returns an empty response for a label in `WithoutReplicaLabels`).
///
/// With no replica label the querier reads the wrapped one unchanged, as Thanos turns dedup off
/// when `--query.replica-label` is empty (`querier.isDedupEnabled`).
public struct DedupQuerier: Querier {
    public let querier: any Querier
    public let replicaLabels: [String]
    /// Thanos' counter path (`counterErrAdjustSeriesIterator`, used for `rate`, `increase`,
    /// `irate`, `resets`): on a switch of replica, a replica whose counter reads lower than the
    /// last value returned is raised by the difference, so the switch is not read as a reset.
    /// On for every select with `counterAware`; otherwise per select from the function the
    /// selector feeds, as Thanos picks it (`dedup.isCounter`: `rate`, `increase`, `irate`, `resets`).
    public let counterAware: Bool

    static let counterFunctions: Set<String> = ["rate", "increase", "irate", "resets"]

    /// Replica label names as bytes, compared against label blobs without building strings.
    private let replicaNames: [[UInt8]]

    public init(_ querier: any Querier, replicaLabels: [String], counterAware: Bool = false) {
        self.querier = querier
        self.replicaLabels = replicaLabels
        self.counterAware = counterAware
        var names: [[UInt8]] = []
        for l in replicaLabels where !names.contains(Array(l.utf8)) { names.append(Array(l.utf8)) }
        self.replicaNames = names
    }

    public func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        let input = try querier.select(matchers, hints: hints.sorted)
        if replicaNames.isEmpty { return input }
        let counter = counterAware || hints.function.map(Self.counterFunctions.contains) == true

        var keys: [Labels] = []
        keys.reserveCapacity(input.count)
        var stripped = [Bool](repeating: false, count: input.count)
        for (i, s) in input.enumerated() {
            if let l = withoutReplicaLabels(s.labels) {
                keys.append(l)
                stripped[i] = true
            } else {
                keys.append(s.labels)
            }
        }
        if !stripped.contains(true) { return input }

        // Replicas must sit next to each other and the output must stay sorted. The input is
        // sorted by the full labels, so ties keep their input order: the replica with the
        // smallest labels (`replica="a"` before `"b"`) comes first and wins equal timestamps.
        var order = Array(input.indices)
        if !keys.indices.dropFirst().allSatisfy({ Labels.compare(keys[$0 - 1], keys[$0]) <= 0 }) {
            order.sort { i, j in
                let c = Labels.compare(keys[i], keys[j])
                return c != 0 ? c < 0 : i < j
            }
        }

        var out: [any StorageSeries] = []
        out.reserveCapacity(input.count)
        var g = 0
        while g < order.count {
            let labels = keys[order[g]]
            var end = g + 1
            while end < order.count && keys[order[end]] == labels { end += 1 }
            if end - g == 1 {
                let s = input[order[g]]
                if !stripped[order[g]] {
                    out.append(s)
                } else {
                    out.append(s.relabeled(labels))
                }
            } else {
                out.append(DedupSeries(labels: labels, replicas: order[g ..< end].map { input[$0] },
                                       anchor: hints.mint, counterAware: counter))
            }
            g = end
        }
        return out
    }

    public func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        try querier.labelNames(matchers).filter { !isReplicaLabel($0) }
    }

    public func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try querier.labelNames(matchers, hints: hints).filter { !isReplicaLabel($0) }
    }

    /// Empty for a replica label, as Thanos' stores answer when asked without replica labels.
    public func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        if isReplicaLabel(name) { return [] }
        return try querier.labelValues(name, matchers)
    }

    public func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        if isReplicaLabel(name) { return [] }
        return try querier.labelValues(name, matchers, hints: hints)
    }

    private func isReplicaLabel(_ name: String) -> Bool {
        replicaNames.contains(Array(name.utf8))
    }

    private func isReplicaName(_ name: UnsafeRawBufferPointer) -> Bool {
        for r in replicaNames where r.count == name.count {
            if r.withUnsafeBytes({ LabelBlob.compareBytes($0, name) == 0 }) { return true }
        }
        return false
    }

    /// `labels` without the replica labels, or nil when it has none of them (no copy made).
    /// Removing pairs from a canonical blob leaves it canonical, so the kept pairs are copied as
    /// they are.
    func withoutReplicaLabels(_ labels: Labels) -> Labels? {
        var found = false
        labels.forEachRaw { n, _ in if !found && isReplicaName(n) { found = true } }
        guard found else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(labels.bytes.count)
        labels.forEachRaw { n, v in
            guard !isReplicaName(n) else { return }
            LabelBlob.appendUvarint(&out, n.count); out.append(contentsOf: n)
            LabelBlob.appendUvarint(&out, v.count); out.append(contentsOf: v)
        }
        return Labels(canonicalBytes: out)
    }
}

/// A series read as it is under other labels (a replica label dropped, external labels
/// attached): `StorageSeries.relabeled`'s default.
struct RelabeledSeries: StorageSeries {
    let labels: Labels
    let series: any StorageSeries

    func relabeled(_ labels: Labels) -> any StorageSeries { RelabeledSeries(labels: labels, series: series) }

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        try series.samples(mint: mint, maxt: maxt, into: &out)
    }
}

/// `RelabeledSeries` for a chunked source, so remote read can still stream its stored chunks.
struct RelabeledChunkedSeries: ChunkedStorageSeries {
    let labels: Labels
    let series: any ChunkedStorageSeries

    func relabeled(_ labels: Labels) -> any StorageSeries { RelabeledChunkedSeries(labels: labels, series: series) }

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        try series.samples(mint: mint, maxt: maxt, into: &out)
    }

    func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        try series.chunks(mint: mint, maxt: maxt)
    }
}

/// Storage read through `DedupQuerier`: what the query API serves when `--query.replica-label`
/// is set and the request does not say `dedup=false`.
public struct DedupQueryable: Queryable {
    public let base: any Queryable
    public let replicaLabels: [String]

    public init(_ base: any Queryable, replicaLabels: [String]) { self.base = base; self.replicaLabels = replicaLabels }

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        DedupQuerier(try base.querier(mint: mint, maxt: maxt), replicaLabels: replicaLabels)
    }
}
