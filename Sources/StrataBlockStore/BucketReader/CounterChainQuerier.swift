import StrataBlock
import StrataModel
import StrataStorage

/// A counter read (`rate`, `increase`, …) over one stream's bucket blocks when some are
/// downsampled: each series' blocks are read as one counter (`CounterSegment.chain`), not
/// merged sample by sample, so a reset inside one block is not counted again at the next; and
/// data finer than the stream's coarsest block in the read is thinned to that resolution, so
/// a range spanning a switch of resolution sees one spacing. The stream's external labels are
/// attached here (as `ExternalLabelsQuerier` does), so the series stay chains for
/// `BucketMergeQuerier` to extend with local data.
struct CounterChainQuerier: Querier {
    /// The stream's block queriers in time order, with each block's resolution.
    let blocks: [(querier: any Querier, resolution: Int64)]
    let labels: Labels

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        guard let rest = ExternalLabelsQuerier.remaining(matchers, external: labels.dictionary) else { return [] }
        let coarsest = blocks.map(\.resolution).max() ?? 0
        var parts: [Labels: [CounterChainSeries.Part]] = [:]
        for b in blocks {
            for s in try b.querier.select(rest, hints: hints) {
                parts[s.labels.overriding(labels), default: []].append(.init(series: s, thin: b.resolution < coarsest ? coarsest : 0))
            }
        }
        return parts.map { CounterChainSeries(labels: $0.key, parts: $0.value, coarsest: coarsest, partialResponse: nil) }.sorted { Labels.compare($0.labels, $1.labels) < 0 }
    }

    private var merged: ExternalLabelsQuerier {
        ExternalLabelsQuerier(MergeQuerier(blocks.map(\.querier), encodeChunks: { XORChunk.encodeChunks($0) }), labels: labels)
    }
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try merged.labelNames(matchers) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try merged.labelValues(name, matchers) }
}

/// One series' blocks (and, through `BucketMergeQuerier`, its local data) read as one counter.
struct CounterChainSeries: StorageSeries {
    struct Part: Sendable {
        let series: any StorageSeries
        /// The resolution to thin this part to (0: as it is).
        let thin: Int64
        /// A bucket block's series (not local data appended by `BucketMergeQuerier`).
        var inBucket = true
    }

    let labels: Labels
    private(set) var parts: [Part]
    /// The coarsest resolution among the parts: what finer data that follows is thinned to.
    let coarsest: Int64
    /// Under `partial_response`: where a failure to read the bucket is reported instead.
    var partialResponse: (warnings: StorageWarnings, bucket: String)?

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        var segments: [CounterSegment] = []
        segments.reserveCapacity(parts.count)
        do {
            try read(parts, mint: mint, maxt: maxt, into: &segments)
        } catch where partialResponse != nil && BucketStoreQuerier.isBucketFailure(error) {
            // The bucket's part is left out as a whole; local data still answers.
            partialResponse!.warnings.add(BucketStoreQuerier.warning(partialResponse!.bucket, error))
            segments.removeAll()
            try read(parts.filter { !$0.inBucket }, mint: mint, maxt: maxt, into: &segments)
        }
        CounterSegment.chain(segments, into: &out)
    }

    private func read(_ parts: [Part], mint: Int64, maxt: Int64, into segments: inout [CounterSegment]) throws {
        for part in parts {
            let segment: CounterSegment?
            if let source = part.series as? any CounterSegmentSource {
                segment = try source.counterSegment(mint: mint, maxt: maxt)
            } else {
                var raw: [Sample] = []
                try part.series.samples(mint: mint, maxt: maxt, into: &raw)
                segment = .raw(raw)
            }
            guard var segment else { continue }
            segment.thin(to: part.thin)
            segments.append(segment)
        }
    }

    /// The same chain with `series` (newer data: the head, local blocks) appended.
    func appending(_ series: [any StorageSeries]) -> CounterChainSeries {
        var c = self
        c.parts += series.map { Part(series: $0, thin: coarsest, inBucket: false) }
        return c
    }

    /// The same chain reporting bucket failures as warnings.
    func partial(_ warnings: StorageWarnings, bucket: String) -> CounterChainSeries {
        var c = self
        c.partialResponse = (warnings, bucket)
        return c
    }
}

/// The bucket's queriers and the local ones (heads, local blocks) merged, as `MergeQuerier`
/// merges them, except for counter reads over downsampled data: there a series the bucket
/// reads as a chain (`CounterChainQuerier`) takes its local data into the chain, thinned to
/// the same resolution, so the step from bucket to local data is judged on raw values and seen
/// at one spacing.
public struct BucketMergeQuerier: Querier {
    let bucket: [any Querier]
    let local: [any Querier]
    private let merged: MergeQuerier

    /// `bucket` is older data than `local`.
    public init(bucket: [any Querier], local: [any Querier]) {
        self.bucket = bucket
        self.local = local
        merged = MergeQuerier(bucket + local, encodeChunks: { XORChunk.encodeChunks($0) })
    }

    public func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        guard hints.maxSourceResolution > 0, AggrSelection(function: hints.function) == .counter else {
            return try merged.select(matchers, hints: hints)
        }
        var sets = try bucket.map { try $0.select(matchers, hints: hints.sorted) }
        var chains: [Labels: CounterChainSeries] = [:]
        for set in sets { for s in set { if let c = s as? CounterChainSeries { chains[c.labels] = c } } }
        let localSets = try local.map { try $0.select(matchers, hints: hints.sorted) }
        if chains.isEmpty { return MergeQuerier.merge(sets + localSets, encodeChunks: { XORChunk.encodeChunks($0) }) }
        var appended: [Labels: [any StorageSeries]] = [:]
        for set in localSets {
            sets.append(set.filter { s in
                guard chains[s.labels] != nil else { return true }
                appended[s.labels, default: []].append(s)
                return false
            })
        }
        sets = sets.map { set in set.map { s in (s as? CounterChainSeries).flatMap { c in appended[c.labels].map { c.appending($0) } } ?? s } }
        return MergeQuerier.merge(sets, encodeChunks: { XORChunk.encodeChunks($0) })
    }

    public func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try merged.labelNames(matchers) }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try merged.labelValues(name, matchers) }
    public func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] { try merged.labelNames(matchers, hints: hints) }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try merged.labelValues(name, matchers, hints: hints)
    }
}
