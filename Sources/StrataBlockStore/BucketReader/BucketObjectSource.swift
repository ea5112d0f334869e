import Foundation
import StrataBlock
import StrataObjectStore
import StrataModel
import StrataStorage
import Synchronization

/// One bucket object (a block's index or a chunk segment) as a `ByteSource`: the index and chunk
/// readers ask for byte ranges, and each range is served from the page cache, the missing pages
/// fetched with ranged GETs (one per run of contiguous missing pages). So a query reads the
/// postings, series and chunks it needs, not whole files.
///
/// `withBytes` is synchronous, as the readers are: it waits for the bucket on the calling
/// thread. Call it from a blocking thread (queries run on one), never from a task executor's.
public final class BucketObjectSource: ByteSource {
    public let bucket: any Bucket
    public let object: String
    public let count: Int
    public let cache: PageCache
    /// Pages fetched beyond a read that misses at its end (see `PageCache.pages`).
    public let readahead: Int
    public var name: String { object }

    /// `size` from the block's `meta.json` (`thanos.files`) or the bucket's attributes.
    public init(bucket: any Bucket, object: String, size: Int, cache: PageCache, readahead: Int = 15) {
        self.bucket = bucket
        self.object = object
        self.count = size
        self.cache = cache
        self.readahead = readahead
    }

    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if range.isEmpty { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let size = cache.pageSize
        let first = range.lowerBound / size, last = (range.upperBound - 1) / size
        let pages: [[UInt8]]
        do {
            pages = try cache.pages(object, first ... last, pageLimit: (count + size - 1) / size, readahead: readahead) { page, n in
                let offset = page * size
                return try Self.wait { [bucket, object, count] in
                    try await bucket.getRange(object, offset: offset, length: min(n * size, count - offset))
                }
            }
        } catch let e as StorageError {
            throw e
        } catch {
            throw StorageError(.io, "\(object): \(error)")
        }
        let start = range.lowerBound - first * size
        if pages.count == 1 {
            return try pages[0].withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start ..< start + range.count])) }
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(pages.count * size)
        for p in pages { joined += p }
        return try joined.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start ..< start + range.count])) }
    }

    /// Runs `operation` and waits for it on this thread.
    static func wait<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let r: Result<T, any Error>
            do { r = .success(try await operation()) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

/// A block in the bucket, opened for reading through the page cache: its index and chunk
/// segments as `BucketObjectSource`s, sized from the `thanos.files` list of its `meta.json`
/// (or the bucket's attributes when the list is missing, as in blocks not uploaded by Thanos).
public final class BucketBlockReader: ReadableBlock {
    public let meta: BlockMeta
    public let index: IndexReader<BucketObjectSource>
    public let chunkReader: ChunkSegmentReader<BucketObjectSource>
    /// Tombstones are not uploaded (as in Thanos): a bucket block has none.
    public var tombstones: [SeriesRef: [Tombstones.Interval]] { [:] }

    /// Reads the block's `meta.json` from the bucket (or takes `meta`), then opens the index
    /// (its table of contents and symbols; postings and series are read when asked for).
    public init(bucket: any Bucket, ulid: String, meta: BlockMeta? = nil, cache: PageCache, readahead: Int = 15) throws {
        let m = try meta ?? BlockMeta.parse(Data(try BucketObjectSource.wait { try await bucket.get(ulid + "/" + BlockMeta.fileName) }),
                                             path: ulid + "/" + BlockMeta.fileName)
        self.meta = m
        var sizes: [String: Int] = [:]
        for f in ThanosMeta.from(m)?.files ?? [] { if let s = f.sizeBytes { sizes[f.relPath] = s } }
        var segments = sizes.keys.filter { $0.hasPrefix("chunks/") }.sorted()
        if sizes["index"] == nil || segments.isEmpty {
            let names = try BucketObjectSource.wait { try await bucket.list(ulid + "/chunks/", recursive: false) }
            segments = names.map { String($0.dropFirst(ulid.count + 1)) }.sorted()
            for rel in segments + ["index"] {
                sizes[rel] = try BucketObjectSource.wait { try await bucket.attributes(ulid + "/" + rel).size }
            }
        }
        func source(_ rel: String) -> BucketObjectSource {
            BucketObjectSource(bucket: bucket, object: ulid + "/" + rel, size: sizes[rel] ?? 0, cache: cache, readahead: readahead)
        }
        index = try IndexReader(source("index"))
        chunkReader = try ChunkSegmentReader(segments: segments.map(source))
    }
}

extension BucketBlockReader: Queryable {
    public func querier(mint: Int64, maxt: Int64) throws -> any Querier { BlockQuerier(block: self, mint: mint, maxt: maxt) }
}
