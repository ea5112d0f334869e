import Foundation
import StrataBlock
import StrataObjectStore
import StrataRuntime
import StrataStorage
import Synchronization

/// Uploads a data directory's new blocks to a bucket, as Thanos' shipper does
/// (`pkg/shipper/shipper.go`), so that Thanos' store gateway, compactor and bucket tools can
/// serve them: level-1 blocks in `minTime` order, each through a staging directory of hard links,
/// `chunks/*` first, then `index`, then `meta.json` (with the `thanos` section) last, so that a
/// reader never sees a block whose `meta.json` exists before its data. What was uploaded is kept
/// in `thanos.shipper.json`, in Thanos' format, and, with every attempt, in the `BlockCatalog`.
/// A block that fails the check before upload (unreadable index or chunks) is reported and
/// skipped, so it does not hold back the blocks after it.
public final class Shipper: Sendable {
    public let dataDir: String
    public let bucket: any Bucket
    public let externalLabels: [String: String]
    public let source: String
    /// Also upload blocks compacted locally (level > 1), as Thanos' `--shipper.upload-compacted`.
    public let uploadCompacted: Bool
    public let catalog: BlockCatalog?
    public let stats = ShipperStats()
    private let uploaded = Mutex<Set<String>>([])
    private let corrupt = Mutex<Set<String>>([])
    private let syncing = Mutex<Bool>(false)

    public static let stateFile = "thanos.shipper.json"
    static let stagingDir = "thanos/upload"

    /// `externalLabels` must not be empty: Thanos refuses blocks without them (they are the
    /// block's stream for its compactor and store gateway).
    public init(dataDir: String, bucket: any Bucket, externalLabels: [String: String], source: String = "receive",
                uploadCompacted: Bool = false, catalog: BlockCatalog? = nil) throws {
        guard !externalLabels.isEmpty else { throw ShipperError("empty external labels are not allowed for Thanos block (set --label)") }
        self.dataDir = dataDir
        self.bucket = bucket
        self.externalLabels = externalLabels
        self.source = source
        self.uploadCompacted = uploadCompacted
        self.catalog = catalog
        // The state file and the catalog both remember uploads; either is enough (and the
        // bucket check in `sync` finds what both forgot).
        var known = Set(Self.readState(dataDir))
        if let catalog {
            known.formUnion((try? catalog.uploadedLocalBlocks()) ?? [])
            let bad = Set(((try? catalog.blocks()) ?? []).filter { $0.state == .corrupt && $0.isLocal }.map(\.ulid))
            corrupt.withLock { $0 = bad }
        }
        uploaded.withLock { $0 = known }
    }

    /// Whether block `ulid` is in the bucket (as of the last sync).
    public func isUploaded(_ ulid: String) -> Bool { uploaded.withLock { $0.contains(ulid) } }

    /// Whether blocks this shipper will upload are not (all) in the bucket yet: one being
    /// uploaded, or waiting for the next pass after a failure. The bucket compactor leaves the
    /// stream's group alone meanwhile, so it never merges around a block still on its way.
    /// Blocks that failed the check before upload are not counted: they never go up by themselves.
    public func hasPendingUploads() -> Bool {
        let done = uploaded.withLock { $0 }, bad = corrupt.withLock { $0 }
        for name in (try? FileSystem.list(dataDir)) ?? [] where ULID.isValid(name) && !done.contains(name) && !bad.contains(name) {
            if let meta = try? BlockMeta.read(dir: dataDir + "/" + name), Self.ships(meta, uploadCompacted: uploadCompacted) { return true }
        }
        return false
    }

    /// Whether a shipper uploads this block at all: blocks with samples, of level 1 unless
    /// `uploadCompacted` (Thanos' shipper rules).
    public static func ships(_ meta: BlockMeta, uploadCompacted: Bool = false) -> Bool {
        meta.stats.numSamples > 0 && (uploadCompacted || meta.compaction.level == 1)
    }

    /// Whether the data directory may let go of the block: uploaded, or never to be uploaded.
    /// A corrupt block is kept (an operator may repair and upload it by hand).
    public func isDone(_ meta: BlockMeta) -> Bool { !Self.ships(meta, uploadCompacted: uploadCompacted) || isUploaded(meta.ulid) }

    public struct SyncResult: Sendable, Equatable {
        public var uploaded: [String] = []
        /// Found complete in the bucket already (a previous run uploaded them).
        public var alreadyInBucket: [String] = []
        /// Failed the check before upload this pass, with why (reported once per block).
        public var corrupt: [String: String] = [:]
    }

    /// One pass over the local blocks (or only those named in `only`). The first failing upload
    /// stops the pass (the next one retries it, in order); its objects already in the bucket
    /// stay, invisible without `meta.json`, and are overwritten by the retry.
    @discardableResult
    public func sync(only: Set<String>? = nil) async throws -> SyncResult {
        // One pass at a time (a block event and the periodic pass may meet).
        while !syncing.withLock({ busy in
            if busy { return false }
            busy = true
            return true
        }) { try await Task.sleep(for: .milliseconds(10)) }
        defer { syncing.withLock { $0 = false } }
        return try await syncOnce(only: only)
    }

    private func syncOnce(only: Set<String>?) async throws -> SyncResult {
        var result = SyncResult()
        var metas: [BlockMeta] = []
        for name in try FileSystem.list(dataDir) where ULID.isValid(name) && FileSystem.isDirectory(dataDir + "/" + name) {
            if let m = try? BlockMeta.read(dir: dataDir + "/" + name) { metas.append(m) }
        }
        metas.sort { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
        var done = uploaded.withLock { $0 }.intersection(metas.map(\.ulid))
        recordInCatalog(metas, done: done)
        defer {
            // Only blocks still here are listed, as Thanos does.
            let keep = done
            uploaded.withLock { $0 = keep }
            do { try Self.writeState(dataDir, keep) } catch { stats.stateWriteFailures.add(1, ordering: .relaxed) }
        }
        // Staging links left by an interrupted pass would keep deleted blocks' data on disk.
        try? FileSystem.removeAll(dataDir + "/" + Self.stagingDir)
        let skipped = corrupt.withLock { $0 }
        for meta in metas where !done.contains(meta.ulid) && !skipped.contains(meta.ulid) {
            if !Self.ships(meta, uploadCompacted: uploadCompacted) { continue }
            if let only, !only.contains(meta.ulid) { continue }
            let inBucket: Bool
            do { inBucket = try await bucket.exists(meta.ulid + "/" + BlockMeta.fileName) } catch {
                stats.failures.add(1, ordering: .relaxed)
                throw ShipperError("checking whether block \(meta.ulid) is in the bucket: \(error)")
            }
            if inBucket {
                // Its meta.json as the bucket has it, so queries can read the block from there.
                if catalog != nil, let bytes = try? await bucket.get(meta.ulid + "/" + BlockMeta.fileName),
                   let inBucketMeta = try? BlockMeta.parse(Data(bytes), path: meta.ulid) {
                    let json = String(decoding: bytes, as: UTF8.self)
                    let at = ThanosMeta.from(inBucketMeta)?.uploadTime.flatMap(BlockCatalog.parseRFC3339)
                    catalogWrite { try $0.recordInBucket(inBucketMeta, metaJSON: json, uploadedAt: at) }
                }
                catalogWrite { try $0.markUploaded(meta.ulid) }
                done.insert(meta.ulid)
                result.alreadyInBucket.append(meta.ulid)
                continue
            }
            do {
                let blockDir = dataDir + "/" + meta.ulid
                // Reads the whole block: on a thread of its own, not the task executor's.
                try await BlockingThread.run { try Self.verify(blockDir: blockDir) }
            } catch {
                corrupt.withLock { _ = $0.insert(meta.ulid) }
                result.corrupt[meta.ulid] = "\(error)"
                stats.corrupted.add(1, ordering: .relaxed)
                catalogWrite { try $0.markCorrupt(meta.ulid, error: "\(error)") }
                continue
            }
            let started = ContinuousClock.now
            var attempt: Int64?
            catalogWrite { attempt = try $0.uploadStarted(meta.ulid) }
            let metaJSON: String
            do {
                metaJSON = try await upload(meta)
            } catch {
                stats.failures.add(1, ordering: .relaxed)
                if let attempt { catalogWrite { try $0.uploadFinished(attempt, ulid: meta.ulid, error: "\(error)") } }
                throw ShipperError("uploading block \(meta.ulid): \(error)")
            }
            // The catalog first (queries read the bucket's blocks from it), then done: retention
            // may drop the local copy the moment the block is done.
            if let attempt {
                catalogWrite { try $0.uploadFinished(attempt, ulid: meta.ulid, error: nil, metaJSON: metaJSON, labels: self.externalLabels) }
            }
            done.insert(meta.ulid)
            uploaded.withLock { _ = $0.insert(meta.ulid) }
            result.uploaded.append(meta.ulid)
            stats.uploads.add(1, ordering: .relaxed)
            stats.recordUpload(duration: ContinuousClock.now - started)
        }
        return result
    }

    /// Brings the catalog's rows for the local blocks up to date (new blocks, restored ones,
    /// uploads the state file knows and a rebuilt catalog does not).
    private func recordInCatalog(_ metas: [BlockMeta], done: Set<String>) {
        guard let catalog else { return }
        catalogWrite { _ in
            let known = Dictionary(try catalog.blocks().map { ($0.ulid, $0) }, uniquingKeysWith: { a, _ in a })
            for meta in metas {
                let row = known[meta.ulid]
                if row == nil || row?.isLocal == false {
                    try catalog.recordLocal(meta, sizeBytes: Self.size(of: self.dataDir + "/" + meta.ulid),
                                            state: Self.ships(meta, uploadCompacted: self.uploadCompacted) ? nil : .skipped)
                }
                if done.contains(meta.ulid) && row?.state != .uploaded { try catalog.markUploaded(meta.ulid) }
            }
        }
    }

    /// A catalog write that must not stop shipping: the catalog is an index, the bucket and the
    /// state file are the truth. Failures are counted for `/metrics`.
    private func catalogWrite(_ body: (BlockCatalog) throws -> Void) {
        guard let catalog else { return }
        do { try body(catalog) } catch { stats.catalogErrors.add(1, ordering: .relaxed) }
    }

    static func size(of blockDir: String) -> Int {
        var total = 0
        for f in ["index", BlockMeta.fileName] { total += (try? FileSystem.size(blockDir + "/" + f)) ?? 0 }
        for s in (try? FileSystem.list(blockDir + "/chunks")) ?? [] { total += (try? FileSystem.size(blockDir + "/chunks/" + s)) ?? 0 }
        return total
    }

    /// The check before upload: the index reads, and every chunk it points at is in a segment.
    /// A block that fails would fail Thanos' store gateway and compactor too.
    public static func verify(blockDir: String) throws {
        let block = try Block(dir: blockDir)
        try block.forEachSeries { _, chunks in
            for c in chunks { try block.chunkReader.withChunk(c.ref) { _, _ in } }
        }
    }

    /// Stages the block (hard links, a meta with the `thanos` section) and uploads it; returns
    /// the `meta.json` now in the bucket.
    func upload(_ meta: BlockMeta) async throws -> String {
        let blockDir = dataDir + "/" + meta.ulid
        let staging = dataDir + "/" + Self.stagingDir + "/" + meta.ulid
        try FileSystem.removeAll(staging)
        try FileSystem.mkdirAll(staging + "/chunks")
        defer { try? FileSystem.removeAll(staging) }
        let segments = try FileSystem.list(blockDir + "/chunks").filter { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }.sorted()
        for s in segments { try FileSystem.link(blockDir + "/chunks/" + s, staging + "/chunks/" + s) }
        try FileSystem.link(blockDir + "/index", staging + "/index")

        var thanos = ThanosMeta(labels: externalLabels, source: source)
        // A downsampled block keeps its resolution (readers pick blocks by it).
        thanos.resolution = ThanosMeta.from(meta)?.resolution ?? 0
        thanos.segmentFiles = segments
        thanos.files = try segments.map { ThanosMeta.File(relPath: "chunks/" + $0, sizeBytes: try FileSystem.size(staging + "/chunks/" + $0)) }
            + [ThanosMeta.File(relPath: "index", sizeBytes: try FileSystem.size(staging + "/index")), ThanosMeta.File(relPath: "meta.json", sizeBytes: nil)]

        for s in segments { try await bucket.upload(meta.ulid + "/chunks/" + s, file: staging + "/chunks/" + s) }
        CrashPoint.reached("upload.chunks-done")
        try await bucket.upload(meta.ulid + "/index", file: staging + "/index")
        CrashPoint.reached("upload.index-done")
        thanos.uploadTime = Self.rfc3339(Date())
        var uploadedMeta = meta
        uploadedMeta.extraFields.removeAll { $0.key == "thanos" }
        uploadedMeta.extraFields.append(BlockMeta.ExtraField(key: "thanos", json: thanos.json()))
        // The local block's meta.json stays as it is; the bucket's copy carries the section.
        let json = uploadedMeta.json() + "\n"
        try await bucket.upload(meta.ulid + "/" + BlockMeta.fileName, bytes: Array(json.utf8))
        return json
    }

    static func rfc3339(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }

    // MARK: thanos.shipper.json

    /// The uploaded ULIDs the state file lists; a missing or unreadable file is an empty list
    /// (the bucket check in `sync` finds what was uploaded), as Thanos does.
    static func readState(_ dataDir: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: dataDir + "/" + stateFile),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              obj["version"] as? Int == 1 else { return [] }
        return obj["uploaded"] as? [String] ?? [] // `null` for none, as Go writes an empty list
    }

    /// Written as Thanos writes it: tab-indented, tmp file, fsync, rename, fsync of the directory.
    static func writeState(_ dataDir: String, _ ulids: Set<String>) throws {
        let list = ulids.sorted()
        let uploaded = list.isEmpty ? "null" : "[\n" + list.map { "\t\t\"\($0)\"" }.joined(separator: ",\n") + "\n\t]"
        let text = "{\n\t\"version\": 1,\n\t\"uploaded\": \(uploaded)\n}\n"
        let tmp = dataDir + "/" + stateFile + ".tmp"
        let w = try FileWriter(path: tmp)
        try w.write(Array(text.utf8))
        try w.close()
        try FileSystem.rename(tmp, dataDir + "/" + stateFile)
        try FileSystem.syncDir(dataDir)
    }
}

public struct ShipperError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Counters for `/metrics` (Thanos' `thanos_shipper_*` under Strata's names).
public final class ShipperStats: Sendable {
    public let uploads = Atomic<Int>(0)
    public let failures = Atomic<Int>(0)
    /// `thanos.shipper.json` writes that failed (the bucket check recovers the list).
    public let stateWriteFailures = Atomic<Int>(0)
    /// Blocks that failed the check before upload (each counted once).
    public let corrupted = Atomic<Int>(0)
    /// Catalog writes that failed (shipping goes on; the catalog is rebuilt from the truth).
    public let catalogErrors = Atomic<Int>(0)
    /// Milliseconds since the epoch of the last successful upload (0: none yet).
    public let lastUploadMillis = Atomic<Int64>(0)
    public let uploadNanosTotal = Atomic<Int64>(0)

    func recordUpload(duration: Duration) {
        lastUploadMillis.store(Int64(Date().timeIntervalSince1970 * 1000), ordering: .relaxed)
        uploadNanosTotal.add(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000, ordering: .relaxed)
    }
}
