import StrataEncoding
import StrataModel
import StrataStorage

/// One series to write into a block: labels and its chunks in time order.
public struct BlockSeriesInput: Sendable {
    public var labels: Labels
    public var chunks: [EncodedChunk]
    public init(labels: Labels, chunks: [EncodedChunk]) { self.labels = labels; self.chunks = chunks }
}

/// The distinct label names and values of a block's series: its index writes them first,
/// sorted bytewise, and the series refer to them.
public struct BlockSymbols {
    private var strings = Set<[UInt8]>()

    public init() {}

    /// Adds every name and value of a label blob (`uvarint len | bytes`, names and values alike).
    public mutating func add(labelBlob blob: UnsafeRawBufferPointer) {
        var i = 0
        while i < blob.count {
            let n = LabelBlob.readUvarint(blob, &i)
            strings.insert(Array(UnsafeRawBufferPointer(rebasing: blob[i ..< i + n])))
            i += n
        }
    }

    /// The symbols in the order the index writes them.
    public var sorted: [[UInt8]] { strings.sorted { $0.lexicographicallyPrecedes($1) } }
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
                             compaction: BlockMeta.Compaction? = nil, chunkSegmentSize: Int = 512 << 20) throws -> BlockMeta {
        var series = input.filter { !$0.chunks.isEmpty }
        series.sortByLabels(\.labels)
        var symbols = BlockSymbols()
        for s in series { s.labels.bytes.withUnsafeBytes { symbols.add(labelBlob: $0) } }
        return try write(parentDir: parentDir, mint: mint, maxt: maxt, symbols: symbols.sorted,
                         compaction: compaction, chunkSegmentSize: chunkSegmentSize) { add in
            for s in series { try add(s.labels, s.chunks) }
        }
    }

    /// The streaming form: `series` calls `add` once per series, in label order, so a compaction
    /// never holds more than one series' chunks. `symbols` must hold every label name and value
    /// (sorted bytewise, deduplicated): the index writes them before the series. `thanos`, when
    /// given, is written as meta.json's `thanos` section with the segment files filled in (as
    /// Thanos' downsampler writes its blocks).
    public static func write(parentDir: String, mint: Int64, maxt: Int64, symbols: [[UInt8]],
                             compaction: BlockMeta.Compaction? = nil, chunkSegmentSize: Int = 512 << 20,
                             thanos: ThanosMeta? = nil,
                             series: (_ add: (Labels, [EncodedChunk]) throws -> Void) throws -> Void) throws -> BlockMeta {
        let ulid = ULID.make()
        let tmp = parentDir + "/" + ulid + tmpForCreation
        try FileSystem.removeAll(tmp)
        try FileSystem.mkdirAll(tmp)
        do {
            var meta = BlockMeta(ulid: ulid, minTime: mint, maxTime: maxt)
            if let compaction { meta.compaction = compaction } else { meta.compaction.sources = [ulid] }
            var stats = BlockMeta.Stats()
            let chunkWriter = try ChunkSegmentWriter(dir: tmp + "/chunks", segmentSize: chunkSegmentSize)
            let index = try IndexWriter(path: tmp + "/index", symbols: symbols)
            var metas: [ChunkMeta] = []
            try series { labels, chunks in
                if chunks.isEmpty { return }
                metas.removeAll(keepingCapacity: true)
                for c in chunks {
                    let ref = try c.bytes.withUnsafeBytes { try chunkWriter.write(encoding: c.encoding, data: $0) }
                    metas.append(ChunkMeta(mint: c.minTime, maxt: c.maxTime, ref: ref))
                    // An aggregate chunk counts its windows (its `count` sub-chunk), as Thanos does.
                    stats.numSamples += UInt64(c.encoding == AggrChunk.encoding ? AggrChunk.sampleCount(c.bytes) : XORChunk.sampleCount(c.bytes))
                }
                try index.addSeries(labels, chunks: metas)
                stats.numSeries += 1
                stats.numChunks += UInt64(metas.count)
            }
            try chunkWriter.close()
            try index.close()
            meta.stats = stats
            if var thanos {
                thanos.segmentFiles = (0 ..< chunkWriter.segmentCount).map { ChunkSegmentWriter.segmentName($0 + 1) }
                meta.extraFields = [BlockMeta.ExtraField(key: "thanos", json: thanos.json())]
            }
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
}
