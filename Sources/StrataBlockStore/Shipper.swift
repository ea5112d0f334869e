import Foundation
import StrataBlock
import StrataObjectStore
import StrataStorage
import Synchronization

/// Uploads a data directory's new blocks to a bucket, as Thanos' shipper does
/// (`pkg/shipper/shipper.go`), so that Thanos' store gateway, compactor and bucket tools can
/// serve them: level-1 blocks in `minTime` order, each through a staging directory of hard links,
/// `chunks/*` first, then `index`, then `meta.json` (with the `thanos` section) last, so that a
/// reader never sees a block whose `meta.json` exists before its data. What was uploaded is kept
/// in `thanos.shipper.json`, in Thanos' format.
public final class Shipper: Sendable {
    public let dataDir: String
    public let bucket: any Bucket
    public let externalLabels: [String: String]
    public let source: String
    public let stats = ShipperStats()
    private let uploaded = Mutex<Set<String>>([])
    private let syncing = Mutex<Bool>(false)

    public static let stateFile = "thanos.shipper.json"
    static let stagingDir = "thanos/upload"

    /// `externalLabels` must not be empty: Thanos refuses blocks without them (they are the
    /// block's stream for its compactor and store gateway).
    public init(dataDir: String, bucket: any Bucket, externalLabels: [String: String], source: String = "receive") throws {
        guard !externalLabels.isEmpty else { throw ShipperError("empty external labels are not allowed for Thanos block (set --label)") }
        self.dataDir = dataDir
        self.bucket = bucket
        self.externalLabels = externalLabels
        self.source = source
        uploaded.withLock { $0 = Set(Self.readState(dataDir)) }
    }

    /// Whether block `ulid` is in the bucket (as of the last sync).
    public func isUploaded(_ ulid: String) -> Bool { uploaded.withLock { $0.contains(ulid) } }

    /// Whether the shipper uploads this block at all: level-1 blocks with samples (Thanos'
    /// shipper without `--shipper.upload-compacted`).
    public static func ships(_ meta: BlockMeta) -> Bool { meta.stats.numSamples > 0 && meta.compaction.level == 1 }

    /// Whether the data directory may let go of the block: uploaded, or never to be uploaded.
    public func isDone(_ meta: BlockMeta) -> Bool { !Self.ships(meta) || isUploaded(meta.ulid) }

    public struct SyncResult: Sendable, Equatable {
        public var uploaded: [String] = []
        /// Found complete in the bucket already (a previous run uploaded them).
        public var alreadyInBucket: [String] = []
    }

    /// One pass over the local blocks. The first failing upload stops the pass (the next one
    /// retries it, in order); its objects already in the bucket stay, invisible without
    /// `meta.json`, and are overwritten by the retry.
    @discardableResult
    public func sync() async throws -> SyncResult {
        // One pass at a time (a block event and the periodic pass may meet).
        while !syncing.withLock({ busy in
            if busy { return false }
            busy = true
            return true
        }) { try await Task.sleep(for: .milliseconds(10)) }
        defer { syncing.withLock { $0 = false } }
        return try await syncOnce()
    }

    private func syncOnce() async throws -> SyncResult {
        var result = SyncResult()
        var metas: [BlockMeta] = []
        for name in try FileSystem.list(dataDir) where ULID.isValid(name) && FileSystem.isDirectory(dataDir + "/" + name) {
            if let m = try? BlockMeta.read(dir: dataDir + "/" + name) { metas.append(m) }
        }
        metas.sort { $0.minTime != $1.minTime ? $0.minTime < $1.minTime : $0.ulid < $1.ulid }
        var done = uploaded.withLock { $0 }.intersection(metas.map(\.ulid))
        defer {
            // Only blocks still here are listed, as Thanos does.
            let keep = done
            uploaded.withLock { $0 = keep }
            do { try Self.writeState(dataDir, keep) } catch { stats.stateWriteFailures.add(1, ordering: .relaxed) }
        }
        // Staging links left by an interrupted pass would keep deleted blocks' data on disk.
        try? FileSystem.removeAll(dataDir + "/" + Self.stagingDir)
        for meta in metas where !done.contains(meta.ulid) {
            if !Self.ships(meta) { continue }
            if try await bucket.exists(meta.ulid + "/" + BlockMeta.fileName) {
                done.insert(meta.ulid)
                result.alreadyInBucket.append(meta.ulid)
                continue
            }
            let started = ContinuousClock.now
            do {
                try await upload(meta)
            } catch {
                stats.failures.add(1, ordering: .relaxed)
                throw ShipperError("uploading block \(meta.ulid): \(error)")
            }
            done.insert(meta.ulid)
            result.uploaded.append(meta.ulid)
            stats.uploads.add(1, ordering: .relaxed)
            stats.recordUpload(duration: ContinuousClock.now - started)
        }
        return result
    }

    /// Stages the block (hard links, a meta with the `thanos` section) and uploads it.
    func upload(_ meta: BlockMeta) async throws {
        let blockDir = dataDir + "/" + meta.ulid
        let staging = dataDir + "/" + Self.stagingDir + "/" + meta.ulid
        try FileSystem.removeAll(staging)
        try FileSystem.mkdirAll(staging + "/chunks")
        defer { try? FileSystem.removeAll(staging) }
        let segments = try FileSystem.list(blockDir + "/chunks").filter { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }.sorted()
        for s in segments { try FileSystem.link(blockDir + "/chunks/" + s, staging + "/chunks/" + s) }
        try FileSystem.link(blockDir + "/index", staging + "/index")

        var thanos = ThanosMeta(labels: externalLabels, source: source)
        thanos.segmentFiles = segments
        thanos.files = try segments.map { ThanosMeta.File(relPath: "chunks/" + $0, sizeBytes: try FileSystem.size(staging + "/chunks/" + $0)) }
            + [ThanosMeta.File(relPath: "index", sizeBytes: try FileSystem.size(staging + "/index")), ThanosMeta.File(relPath: "meta.json", sizeBytes: nil)]

        for s in segments { try await bucket.upload(meta.ulid + "/chunks/" + s, file: staging + "/chunks/" + s) }
        try await bucket.upload(meta.ulid + "/index", file: staging + "/index")
        thanos.uploadTime = Self.rfc3339(Date())
        var uploadedMeta = meta
        uploadedMeta.extraFields.removeAll { $0.key == "thanos" }
        uploadedMeta.extraFields.append(BlockMeta.ExtraField(key: "thanos", json: thanos.json()))
        // The local block's meta.json stays as it is; the bucket's copy carries the section.
        try await bucket.upload(meta.ulid + "/" + BlockMeta.fileName, bytes: Array((uploadedMeta.json() + "\n").utf8))
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
    /// Milliseconds since the epoch of the last successful upload (0: none yet).
    public let lastUploadMillis = Atomic<Int64>(0)
    public let uploadNanosTotal = Atomic<Int64>(0)

    func recordUpload(duration: Duration) {
        lastUploadMillis.store(Int64(Date().timeIntervalSince1970 * 1000), ordering: .relaxed)
        uploadNanosTotal.add(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000, ordering: .relaxed)
    }
}
