import StrataEncoding
import StrataModel
import StrataStorage

/// Thanos-compatible downsampling (`pkg/compact/downsample`): a raw block becomes a block of
/// 5-minute aggregate chunks, a 5-minute block one of 1-hour aggregate chunks. The result is a
/// Prometheus block whose chunks have encoding 0xff (`AggrChunk`) and whose `thanos` section
/// carries the resolution, so Thanos' store gateway and compactor read it as their own.
/// Which blocks to downsample, and when, is the caller's decision.
public enum Downsampler {
    /// Thanos' resolution levels, in ms.
    public static let resLevel1: Int64 = 5 * 60 * 1000
    public static let resLevel2: Int64 = 60 * 60 * 1000
    /// The block span from which Thanos downsamples raw blocks to 5m (40h) and 5m blocks to 1h (10d).
    public static let level1Range: Int64 = 40 * 60 * 60 * 1000
    public static let level2Range: Int64 = 10 * 24 * 60 * 60 * 1000

    /// Writes the downsampled copy of `block` at `resolution` under `parentDir` and returns its
    /// meta. The input's resolution comes from its `thanos` section (none: raw). Series stream
    /// through one at a time; samples in tombstoned ranges are left out.
    public static func downsample(_ block: Block, resolution: Int64, into parentDir: String) throws -> BlockMeta {
        let input = ThanosMeta.from(block.meta)
        let inRes = input?.resolution ?? 0
        guard resolution > inRes else {
            throw StorageError(.invalid, "block \(block.ulid): target resolution \(resolution) is not coarser than its resolution \(inRes)")
        }
        // As Thanos copies the input's meta: same range, level, sources and parents.
        var thanos = ThanosMeta(labels: input?.labels ?? [:], source: "compactor")
        thanos.resolution = resolution
        return try BlockWriter.write(parentDir: parentDir, mint: block.minTime, maxt: block.maxTime,
                                     symbols: try block.index.allSymbolBytes(), compaction: block.meta.compaction,
                                     thanos: thanos) { add in
            var metas: [ChunkMeta] = []
            var samples: [Sample] = []
            for ref in try block.index.allPostings() {
                let labels = try block.index.series(ref, chunks: &metas)
                do {
                    for i in metas.indices.dropFirst() where metas[i - 1].maxt >= metas[i].mint {
                        throw StorageError(.invalid, "overlapping chunks [\(metas[i - 1].mint), \(metas[i - 1].maxt)] and [\(metas[i].mint), \(metas[i].maxt)]")
                    }
                    let deleted = block.tombstones[ref] ?? []
                    let out: [EncodedChunk]
                    if inRes == 0 {
                        samples.removeAll(keepingCapacity: true)
                        for m in metas { try readRaw(block, m, deleted, into: &samples) }
                        out = aggregateRaw(samples, resolution: resolution)
                    } else {
                        out = try aggregateAggr(try aggrInputs(block, metas, deleted, samples: &samples),
                                                inputResolution: inRes, resolution: resolution)
                    }
                    try add(labels, out)
                } catch {
                    throw StorageError.wrapping(error, "downsampling block \(block.ulid), series \(labels)", fallback: .corrupt)
                }
            }
        }
    }

    /// Appends a raw chunk's samples to `out` as Thanos reads them (`expandXorChunkIterator`:
    /// stale markers and samples going back in time, negative ones included, skipped), less
    /// those in deleted ranges.
    static func readRaw(_ block: Block, _ m: ChunkMeta, _ deleted: [Tombstones.Interval], into out: inout [Sample]) throws {
        try block.chunkReader.withChunk(m.ref) { enc, data in
            guard enc == XORChunk.encoding else {
                throw StorageError(.unsupported, "chunk in encoding \(enc): only float (XOR) chunks can be downsampled")
            }
            var lastT: Int64 = 0
            do {
                _ = try XORDecoder.decode(data) { t, v in
                    if StaleNaN.isStale(v) || t < lastT { return true }
                    lastT = t
                    if deleted.isEmpty || !deleted.contains(where: { $0.mint <= t && t <= $0.maxt }) { out.append(Sample(t: t, v: v)) }
                    return true
                }
            } catch { throw StorageError(.corrupt, "corrupt chunk: \(error)") }
        }
    }

    /// A downsampled series' chunks as aggregate chunks. A non-empty XOR chunk (older Thanos
    /// versions could leave them) is aggregated at 5m first, as Thanos does; empty ones are
    /// skipped.
    static func aggrInputs(_ block: Block, _ metas: [ChunkMeta], _ deleted: [Tombstones.Interval],
                           samples: inout [Sample]) throws -> [EncodedChunk] {
        var out: [EncodedChunk] = []
        for m in metas {
            let (enc, bytes) = try block.chunkBytes(m.ref)
            switch enc {
            case AggrChunk.encoding:
                let c = EncodedChunk(encoding: enc, minTime: m.mint, maxTime: m.maxt, bytes: bytes)
                if deleted.isEmpty { out.append(c) } else if let kept = try removingDeleted(c, deleted) { out.append(kept) }
            case XORChunk.encoding:
                if XORChunk.sampleCount(bytes) == 0 { continue }
                samples.removeAll(keepingCapacity: true)
                try readRaw(block, m, deleted, into: &samples)
                out += aggregateRaw(samples, resolution: resLevel1)
            default:
                throw StorageError(.unsupported, "chunk in encoding \(enc) in a downsampled block")
            }
        }
        return out
    }

    /// An aggregate chunk without the samples in deleted ranges (nil when none is left). Its
    /// range is that of the windows left; the counter's first raw sample does not widen it.
    static func removingDeleted(_ c: EncodedChunk, _ deleted: [Tombstones.Interval]) throws -> EncodedChunk? {
        var b = AggrChunkBuilder()
        try c.bytes.withUnsafeBytes { raw in
            for a in AggrChunk.Aggr.allCases {
                guard try AggrChunk.locate(raw, a) != nil else { continue }
                b.start(a)
                try AggrChunk.forEachSample(raw, a) { t, v in
                    if deleted.contains(where: { $0.mint <= t && t <= $0.maxt }) { return true }
                    b.append(a, t, v)
                    if a != .counter { b.widen(Swift.min(Swift.max(t, c.minTime), c.maxTime)) }
                    return true
                }
            }
        }
        return b.mint == .max ? nil : b.chunk()
    }
}
