import StrataModel

/// Reads several queriers as one (head and blocks): series with the same labels are merged into
/// one, their samples in time order with duplicate timestamps kept once. Sources are listed
/// oldest first; on a duplicate timestamp the first source's sample wins.
public struct MergeQuerier: Querier {
    public let queriers: [any Querier]
    /// Re-encodes merged samples when overlapping chunks cannot be streamed as they are.
    public let encodeChunks: @Sendable ([Sample]) -> [EncodedChunk]

    public init(_ queriers: [any Querier], encodeChunks: @escaping @Sendable ([Sample]) -> [EncodedChunk]) {
        self.queriers = queriers
        self.encodeChunks = encodeChunks
    }

    public func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        if queriers.count == 1 { return try queriers[0].select(matchers, hints: hints) }
        return Self.merge(try queriers.map { try $0.select(matchers, hints: hints.sorted) }, encodeChunks: encodeChunks)
    }

    /// Merges series lists, each sorted by labels (oldest source first), into one sorted list.
    public static func merge(_ sets: [[any StorageSeries]], encodeChunks: @escaping @Sendable ([Sample]) -> [EncodedChunk]) -> [any StorageSeries] {
        if sets.count == 1 { return sets[0] }
        var idx = [Int](repeating: 0, count: sets.count)
        // Each list's next series' labels, read once (a head series makes a copy when read).
        var next: [Labels?] = sets.map { $0.first?.labels }
        var out: [any StorageSeries] = []
        out.reserveCapacity(sets.map(\.count).max() ?? 0)
        while true {
            // The smallest label set among the heads of the (sorted) lists.
            var smallest: Labels?
            for case let l? in next where smallest == nil || Labels.compare(l, smallest!) < 0 { smallest = l }
            guard let labels = smallest else { break }
            var parts: [any StorageSeries] = []
            for (i, set) in sets.enumerated() where next[i] == labels {
                parts.append(set[idx[i]])
                idx[i] += 1
                next[i] = idx[i] < set.count ? set[idx[i]].labels : nil
            }
            out.append(parts.count == 1 ? parts[0] : MergedSeries(labels: labels, parts: parts, encodeChunks: encodeChunks))
        }
        return out
    }

    public func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try union { try $0.labelNames(matchers) } }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try union { try $0.labelValues(name, matchers) } }

    public func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try union { try $0.labelNames(matchers, hints: hints) }
    }

    public func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try union { try $0.labelValues(name, matchers, hints: hints) }
    }

    private func union(_ read: (any Querier) throws -> [String]) throws -> [String] {
        var all: [String] = []
        for q in queriers { all += try read(q) }
        return all.uniqueSortedBytewise()
    }
}

/// One series stored in several places (a block and the head, or overlapping blocks).
public struct MergedSeries: ChunkedStorageSeries {
    public let labels: Labels
    let parts: [any StorageSeries]
    let encodeChunks: @Sendable ([Sample]) -> [EncodedChunk]

    public func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let start = out.count
        var sorted = true
        for p in parts {
            let before = out.count
            try p.samples(mint: mint, maxt: maxt, into: &out)
            if before > start && out.count > before && out[before].t <= out[before - 1].t { sorted = false }
        }
        if sorted { return }
        // Overlapping parts: stable sort by time, keep the first sample of each timestamp.
        var merged = Array(out[start...]).enumerated().sorted { $0.element.t != $1.element.t ? $0.element.t < $1.element.t : $0.offset < $1.offset }.map(\.element)
        var w = 0
        for r in 0 ..< merged.count where r == 0 || merged[r].t != merged[w - 1].t { merged[w] = merged[r]; w += 1 }
        merged.removeLast(merged.count - w)
        out.replaceSubrange(start..., with: merged)
    }

    public func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        var all: [EncodedChunk] = []
        for p in parts {
            guard let c = p as? any ChunkedStorageSeries else { return try reencoded(mint: mint, maxt: maxt) }
            all += try c.chunks(mint: mint, maxt: maxt)
        }
        all.sort { $0.minTime < $1.minTime }
        var kept: [EncodedChunk] = []
        for c in all {
            if let last = kept.last, c.minTime <= last.maxTime {
                // The same chunk stored twice (a block just cut from the head) is sent once;
                // truly overlapping data is merged sample by sample.
                if c.minTime == last.minTime && c.maxTime == last.maxTime && c.bytes == last.bytes { continue }
                return try reencoded(mint: mint, maxt: maxt)
            }
            kept.append(c)
        }
        return kept
    }

    private func reencoded(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        var samples: [Sample] = []
        try self.samples(mint: .min, maxt: .max, into: &samples)
        return encodeChunks(samples).filter { $0.maxTime >= mint && $0.minTime <= maxt }
    }
}
