import StrataModel
import StrataStorage

/// Merges blocks into one (leveled and vertical compaction): series with the same labels are
/// joined; chunks are copied as they are unless they overlap or have deleted ranges, in which case
/// the series' samples are merged (first block wins on equal timestamps) and re-encoded.
/// Series stream through one at a time, so memory stays at one series per input block.
/// Downsampled blocks (aggregate chunks) are merged the same way: chunks copied while they do
/// not overlap (Thanos' common case: 2d blocks of 5m data into a 14d block), overlapping ones
/// merged window by window (`Downsampler.mergeAggregates`); `thanos` (with the resolution) is
/// written into the result's `meta.json` when given.
public enum BlockCompactor {
    public static func compact(_ blocks: [Block], into parentDir: String, thanos: ThanosMeta? = nil) throws -> BlockMeta {
        precondition(!blocks.isEmpty)
        let sorted = blocks.sorted { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
        var compaction = BlockMeta.Compaction()
        compaction.level = (sorted.map(\.meta.compaction.level).max() ?? 0) + 1
        compaction.sources = Set(sorted.flatMap(\.meta.compaction.sources)).sorted()
        compaction.parents = sorted.map { BlockMeta.Parent(ulid: $0.ulid, minTime: $0.minTime, maxTime: $0.maxTime) }
        var symbols = Set<[UInt8]>()
        for b in sorted { symbols.formUnion(try b.index.allSymbolBytes()) }
        let mint = sorted.map(\.minTime).min()!, maxt = sorted.map(\.maxTime).max()!

        return try BlockWriter.write(parentDir: parentDir, mint: mint, maxt: maxt, symbols: symbols.sorted { $0.lexicographicallyPrecedes($1) },
                                     compaction: compaction, thanos: thanos) { add in
            var cursors = try sorted.map { try SeriesCursor(block: $0) }
            while true {
                var smallest: Labels?
                for c in cursors { if let l = c.labels, smallest == nil || Labels.compare(l, smallest!) < 0 { smallest = l } }
                guard let labels = smallest else { break }
                var parts: [(Block, [ChunkMeta], [Tombstones.Interval])] = []
                for i in cursors.indices where cursors[i].labels == labels {
                    parts.append((cursors[i].block, cursors[i].chunks, cursors[i].block.tombstones[cursors[i].ref] ?? []))
                    try cursors[i].advance()
                }
                try add(labels, try mergedChunks(parts))
            }
        }
    }

    static func mergedChunks(_ parts: [(Block, [ChunkMeta], [Tombstones.Interval])]) throws -> [EncodedChunk] {
        var chunks: [(EncodedChunk, Int)] = [] // chunk, part index (earlier wins on equal timestamps)
        var needsMerge = false
        for (i, (block, metas, deleted)) in parts.enumerated() {
            if !deleted.isEmpty { needsMerge = true }
            for m in metas {
                let (enc, bytes) = try block.chunkBytes(m.ref)
                if enc != XORChunk.encoding && enc != AggrChunk.encoding {
                    throw StorageError(.unsupported, "block \(block.ulid): chunk encoding \(enc) (native histograms) cannot be compacted by Strata")
                }
                chunks.append((EncodedChunk(encoding: enc, minTime: m.mint, maxTime: m.maxt, bytes: bytes), i))
            }
        }
        chunks.sort { $0.0.minTime != $1.0.minTime ? $0.0.minTime < $1.0.minTime : $0.1 < $1.1 }
        for i in 1 ..< max(1, chunks.count) where chunks[i].0.minTime <= chunks[i - 1].0.maxTime { needsMerge = true; break }
        if !needsMerge { return chunks.map(\.0) }
        if chunks.contains(where: { $0.0.encoding == AggrChunk.encoding }) { return try mergedAggregates(parts, chunks) }

        // Overlap or deletions: merge sample by sample.
        var samples: [(Sample, Int)] = []
        for (c, i) in chunks {
            let deleted = parts[i].2
            var decoded: [Sample] = []
            do { try XORDecoder.samples(c.bytes, into: &decoded) } catch {
                throw StorageError(.corrupt, "block \(parts[i].0.ulid): corrupt chunk: \(error)")
            }
            for s in decoded where !deleted.contains(where: { $0.mint <= s.t && s.t <= $0.maxt }) { samples.append((s, i)) }
        }
        samples.sort { $0.0.t != $1.0.t ? $0.0.t < $1.0.t : $0.1 < $1.1 }
        var merged: [Sample] = []
        merged.reserveCapacity(samples.count)
        for (s, _) in samples where merged.last?.t != s.t { merged.append(s) }
        return XORChunk.encodeChunks(merged)
    }

    /// Overlapping or partly deleted aggregate chunks of one series: deleted windows dropped,
    /// then merged window by window at the blocks' resolution.
    static func mergedAggregates(_ parts: [(Block, [ChunkMeta], [Tombstones.Interval])], _ chunks: [(EncodedChunk, Int)]) throws -> [EncodedChunk] {
        let block = parts[0].0
        guard chunks.allSatisfy({ $0.0.encoding == AggrChunk.encoding }) else {
            throw StorageError(.unsupported, "block \(block.ulid): raw and aggregate chunks of one series cannot be merged")
        }
        guard let resolution = ThanosMeta.from(block.meta)?.resolution, resolution > 0 else {
            throw StorageError(.invalid, "block \(block.ulid): aggregate chunks in a block without a downsampling resolution")
        }
        var inputs: [[EncodedChunk]] = Array(repeating: [], count: parts.count)
        for (c, i) in chunks {
            let deleted = parts[i].2
            if deleted.isEmpty { inputs[i].append(c) } else if let kept = try Downsampler.removingDeleted(c, deleted) { inputs[i].append(kept) }
        }
        return try Downsampler.mergeAggregates(inputs, resolution: resolution)
    }

    /// Walks one block's series in label order.
    struct SeriesCursor {
        let block: Block
        let refs: [SeriesRef]
        var position = 0
        var labels: Labels?
        var chunks: [ChunkMeta] = []
        var ref: SeriesRef = 0

        init(block: Block) throws {
            self.block = block
            refs = try block.index.allPostings()
            try load()
        }

        mutating func advance() throws { position += 1; try load() }

        private mutating func load() throws {
            guard position < refs.count else { labels = nil; return }
            ref = refs[position]
            labels = try block.index.series(ref, chunks: &chunks)
        }
    }
}
