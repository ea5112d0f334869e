import Foundation
import StrataModel
import StrataRuntime
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataBlockStore
@testable import StrataObjectStore
@testable import StrataTSDB

/// Blocks read from the bucket by ranged GETs through the page cache: the same series and
/// chunks as the local block, pages fetched once, the cache bounded, damaged pages refetched,
/// and a lookup of one series reading a small part of the index.
@Suite struct BucketReaderTests {
    /// A shipped block of `series` series × 4h (the first of the three blocks cut), local and in
    /// an instrumented filesystem bucket.
    static func shipped(_ dir: TempDir, series: Int) async throws -> (local: Block, bucket: InstrumentedBucket) {
        var options = HeadOptions()
        options.chunkRange = ShipperTests.hour
        let head = Head(options: options)
        let app = head.appender()
        var rng = SplitMix(seed: 3)
        for i in 0 ..< series {
            let samples = stride(from: Int64(0), to: 4 * ShipperTests.hour, by: 60_000).map { Sample(t: $0, v: Double(rng.next() % 1000)) }
            app.append(Labels([("__name__", "m\(i % 7)"), ("i", String(i)), ("job", "j\(i % 3)")]), samples)
        }
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let db = try DB(dir: dir.file("data"), head: head, options: dbOptions)
        _ = try db.compactHead()
        let bucket = InstrumentedBucket(try FilesystemBucket(directory: dir.file("bucket")))
        try await Shipper(dataDir: dir.file("data"), bucket: bucket, externalLabels: ["a": "b"]).sync()
        return (db.blocks[0], bucket)
    }

    /// Every series of the block with its chunks' bytes, in postings order.
    static func contents<S: ByteSource>(_ index: IndexReader<S>, _ chunks: ChunkSegmentReader<S>) throws -> [(Labels, [[UInt8]])] {
        var out: [(Labels, [[UInt8]])] = []
        var metas: [ChunkMeta] = []
        for ref in try index.allPostings() {
            let labels = try index.series(ref, chunks: &metas)
            out.append((labels, try metas.map { m in try chunks.withChunk(m.ref) { _, data in Array(data) } }))
        }
        return out
    }

    @Test func aBucketBlockReadsAsTheLocalOneAndEachPageIsFetchedOnce() async throws {
        let dir = try TempDir("bucket-reader"); defer { dir.remove() }
        let (local, bucket) = try await Self.shipped(dir, series: 300)
        let cache = try PageCache(dir: dir.file("cache"), pageSize: 4096, capacityBytes: 64 << 20)
        let fetchesBefore = bucket.snapshot()["get_range"]?.total ?? 0
        let (want, got, fetched) = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: cache)
            return (try Self.contents(local.index, local.chunkReader).map { "\($0.0)" + "\($0.1)" },
                    try Self.contents(reader.index, reader.chunkReader).map { "\($0.0)" + "\($0.1)" },
                    cache.stats.fetchedBytes.load(ordering: .relaxed))
        }
        #expect(got == want && got.count == 300)
        // Each page fetched once (the index's unused parts not at all, or only as read-ahead), a
        // run of missing pages and what follows it in one GET.
        let blockBytes = local.index.source.count + local.chunkReader.totalBytes
        let misses = cache.stats.misses.load(ordering: .relaxed)
        #expect(fetched <= blockBytes && misses == cache.pageCount && fetched > (misses - 2) * 4096, "\(fetched) of \(blockBytes) bytes, \(misses) pages")
        let requests = (bucket.snapshot()["get_range"]?.total ?? 0) - fetchesBefore
        #expect(requests > 0 && requests <= misses, "\(requests) GETs for \(misses) pages")

        // A second reader on the same cache (a restart, with the cache directory kept) fetches nothing.
        let again = try PageCache(dir: dir.file("cache"), pageSize: 4096, capacityBytes: 64 << 20)
        let second = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: again)
            return try Self.contents(reader.index, reader.chunkReader).map { "\($0.0)" + "\($0.1)" }
        }
        #expect(second == want)
        #expect(again.stats.fetchedBytes.load(ordering: .relaxed) == 0 && again.stats.misses.load(ordering: .relaxed) == 0)

        // Without reading ahead, each page that misses is a GET of its own: many more requests.
        let plain = try PageCache(dir: dir.file("cache-plain"), pageSize: 4096, capacityBytes: 64 << 20)
        let before = bucket.snapshot()["get_range"]?.total ?? 0
        let third = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: plain, readahead: 0)
            return try Self.contents(reader.index, reader.chunkReader).map { "\($0.0)" + "\($0.1)" }
        }
        let plainRequests = (bucket.snapshot()["get_range"]?.total ?? 0) - before
        #expect(third == want)
        #expect(plainRequests > 4 * requests, "\(plainRequests) GETs without read-ahead, \(requests) with it")
    }

    @Test func oneSeriesLookupReadsLittleOfTheIndex() async throws {
        let dir = try TempDir("bucket-reader-small"); defer { dir.remove() }
        let (local, bucket) = try await Self.shipped(dir, series: 3000)
        let cache = try PageCache(dir: dir.file("cache"), pageSize: 4096, capacityBytes: 64 << 20)
        let (labels, fetched) = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: cache, readahead: 0)
            let refs = try reader.index.postings(for: [try LabelMatcher(.equal, "i", "1234")])
            var metas: [ChunkMeta] = []
            let found = try refs.map { try reader.index.series($0, chunks: &metas) }
            return (found, cache.stats.fetchedBytes.load(ordering: .relaxed))
        }
        #expect(labels.map { $0.get("i") } == ["1234"])
        let indexBytes = local.index.source.count
        #expect(fetched < indexBytes / 2, "a one-series lookup fetched \(fetched) of the index's \(indexBytes) bytes")
    }

    @Test func theCacheStaysWithinItsCapacityAndRefetchesDamagedPages() async throws {
        let dir = try TempDir("bucket-reader-evict"); defer { dir.remove() }
        let (local, bucket) = try await Self.shipped(dir, series: 300)
        let capacity = 32 << 10
        let cache = try PageCache(dir: dir.file("cache"), pageSize: 4096, capacityBytes: capacity)
        let want = try Self.contents(local.index, local.chunkReader).map { "\($0.0)" + "\($0.1)" }
        let got = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: cache)
            return try Self.contents(reader.index, reader.chunkReader).map { "\($0.0)" + "\($0.1)" }
        }
        #expect(got == want)
        #expect(cache.sizeBytes <= capacity && cache.stats.evictions.load(ordering: .relaxed) > 0)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: dir.file("cache"))
            .map { (try? FileManager.default.attributesOfItem(atPath: dir.file("cache") + "/" + $0)[.size] as? Int) ?? 0 }.reduce(0, +)
        #expect(onDisk == cache.sizeBytes && onDisk <= capacity)

        // Every cached page damaged on disk (a crash while they were written): after a restart,
        // those read again are noticed, dropped and fetched again.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.file("cache")) {
            let path = dir.file("cache") + "/" + name
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[0] ^= 0xff
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let restarted = try PageCache(dir: dir.file("cache"), pageSize: 4096, capacityBytes: capacity)
        let reread = try await BlockingThread.run {
            let reader = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: restarted)
            return try Self.contents(reader.index, reader.chunkReader).map { "\($0.0)" + "\($0.1)" }
        }
        #expect(reread == want)
        #expect(restarted.stats.corruptPages.load(ordering: .relaxed) > 0)
    }

    @Test func aMissingObjectIsAnIOError() async throws {
        let dir = try TempDir("bucket-reader-missing"); defer { dir.remove() }
        let (local, bucket) = try await Self.shipped(dir, series: 10)
        try await bucket.delete(local.ulid + "/index")
        let cache = try PageCache(dir: dir.file("cache"), capacityBytes: 1 << 20)
        await #expect { try await BlockingThread.run { _ = try BucketBlockReader(bucket: bucket, ulid: local.ulid, cache: cache) } } throws: {
            ($0 as? StorageError)?.kind == .io && "\($0)".contains("index")
        }
    }

    /// Which bucket blocks queries see: Thanos' store gateway filters.
    @Test func theStoreHidesCompactionInputsAndBlocksLongMarkedForDeletion() async throws {
        let dir = try TempDir("bucket-store"); defer { dir.remove() }
        let db = try ShipperTests.dataDir(dir)
        let bucket = try FilesystemBucket(directory: dir.file("bucket"))
        try await Shipper(dataDir: dir.path, bucket: bucket, externalLabels: ["a": "b"]).sync()
        let ulids = db.blocks.map(\.ulid)
        // A block made from the first two (as a compactor would: same external labels), uploaded beside them.
        var merged = try BlockMeta.parse(Data(try await bucket.get(ulids[0] + "/meta.json")), path: ulids[0])
        merged.ulid = ULID.make()
        merged.maxTime = db.blocks[1].meta.maxTime
        merged.compaction.level = 2
        merged.compaction.sources = [ulids[0], ulids[1]]
        for name in try await bucket.list(ulids[0] + "/", recursive: true) where !name.hasSuffix("meta.json") {
            try await bucket.upload(merged.ulid + name.dropFirst(ulids[0].count), bytes: try await bucket.get(name))
        }
        try await bucket.upload(merged.ulid + "/meta.json", bytes: Array(merged.json().utf8))
        let now = Date().timeIntervalSince1970
        try await bucket.upload(ulids[2] + "/deletion-mark.json",
                                bytes: Array(BlockMarker(kind: .deletion, id: ulids[2], time: Int64(now) - 7200).json().utf8))

        let catalog = try BlockCatalog(dataDir: dir.path)
        let cache = try PageCache(dir: dir.file("cache"), capacityBytes: 1 << 20)
        let strict = BucketStore(bucket: bucket, cache: cache, catalog: catalog, deletionMarkDelay: 3600)
        try await strict.sync()
        #expect(strict.visibleBlocks.map(\.ulid) == [merged.ulid], "inputs covered, the marked block past its delay")
        let patient = BucketStore(bucket: bucket, cache: cache, catalog: catalog, deletionMarkDelay: 3 * 3600)
        try patient.refresh()
        #expect(patient.visibleBlocks.map(\.ulid) == [merged.ulid, ulids[2]])
        // Queriers skip what is local, and what lies outside the range.
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 0, excluding: [merged.ulid]).map(\.ulid) == [ulids[2]])
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 0, excluding: []).map(\.ulid) == [merged.ulid, ulids[2]])
        #expect(try patient.queriers(mint: 10 * ShipperTests.hour, maxt: .max, excluding: []).isEmpty)
        // Blocks open when a select reads them.
        #expect(patient.stats.blocksOpened.load(ordering: .relaxed) == 0)
        _ = try await BlockingThread.run {
            try patient.queriers(mint: 0, maxt: .max, excluding: [])[0].select([try LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: 0, maxt: .max))
        }
        #expect(patient.stats.blocksOpened.load(ordering: .relaxed) == 2)
        // A merged bucket block is still read when one of its sources is local: its other
        // sources may be gone from the data directory.
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 0, excluding: [ulids[0]]).map(\.ulid) == [merged.ulid, ulids[2]])

        // A 5m copy of the third block: read instead of it when the query allows 5m data, left
        // out when the raw block is local.
        var fiveMinute = db.blocks[2].meta
        fiveMinute.ulid = ULID.make()
        var thanos = ThanosMeta(labels: ["a": "b"], source: "compactor")
        thanos.resolution = 300_000
        fiveMinute.extraFields = [BlockMeta.ExtraField(key: "thanos", json: thanos.json())]
        for name in try await bucket.list(ulids[2] + "/", recursive: true) where !name.hasSuffix(".json") {
            try await bucket.upload(fiveMinute.ulid + name.dropFirst(ulids[2].count), bytes: try await bucket.get(name))
        }
        try await bucket.upload(fiveMinute.ulid + "/meta.json", bytes: Array(fiveMinute.json().utf8))
        try await patient.sync()
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 0, excluding: []).map(\.ulid) == [merged.ulid, ulids[2]])
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 300_000, excluding: []).map(\.ulid) == [merged.ulid, fiveMinute.ulid])
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 3_600_000, excluding: [ulids[2]]).map(\.ulid) == [merged.ulid])

        // Another stream's raw block over the same range (another tenant): the first stream's
        // 5m block neither hides it nor stands in for it, and each block's series carry their
        // own stream's external labels.
        var other = db.blocks[2].meta
        other.ulid = ULID.make()
        other.compaction.sources = [other.ulid]
        other.extraFields = [BlockMeta.ExtraField(key: "thanos", json: ThanosMeta(labels: ["a": "other"], source: "receive").json())]
        for name in try await bucket.list(ulids[2] + "/", recursive: true) where !name.hasSuffix(".json") {
            try await bucket.upload(other.ulid + name.dropFirst(ulids[2].count), bytes: try await bucket.get(name))
        }
        try await bucket.upload(other.ulid + "/meta.json", bytes: Array(other.json().utf8))
        try await patient.sync()
        #expect(patient.blocks(mint: 0, maxt: .max, maxResolution: 300_000, excluding: []).map(\.ulid) == [merged.ulid, fiveMinute.ulid, other.ulid])
        let selected = try await BlockingThread.run {
            try patient.queriers(mint: 2 * ShipperTests.hour, maxt: .max, excluding: [])[0]
                .select([try LabelMatcher(.equal, "i", "0")], hints: SelectHints(mint: 2 * ShipperTests.hour, maxt: .max))
        }
        #expect(selected.map(\.labels.description) == [#"{__name__="m", a="b", i="0"}"#, #"{__name__="m", a="other", i="0"}"#])
        // A matcher on the external label reads only that stream's blocks.
        let onlyOther = try await BlockingThread.run {
            try patient.queriers(mint: 2 * ShipperTests.hour, maxt: .max, excluding: [])[0]
                .select([try LabelMatcher(.equal, "a", "other")], hints: SelectHints(mint: 2 * ShipperTests.hour, maxt: .max)).count
        }
        #expect(onlyOther == 5)
    }
}
