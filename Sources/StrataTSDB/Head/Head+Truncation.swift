#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock
import StrataModel
import StrataStorage

extension Head {
    /// Whether the head spans more than 1.5 block ranges, so its oldest range can become a block
    /// (Prometheus' `compactable`): by then no sample in that range can still be appended.
    public var compactable: Bool {
        let lo = mint, hi = maxt
        guard lo != .max && hi != .min else { return false }
        let (span, overflow) = hi.subtractingReportingOverflow(lo)
        return overflow || span > options.chunkRange / 2 * 3
    }

    /// Waits (up to `timeout`) until no open appender may stage a sample older than `t`.
    /// Compaction calls it around raising the minimum valid time to `t`, so the block it then
    /// cuts below `t` misses no sample that is about to be applied.
    func waitForPendingAppends(below t: Int64, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while (pendingMinTimes.withLock { $0.values.min() } ?? .max) < t {
            if ContinuousClock.now > deadline { return false }
            usleep(500)
        }
        return true
    }

    /// Where the next block starts: the head's start, or lower if an appender has staged (but not
    /// yet committed) an older sample; never inside a range already written as a block.
    var compactionStart: Int64 {
        let pending = pendingMinTimes.withLock { $0.values.min() } ?? .max
        return max(min(mint, pending), blockMaxTime.load(ordering: .relaxed))
    }

    /// Refuses samples before `t` from now on (the end of the newest block): they could only
    /// land in a range that is already, or is about to be, a block.
    public func setMinValidTime(_ t: Int64) {
        var cur = blockMaxTime.load(ordering: .relaxed)
        while t > cur {
            let (done, orig) = blockMaxTime.compareExchange(expected: cur, desired: t, ordering: .relaxed)
            if done { break }
            cur = orig
        }
    }

    /// Every series' chunks with samples in `[mint, maxt)` (maxt exclusive), for a block.
    /// Chunks never cross a block boundary when the range is the head's chunk range; a chunk
    /// that does (the range changed between runs) is cut to the samples inside.
    public func blockSeries(mint: Int64, maxt: Int64) throws -> [BlockSeriesInput] {
        try seriesInRange(mint: mint, maxt: maxt).map { BlockSeriesInput(labels: $0.series.labels, chunks: $0.chunks) }
    }

    /// Writes the series `blockSeries` returns as a block under `parentDir` (its meta range
    /// `[blockMint, blockMaxt)`, by default `[mint, maxt)`); nil when no series has a sample there.
    ///
    /// The series go to the writer in label order, sorted by their label bytes in place, so no
    /// more than one label set is copied out at a time (a list of them would be ~128 bytes per
    /// series: 120 MiB at a million).
    public func writeBlock(parentDir: String, mint: Int64, maxt: Int64, blockMint: Int64? = nil, blockMaxt: Int64? = nil) throws -> BlockMeta? {
        let selected = try seriesInRange(mint: mint, maxt: maxt)
        if selected.isEmpty { return nil }
        let order = Labels.sortedOrder(count: selected.count) { i, body in selected[i].series.withLabelBytes(body) }
        var symbols = BlockSymbols()
        for (s, _) in selected { s.withLabelBytes { symbols.add(labelBlob: $0) } }
        return try BlockWriter.write(parentDir: parentDir, mint: blockMint ?? mint, maxt: blockMaxt ?? maxt,
                                     symbols: symbols.sorted) { add in
            for i in order { try add(selected[i].series.labels, selected[i].chunks) }
        }
    }

    private func seriesInRange(mint: Int64, maxt: Int64) throws -> [(series: MemSeries, chunks: [EncodedChunk])] {
        var out: [(series: MemSeries, chunks: [EncodedChunk])] = []
        for s in allSeries() {
            let chunks = stripe(of: s).lock.withLock { s.chunks(mint: mint, maxt: maxt - 1) }
            if chunks.isEmpty { continue }
            var inRange: [EncodedChunk] = []
            for c in chunks {
                if c.mint >= mint && c.maxt < maxt {
                    inRange.append(EncodedChunk(encoding: XORChunk.encoding, minTime: c.mint, maxTime: c.maxt, bytes: c.bytes))
                    continue
                }
                var samples: [Sample] = []
                try XORDecoder.samples(c.bytes, mint: mint, maxt: maxt - 1, into: &samples)
                inRange += XORChunk.encodeChunks(samples)
            }
            if !inRange.isEmpty { out.append((s, inRange)) }
        }
        return out
    }

    /// Every series, from the hash stripes (where a series becomes visible first).
    func allSeries() -> [MemSeries] {
        var all: [MemSeries] = []
        all.reserveCapacity(numSeries)
        for hs in hashStripes {
            hs.lock.withLock {
                all.append(contentsOf: hs.byHash.values)
                for more in hs.collisions.values { all.append(contentsOf: more) }
            }
        }
        return all
    }

    public struct TruncateStats: Sendable {
        public var chunksRemoved = 0
        public var seriesRemoved = 0
    }

    /// Drops every chunk that ends before `mint` (it now lives in a block) and every series left
    /// with no chunks and no sample since `mint`, then moves the head's start to `mint`.
    @discardableResult
    public func truncate(before mint: Int64) -> TruncateStats {
        setMinValidTime(mint)
        var stats = TruncateStats()
        var removed: [MemSeries] = []
        var oldestLeft: Int64? = nil // a chunk may start at Int64.max itself
        for s in allSeries() {
            let hs = stripe(of: s)
            let gone: Bool = hs.lock.withLock {
                let before = s.closed.count
                s.closed.removeAll { $0.maxt < mint }
                stats.chunksRemoved += before - s.closed.count
                if !s.headBytes.isEmpty && s.lastT < mint {
                    s.dropHeadChunk()
                    stats.chunksRemoved += 1
                }
                if let first = s.closed.first { oldestLeft = min(oldestLeft ?? .max, first.mint) }
                else if !s.headBytes.isEmpty { oldestLeft = min(oldestLeft ?? .max, s.headMint) }
                // A series with staged samples is about to receive them.
                guard s.closed.isEmpty && s.headBytes.isEmpty && s.stagedT == .min else { return false }
                if s.lastT == .min {
                    // No sample yet: a writer may be creating it right now. Removed at the next
                    // truncation if still empty (all its samples were refused).
                    if !s.emptyAtTruncation { s.emptyAtTruncation = true; return false }
                } else if s.lastT >= mint {
                    return false
                }
                s.removed = true
                let hash = labelHash(of: s)
                if hs.byHash[hash] === s {
                    if var more = hs.collisions[hash], !more.isEmpty {
                        hs.byHash[hash] = more.removeFirst()
                        hs.collisions[hash] = more.isEmpty ? nil : more
                    } else {
                        hs.byHash[hash] = nil
                    }
                } else if var more = hs.collisions[hash] {
                    more.removeAll { $0 === s }
                    hs.collisions[hash] = more.isEmpty ? nil : more
                }
                return true
            }
            if gone { removed.append(s) }
        }
        for s in removed {
            let rs = refStripes[Int(truncatingIfNeeded: s.ref) & stripeMask]
            _ = rs.lock.withLock { rs.byRef.removeValue(forKey: s.ref) }
        }
        postings.delete(removed.map { ($0.ref, $0.labels) })
        if !removed.isEmpty {
            let gone = Set(removed.map(\.ref))
            walAliases.withLock { aliases in aliases = aliases.filter { !gone.contains($0.value) } }
        }
        stats.seriesRemoved = removed.count
        seriesCount.subtract(removed.count, ordering: .relaxed)
        // Past a gap the head starts at the range of its oldest chunk, so the next compaction does
        // not walk the empty ranges one by one (a sample years ahead would make that billions).
        let oldestRange = oldestLeft.map { $0 / options.chunkRange * options.chunkRange } ?? mint
        resetMinTime(to: max(mint, oldestRange))
        return stats
    }
}

extension Head {
    /// Chunks in the head (closed and open), counted under each series' lock.
    public var numChunks: Int {
        var n = 0
        for s in allSeries() { n += stripe(of: s).lock.withLock { s.chunkCount } }
        return n
    }
}
