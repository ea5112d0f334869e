import StrataBlock
import StrataModel
import StrataStorage

/// A series read from the head: its labels and the chunks that overlapped the query when it was selected.
struct HeadSeries: ChunkedStorageSeries {
    let labels: Labels
    let chunks: [ClosedChunk]

    func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        chunks.filter { $0.maxt >= mint && $0.mint <= maxt }
            .map { EncodedChunk(encoding: 1, minTime: $0.mint, maxTime: $0.maxt, bytes: $0.bytes) }
    }

    func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        for c in chunks where c.maxt >= mint && c.mint <= maxt {
            do { try XORDecoder.samples(c.bytes, mint: mint, maxt: maxt, into: &out) }
            catch { throw StorageError(.corrupt, "corrupt chunk in series \(labels): \(error)") }
        }
    }
}

struct HeadQuerier: IndexedQuerier {
    let head: Head
    let mint: Int64
    let maxt: Int64

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        let lo = max(mint, hints.mint), hi = min(maxt, hints.maxt)
        var out: [HeadSeries] = []
        let refs = try head.postings.postings(for: matchers, interrupt: hints.interrupt)
        // All chunks are copied out between two commits (see `Head.visibility`).
        head.visibility.withWriteLock {
            for ref in refs {
                guard let s = head.series(ref: ref) else { continue }
                let stripe = head.stripe(of: s)
                let chunks = stripe.lock.withLock { s.chunks(mint: lo, maxt: hi) }
                if chunks.isEmpty { continue }
                out.append(HeadSeries(labels: s.labels, chunks: chunks))
            }
        }
        out.sort { Labels.compare($0.labels, $1.labels) < 0 }
        return out
    }

    var postingsIndex: any PostingsIndex { head.postings }
}
