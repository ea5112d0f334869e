import StrataBlock
import StrataModel
import StrataStorage

/// A series read from the head: its labels and the chunks that overlapped the query when it was selected.
struct HeadSeries: ChunkedStorageSeries {
    let stored: Labels
    let chunks: HeadChunks
    /// Labels a querier above attaches (`overriding(lazily:)`), put on each time `labels` is
    /// read. Three words in all, so the series still fits an existential's inline buffer.
    var external = Labels.empty

    init(labels: Labels, chunks: HeadChunks, external: Labels = .empty) {
        self.stored = labels; self.chunks = chunks; self.external = external
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
    func relabeled(_ labels: Labels) -> any StorageSeries { HeadSeries(labels: labels, chunks: chunks) }

    func overriding(lazily external: Labels) -> any StorageSeries {
        if self.external.isEmpty { return HeadSeries(labels: stored, chunks: chunks, external: external) }
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
        if !hints.sortSeries {
            // In the order of their references: each series as it is read, without the two
            // lists beside the selection that sorting needs (16 bytes per selected series).
            var out: [any StorageSeries] = []
            out.reserveCapacity(refs.count)
            head.visibility.withWriteLock {
                forEachSelected(refs, lo, hi) { out.append(HeadSeries(labels: $0, chunks: $1)) }
            }
            return out
        }
        // Labels and chunks apart, so the series are built once, already in label order.
        var labels: [Labels] = [], chunks: [HeadChunks] = []
        labels.reserveCapacity(refs.count)
        chunks.reserveCapacity(refs.count)
        head.visibility.withWriteLock {
            forEachSelected(refs, lo, hi) { labels.append($0); chunks.append($1) }
        }
        var out: [any StorageSeries] = []
        out.reserveCapacity(labels.count)
        for i in Labels.sortedOrder(labels) { out.append(HeadSeries(labels: labels[i], chunks: chunks[i])) }
        return out
    }

    /// Each series of `refs` still in the head with a chunk overlapping [lo, hi]. The caller holds
    /// `head.visibility` exclusively, so all chunks are copied out between two commits (see
    /// `Head.visibility`).
    @inline(__always)
    private func forEachSelected(_ refs: [SeriesRef], _ lo: Int64, _ hi: Int64, _ body: (Labels, HeadChunks) -> Void) {
        for ref in refs {
            guard let s = head.series(ref: ref) else { continue }
            let stripe = head.stripe(of: s)
            guard let c = stripe.lock.withLock({ s.readChunks(mint: lo, maxt: hi) }) else { continue }
            body(s.labels, c)
        }
    }

    var postingsIndex: any PostingsIndex { head.postings }
}
