import StrataEncoding
import StrataModel

/// One series to write into a block: labels and its XOR chunks in time order.
public struct BlockSeriesInput: Sendable {
    public var labels: Labels
    public var chunks: [ClosedChunk]
    public init(labels: Labels, chunks: [ClosedChunk]) { self.labels = labels; self.chunks = chunks }
}

/// Writes a Prometheus-format block directory: built in `<ULID>.tmp-for-creation` (chunks, index,
/// meta.json, tombstones, each fsynced), then renamed to `<ULID>` in one step, so a crash never
/// leaves a half-written block under a block's name.
public enum BlockWriter {
    public static let tmpForCreation = ".tmp-for-creation"
    public static let tmpForDeletion = ".tmp-for-deletion"

    /// Writes `series` (any order; series without chunks are left out) as block `[mint, maxt)`
    /// under `parentDir` and returns its meta. `compaction` defaults to a level-1 block that is
    /// its own source.
    @discardableResult
    public static func write(parentDir: String, mint: Int64, maxt: Int64, series input: [BlockSeriesInput],
                             compaction: BlockMeta.Compaction? = nil,
                             chunkSegmentSize: Int = 512 << 20) throws -> BlockMeta {
        let ulid = ULID.make()
        let tmp = parentDir + "/" + ulid + tmpForCreation
        try FileSystem.removeAll(tmp)
        try FileSystem.mkdirAll(tmp)
        do {
            var meta = BlockMeta(ulid: ulid, minTime: mint, maxTime: maxt)
            if let compaction { meta.compaction = compaction } else { meta.compaction.sources = [ulid] }
            meta.stats = try writeContents(dir: tmp, series: input, chunkSegmentSize: chunkSegmentSize)
            try meta.write(dir: tmp)
            try Tombstones.write(dir: tmp)
            try FileSystem.syncDir(tmp)
            try FileSystem.rename(tmp, parentDir + "/" + ulid)
            try FileSystem.syncDir(parentDir)
            return meta
        } catch {
            try? FileSystem.removeAll(tmp)
            throw error
        }
    }

    static func writeContents(dir: String, series input: [BlockSeriesInput], chunkSegmentSize: Int) throws -> BlockMeta.Stats {
        let series = input.filter { !$0.chunks.isEmpty }.sorted { Labels.compare($0.labels, $1.labels) < 0 }
        var symbolSet = Set<String>()
        for s in series { s.labels.forEach { n, v in symbolSet.insert(n); symbolSet.insert(v) } }
        let symbols = symbolSet.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var stats = BlockMeta.Stats()
        let chunkWriter = try ChunkSegmentWriter(dir: dir + "/chunks", segmentSize: chunkSegmentSize)
        let index = try IndexWriter(path: dir + "/index", symbols: symbols)
        var metas: [ChunkMeta] = []
        for s in series {
            metas.removeAll(keepingCapacity: true)
            for c in s.chunks {
                let ref = try c.bytes.withUnsafeBytes { try chunkWriter.write(encoding: XORChunk.encoding, data: $0) }
                metas.append(ChunkMeta(mint: c.mint, maxt: c.maxt, ref: ref))
                stats.numSamples += UInt64(XORChunk.sampleCount(c.bytes))
            }
            try index.addSeries(s.labels, chunks: metas)
            stats.numSeries += 1
            stats.numChunks += UInt64(metas.count)
        }
        try chunkWriter.close()
        try index.close()
        return stats
    }
}
