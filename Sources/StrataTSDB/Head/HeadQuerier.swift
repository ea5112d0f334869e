import StrataBlock
import StrataModel
import StrataStorage

/// A series read from the head: its labels and the chunks that overlapped the query when it was selected.
struct HeadSeries: ChunkedStorageSeries {
    /// Where the labels are: the series' own bytes (copied out when read), or a relabeled set.
    /// (A series' labels never change; see `MemSeries` on `Sendable`.)
    enum Source: @unchecked Sendable {
        case series(MemSeries)
        case labels(Labels)
    }
    let source: Source
    let chunks: HeadChunks
    /// Labels a querier above attaches (`overriding(lazily:)`), put on each time `labels` is
    /// read. Three words in all, so the series still fits an existential's inline buffer.
    var external = Labels.empty

    init(_ source: Source, chunks: HeadChunks, external: Labels = .empty) {
        self.source = source; self.chunks = chunks; self.external = external
    }

    private var stored: Labels {
        switch source {
        case .series(let s): s.labels
        case .labels(let l): l
        }
    }

    var labels: Labels { external.isEmpty ? stored : stored.overriding(external) }

    func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        switch chunks {
        case .open(let bytes):
            // Its times are in its bytes: remote read, which asks, is rare beside the engine.
            var samples: [Sample] = []
            try decode(bytes, mint: .min, maxt: .max, into: &samples)
            guard let first = samples.first, let last = samples.last, last.t >= mint, first.t <= maxt else { return [] }
            return [EncodedChunk(encoding: 1, minTime: first.t, maxTime: last.t, bytes: bytes)]
        case .list(let list):
            return list.filter { $0.overlaps(mint: mint, maxt: maxt) }
                .map { EncodedChunk(encoding: 1, minTime: $0.mint, maxTime: $0.maxt, bytes: $0.bytes) }
        }
    }

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        switch chunks {
        case .open(let bytes):
            try decode(bytes, mint: mint, maxt: maxt, into: &out)
        case .list(let list):
            for c in list where c.overlaps(mint: mint, maxt: maxt) { try decode(c.bytes, mint: mint, maxt: maxt, into: &out) }
        }
    }

    private func decode(_ bytes: [UInt8], mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        do { try XORDecoder.samples(bytes, mint: mint, maxt: maxt, into: &out) }
        catch { throw StorageError(.corrupt, "corrupt chunk in series \(labels): \(error)") }
    }

    /// A copy under the new labels (its chunks shared), no wrapper.
    func relabeled(_ labels: Labels) -> any StorageSeries { HeadSeries(.labels(labels), chunks: chunks) }

    func overriding(lazily external: Labels) -> any StorageSeries {
        if self.external.isEmpty { return HeadSeries(source, chunks: chunks, external: external) }
        return relabeled(labels.overriding(external))
    }
}

struct HeadQuerier: IndexedQuerier {
    let head: Head
    let mint: Int64
    let maxt: Int64

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        let lo = max(mint, hints.mint), hi = min(maxt, hints.maxt)
        let refs = try head.postings.postings(for: matchers, interrupt: hints.interrupt)
        // The series themselves are held, not copies of their labels: a `Labels` is made only
        // when one is read (an aggregation reads each series' labels once).
        if !hints.sortSeries {
            // In the order of their references, each series as it is read.
            var out: [any StorageSeries] = []
            out.reserveCapacity(refs.count)
            head.visibility.withWriteLock {
                forEachSelected(refs, lo, hi) { out.append(HeadSeries(.series($0), chunks: $1)) }
            }
            return out
        }
        var selected: [(series: MemSeries, chunks: HeadChunks)] = []
        selected.reserveCapacity(refs.count)
        head.visibility.withWriteLock {
            forEachSelected(refs, lo, hi) { selected.append(($0, $1)) }
        }
        // Sorted by the label bytes in place.
        let order = Labels.sortedOrder(count: selected.count) { i, body in selected[i].series.withLabelBytes(body) }
        var out: [any StorageSeries] = []
        out.reserveCapacity(selected.count)
        for i in order { out.append(HeadSeries(.series(selected[i].series), chunks: selected[i].chunks)) }
        return out
    }

    /// Each series of `refs` still in the head with a chunk overlapping [lo, hi]. The caller holds
    /// `head.visibility` exclusively, so all chunks are copied out between two commits (see
    /// `Head.visibility`).
    @inline(__always)
    private func forEachSelected(_ refs: [SeriesRef], _ lo: Int64, _ hi: Int64, _ body: (MemSeries, HeadChunks) -> Void) {
        for ref in refs {
            guard let s = head.series(ref: ref) else { continue }
            let stripe = head.stripe(of: s)
            guard let c = stripe.lock.withLock({ s.readChunks(mint: lo, maxt: hi) }) else { continue }
            body(s, c)
        }
    }

    var postingsIndex: any PostingsIndex { head.postings }
}
