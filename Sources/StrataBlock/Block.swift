import StrataEncoding
import StrataModel
import StrataStorage

/// An immutable block on disk, opened for reading: its meta, and its index and chunk segments
/// through memory maps. Series read from it keep it (and so the maps) alive.
public final class Block: Sendable {
    public let dir: String
    public let meta: BlockMeta
    public let index: IndexReader<MappedFile>
    public let chunkReader: ChunkSegmentReader<MappedFile>
    public let tombstones: [SeriesRef: [Tombstones.Interval]]
    /// Bytes on disk (index + chunk segments + meta + tombstones).
    public let sizeBytes: Int

    public init(dir: String) throws {
        self.dir = dir
        meta = try BlockMeta.read(dir: dir)
        index = try IndexReader(path: dir + "/index")
        chunkReader = try ChunkSegmentReader(dir: dir + "/chunks")
        tombstones = try Tombstones.read(dir: dir)
        var size = index.source.count + chunkReader.totalBytes
        for f in [BlockMeta.fileName, Tombstones.fileName] { size += (try? FileSystem.size(dir + "/" + f)) ?? 0 }
        sizeBytes = size
    }

    public var ulid: String { meta.ulid }
    public var minTime: Int64 { meta.minTime }
    public var maxTime: Int64 { meta.maxTime }

    /// Whether the block holds samples in `[mint, maxt]` (its own maxTime is exclusive).
    public func overlaps(mint: Int64, maxt: Int64) -> Bool { meta.minTime <= maxt && meta.maxTime > mint }

    /// Every series with all its chunks, in label order (for compaction and `strata tsdb dump`).
    public func forEachSeries(_ body: (Labels, [ChunkMeta]) throws -> Void) throws {
        var chunks: [ChunkMeta] = []
        for ref in try index.allPostings() {
            let labels = try index.series(ref, chunks: &chunks)
            try body(labels, chunks)
        }
    }

    /// The bytes of one chunk, copied out of the map.
    public func chunkBytes(_ ref: UInt64) throws -> (encoding: UInt8, bytes: [UInt8]) {
        try chunkReader.withChunk(ref) { enc, data in (enc, Array(data)) }
    }
}

/// A block as queries read it: its meta, index, chunk segments and tombstones, through any
/// byte source (memory maps for a local `Block`, ranged reads for a block in a bucket).
public protocol ReadableBlock: AnyObject, Sendable {
    associatedtype Source: ByteSource
    var meta: BlockMeta { get }
    var index: IndexReader<Source> { get }
    var chunkReader: ChunkSegmentReader<Source> { get }
    var tombstones: [SeriesRef: [Tombstones.Interval]] { get }
}

extension Block: ReadableBlock {}

extension Block: Queryable {
    public func querier(mint: Int64, maxt: Int64) throws -> any Querier { BlockQuerier(block: self, mint: mint, maxt: maxt) }
}

/// A series read from a block: labels, the metas of its chunks in the query range, and the
/// block (whose sources hold the chunk bytes).
public struct BlockSeries<B: ReadableBlock>: ChunkedStorageSeries {
    public let labels: Labels
    public let chunks: [ChunkMeta]
    public let block: B
    public let deleted: [Tombstones.Interval]
    /// What a downsampled block's aggregate chunks are read as (raw chunks ignore it).
    public var aggregate: AggrSelection = .average

    public init(labels: Labels, chunks: [ChunkMeta], block: B, deleted: [Tombstones.Interval], aggregate: AggrSelection = .average) {
        self.labels = labels; self.chunks = chunks; self.block = block; self.deleted = deleted; self.aggregate = aggregate
    }

    public func samples(mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        var aggregates: [[UInt8]] = []
        for c in chunks where c.maxt >= mint && c.mint <= maxt {
            let deleted = self.deleted
            try block.chunkReader.withChunk(c.ref) { enc, data in
                if enc == AggrChunk.encoding {
                    aggregates.append(Array(data))
                    return
                }
                guard enc == XORChunk.encoding else {
                    throw StorageError(.unsupported, "block \(block.meta.ulid): series \(labels) has a chunk in encoding \(enc); only float (XOR) chunks are supported, native histograms are not")
                }
                do {
                    _ = try XORDecoder.decode(data) { t, v in
                        if t > maxt { return false }
                        if t >= mint && (deleted.isEmpty || !deleted.contains(where: { $0.mint <= t && t <= $0.maxt })) {
                            out.append(Sample(t: t, v: v))
                        }
                        return true
                    }
                } catch { throw StorageError(.corrupt, "block \(block.meta.ulid): corrupt chunk in series \(labels): \(error)") }
            }
        }
        // A downsampled series: its chunks are read together (the counter runs across them).
        if !aggregates.isEmpty {
            do { try aggregate.read(aggregates, mint: mint, maxt: maxt, into: &out) } catch {
                throw StorageError.wrapping(error, "block \(block.meta.ulid): series \(labels)", fallback: .corrupt)
            }
        }
    }

    public func chunks(mint: Int64, maxt: Int64) throws -> [EncodedChunk] {
        if deleted.isEmpty {
            let stored = try chunks.filter { $0.maxt >= mint && $0.mint <= maxt }.map { c in
                try block.chunkReader.withChunk(c.ref) { enc, data in
                    EncodedChunk(encoding: enc, minTime: c.mint, maxTime: c.maxt, bytes: Array(data))
                }
            }
            if !stored.contains(where: { $0.encoding == AggrChunk.encoding }) { return stored }
        }
        // Deleted ranges must not reach the client, nor aggregate chunks no client reads:
        // re-encode what is left (the selected aggregate, for a downsampled series).
        var samples: [Sample] = []
        try self.samples(mint: .min, maxt: .max, into: &samples)
        return XORChunk.encodeChunks(samples).filter { $0.maxTime >= mint && $0.minTime <= maxt }
    }
}

public struct BlockQuerier<B: ReadableBlock>: IndexedQuerier {
    public let block: B
    public let mint: Int64
    public let maxt: Int64

    public init(block: B, mint: Int64, maxt: Int64) { self.block = block; self.mint = mint; self.maxt = maxt }

    public func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        let lo = max(mint, hints.mint), hi = min(maxt, hints.maxt)
        let aggregate = AggrSelection(function: hints.function)
        var out: [any StorageSeries] = []
        var metas: [ChunkMeta] = []
        // Index order is label order, and refs ascend with it: the result is sorted already.
        for ref in try block.index.postings(for: matchers, interrupt: hints.interrupt) {
            let labels = try block.index.series(ref, chunks: &metas)
            let inRange = metas.filter { $0.maxt >= lo && $0.mint <= hi }
            if inRange.isEmpty { continue }
            out.append(BlockSeries(labels: labels, chunks: inRange, block: block, deleted: block.tombstones[ref] ?? [], aggregate: aggregate))
        }
        return out
    }

    public var postingsIndex: any PostingsIndex { block.index }
}
