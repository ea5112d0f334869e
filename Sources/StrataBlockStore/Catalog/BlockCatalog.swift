import Foundation
import StrataBlock
import StrataObjectStore
import Synchronization

/// An index of the blocks in the data directory and in the bucket, and of every upload attempt,
/// in SQLite (`<tsdb.path>/catalog.sqlite`, WAL journal, one writer). The bucket and the block
/// directories are the truth: the catalog is rebuilt from them when it is missing, damaged, or
/// written by a newer Strata, and nothing is lost by deleting it. Thanos' own state file
/// (`thanos.shipper.json`) is still written beside it, so Thanos tools see the same state.
public final class BlockCatalog: Sendable {
    public static let fileName = "catalog.sqlite"

    public enum State: String, Sendable, CaseIterable {
        /// In the data directory, to be uploaded.
        case local
        /// An upload started and has not finished (a crash leaves this; the next pass redoes it).
        case uploading
        /// Complete in the bucket (its `meta.json` is there).
        case uploaded
        /// Not shipped by design: empty, or compacted locally (level > 1).
        case skipped
        /// Failed the check before upload; kept locally and not retried until it changes.
        case corrupt
        /// Gone from the data directory and not in the bucket.
        case deleted
    }

    public struct Block: Sendable, Equatable {
        public var ulid: String
        public var minTime: Int64
        public var maxTime: Int64
        public var level: Int
        public var resolution: Int64
        /// External labels (the bucket copy's `thanos.labels`; empty for local-only blocks).
        public var labels: [String: String]
        public var numSamples: Int
        public var sizeBytes: Int
        public var isLocal: Bool
        public var inBucket: Bool
        public var state: State
        /// Seconds since the epoch.
        public var uploadedAt: Double?
        public var deletionMarkedAt: Double?
        public var noCompactMarkedAt: Double?
        /// The bucket's `meta.json`, cached (it never changes for a ULID).
        public var bucketMetaJSON: String?
    }

    public struct Attempt: Sendable, Equatable {
        public var ulid: String
        public var startedAt: Double
        public var finishedAt: Double?
        /// `running`, `uploaded`, `failed`, or `interrupted` (the process stopped mid-upload).
        public var outcome: String
        public var error: String?
    }

    public let path: String
    /// Why the catalog was created afresh at open (missing, damaged, newer schema), or nil when
    /// an existing one opened cleanly. When set, `rebuild` must run before the catalog is trusted.
    public let recreatedBecause: String?
    private let connection: Mutex<SQLiteConnection>

    /// Opens (creating, migrating or replacing) the catalog in `dataDir`. A damaged file is moved
    /// aside to `catalog.sqlite.corrupt` for inspection, never silently reused.
    public init(dataDir: String) throws {
        path = dataDir + "/" + Self.fileName
        let existed = FileManager.default.fileExists(atPath: path)
        var reason: String? = existed ? nil : "no catalog yet"
        var conn: SQLiteConnection
        do {
            conn = try SQLiteConnection(path: path)
            try Self.prepare(conn)
        } catch {
            reason = "catalog unusable (\(error)); moved aside to \(Self.fileName).corrupt"
            try Self.moveAside(path)
            conn = try SQLiteConnection(path: path)
            try Self.prepare(conn)
        }
        // Attempts still running were cut short by a crash: say so, and let the next pass redo them.
        try conn.exec("""
            UPDATE uploads SET outcome = 'interrupted' WHERE outcome = 'running';
            UPDATE blocks SET state = 'local' WHERE state = 'uploading';
            """)
        recreatedBecause = reason
        connection = Mutex(conn)
    }

    /// Checks the file, sets WAL mode and runs migrations; throws if the file is not usable.
    private static func prepare(_ conn: SQLiteConnection) throws {
        try conn.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON")
        var check: [String] = []
        try conn.query("PRAGMA quick_check") { check.append($0.text(0) ?? "") }
        guard check == ["ok"] else { throw SQLiteError(code: 11, message: "quick_check: \(check.prefix(3).joined(separator: "; "))") }
        var version: Int64 = 0
        try conn.query("PRAGMA user_version") { version = $0.int(0) }
        guard version <= Int64(migrations.count) else {
            throw SQLiteError(code: 0, message: "schema version \(version) is newer than this Strata's \(migrations.count)")
        }
        for (i, sql) in migrations.enumerated().dropFirst(Int(version)) {
            try conn.transaction {
                try conn.exec(sql)
                try conn.exec("PRAGMA user_version = \(i + 1)")
            }
        }
    }

    private static func moveAside(_ path: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: path + ".corrupt")
        if fm.fileExists(atPath: path) { try fm.moveItem(atPath: path, toPath: path + ".corrupt") }
        for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: path + suffix) }
    }

    /// Schema versions, in order; `PRAGMA user_version` counts those applied. Append, never edit.
    static let migrations: [String] = [
        """
        CREATE TABLE blocks (
            ulid TEXT PRIMARY KEY,
            min_time INTEGER NOT NULL,
            max_time INTEGER NOT NULL,
            level INTEGER NOT NULL,
            resolution INTEGER NOT NULL DEFAULT 0,
            labels TEXT NOT NULL DEFAULT '{}',
            num_samples INTEGER NOT NULL DEFAULT 0,
            size_bytes INTEGER NOT NULL DEFAULT 0,
            is_local INTEGER NOT NULL DEFAULT 0,
            in_bucket INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            uploaded_at REAL,
            deletion_marked_at REAL,
            no_compact_marked_at REAL,
            bucket_meta TEXT
        );
        CREATE TABLE uploads (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ulid TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            outcome TEXT NOT NULL,
            error TEXT
        );
        CREATE INDEX uploads_by_block ON uploads(ulid);
        CREATE TABLE catalog_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ]

    private func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { try body($0) }
    }

    /// Counts writes, so readers of the catalog (the bucket store) know when to look again.
    private let writes = Atomic<UInt64>(0)
    public var generation: UInt64 { writes.load(ordering: .acquiring) }

    private func withWrite<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        defer { writes.add(1, ordering: .releasing) }
        return try withConnection(body)
    }

    // MARK: reads

    public func blocks() throws -> [Block] { try select("") }

    public func block(_ ulid: String) throws -> Block? { try select("WHERE ulid = ?", [.text(ulid)]).first }

    /// Blocks in the data directory whose upload finished.
    public func uploadedLocalBlocks() throws -> Set<String> {
        Set(try select("WHERE is_local = 1 AND state = 'uploaded'").map(\.ulid))
    }

    public func attempts(_ ulid: String) throws -> [Attempt] {
        try withConnection { c in
            var out: [Attempt] = []
            try c.query("SELECT ulid, started_at, finished_at, outcome, error FROM uploads WHERE ulid = ? ORDER BY id", [.text(ulid)]) { r in
                out.append(Attempt(ulid: r.text(0) ?? "", startedAt: r.double(1), finishedAt: r.isNull(2) ? nil : r.double(2),
                                   outcome: r.text(3) ?? "", error: r.text(4)))
            }
            return out
        }
    }

    private func select(_ clause: String, _ binds: [SQLiteValue] = []) throws -> [Block] {
        try withConnection { c in
            var out: [Block] = []
            let sql = """
                SELECT ulid, min_time, max_time, level, resolution, labels, num_samples, size_bytes, is_local, in_bucket,
                       state, uploaded_at, deletion_marked_at, no_compact_marked_at, bucket_meta
                FROM blocks \(clause) ORDER BY min_time, ulid
                """
            try c.query(sql, binds) { r in
                let labels = (r.text(5).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: String]) ?? [:]
                out.append(Block(ulid: r.text(0) ?? "", minTime: r.int(1), maxTime: r.int(2), level: Int(r.int(3)), resolution: r.int(4),
                                 labels: labels, numSamples: Int(r.int(6)), sizeBytes: Int(r.int(7)), isLocal: r.int(8) != 0,
                                 inBucket: r.int(9) != 0, state: State(rawValue: r.text(10) ?? "") ?? .local,
                                 uploadedAt: r.isNull(11) ? nil : r.double(11), deletionMarkedAt: r.isNull(12) ? nil : r.double(12),
                                 noCompactMarkedAt: r.isNull(13) ? nil : r.double(13), bucketMetaJSON: r.text(14)))
            }
            return out
        }
    }

    // MARK: writes

    /// Records a block found in the data directory. An existing row keeps its state unless it
    /// says the block is gone (it came back: a restore), or `state` is given.
    public func recordLocal(_ meta: BlockMeta, sizeBytes: Int, state: State? = nil) throws {
        let initial = state ?? (Shipper.ships(meta) ? .local : .skipped)
        try withWrite { c in
            try c.query("""
                INSERT INTO blocks (ulid, min_time, max_time, level, num_samples, size_bytes, is_local, state)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?)
                ON CONFLICT(ulid) DO UPDATE SET is_local = 1, size_bytes = excluded.size_bytes,
                    state = CASE WHEN ?8 IS NOT NULL THEN ?8 WHEN state = 'deleted' THEN excluded.state ELSE state END
                """, [.text(meta.ulid), .int(meta.minTime), .int(meta.maxTime), .int(Int64(meta.compaction.level)),
                      .int(Int64(meta.stats.numSamples)), .int(Int64(sizeBytes)), .text(initial.rawValue), .optional(state?.rawValue)])
        }
    }

    /// Records a complete block seen in the bucket, with its `meta.json` as uploaded.
    public func recordInBucket(_ meta: BlockMeta, metaJSON: String, uploadedAt: Double?, deletionMarkedAt: Double? = nil,
                               noCompactMarkedAt: Double? = nil) throws {
        let thanos = ThanosMeta.from(meta)
        let labels = Self.json(thanos?.labels ?? [:])
        try withWrite { c in
            try c.query("""
                INSERT INTO blocks (ulid, min_time, max_time, level, resolution, labels, num_samples, in_bucket, state,
                                    uploaded_at, deletion_marked_at, no_compact_marked_at, bucket_meta)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'uploaded', ?, ?, ?, ?)
                ON CONFLICT(ulid) DO UPDATE SET in_bucket = 1, state = 'uploaded', resolution = excluded.resolution,
                    labels = excluded.labels, uploaded_at = COALESCE(uploaded_at, excluded.uploaded_at),
                    deletion_marked_at = excluded.deletion_marked_at, no_compact_marked_at = excluded.no_compact_marked_at,
                    bucket_meta = excluded.bucket_meta
                """, [.text(meta.ulid), .int(meta.minTime), .int(meta.maxTime), .int(Int64(meta.compaction.level)),
                      .int(thanos?.resolution ?? 0), .text(labels), .int(Int64(meta.stats.numSamples)), .optional(uploadedAt),
                      .optional(deletionMarkedAt), .optional(noCompactMarkedAt), .text(metaJSON)])
        }
    }

    /// Opens an upload attempt (state `uploading`) and returns its id.
    public func uploadStarted(_ ulid: String, at time: Double = Date().timeIntervalSince1970) throws -> Int64 {
        try withWrite { c in
            try c.transaction {
                try c.query("UPDATE blocks SET state = 'uploading' WHERE ulid = ?", [.text(ulid)])
                try c.query("INSERT INTO uploads (ulid, started_at, outcome) VALUES (?, ?, 'running')", [.text(ulid), .double(time)])
                var id: Int64 = 0
                try c.query("SELECT last_insert_rowid()") { id = $0.int(0) }
                return id
            }
        }
    }

    /// Closes an attempt: `error == nil` means the block is now in the bucket with `metaJSON`.
    public func uploadFinished(_ attempt: Int64, ulid: String, error: String?, metaJSON: String? = nil,
                               labels: [String: String] = [:], at time: Double = Date().timeIntervalSince1970) throws {
        try withWrite { c in
            try c.transaction {
                try c.query("UPDATE uploads SET finished_at = ?, outcome = ?, error = ? WHERE id = ?",
                            [.double(time), .text(error == nil ? "uploaded" : "failed"), .optional(error), .int(attempt)])
                if error == nil {
                    try c.query("UPDATE blocks SET state = 'uploaded', in_bucket = 1, uploaded_at = ?, bucket_meta = ?, labels = ? WHERE ulid = ?",
                                [.double(time), .optional(metaJSON), .text(Self.json(labels)), .text(ulid)])
                } else {
                    try c.query("UPDATE blocks SET state = 'local' WHERE ulid = ? AND state = 'uploading'", [.text(ulid)])
                }
            }
        }
    }

    /// Marks a block found in the bucket already (a previous run uploaded it).
    public func markUploaded(_ ulid: String) throws {
        try withWrite { c in
            try c.query("UPDATE blocks SET state = 'uploaded', in_bucket = 1 WHERE ulid = ?", [.text(ulid)])
        }
    }

    public func markCorrupt(_ ulid: String, error: String) throws {
        try withWrite { c in
            try c.transaction {
                try c.query("UPDATE blocks SET state = 'corrupt' WHERE ulid = ?", [.text(ulid)])
                let now = Date().timeIntervalSince1970
                try c.query("INSERT INTO uploads (ulid, started_at, finished_at, outcome, error) VALUES (?, ?, ?, 'failed', ?)",
                            [.text(ulid), .double(now), .double(now), .text("verification: " + error)])
            }
        }
    }

    /// The block left the data directory (retention, compaction).
    public func removedLocally(_ ulid: String) throws {
        try withWrite { c in
            try c.query("UPDATE blocks SET is_local = 0, state = CASE WHEN in_bucket = 1 THEN state ELSE 'deleted' END WHERE ulid = ?",
                        [.text(ulid)])
        }
    }

    /// The block is no longer in the bucket (deleted there by a compactor or by hand). A local
    /// copy keeps its state: an uploaded block is not uploaded again, as in Thanos.
    public func droppedFromBucket(_ ulid: String) throws {
        try withWrite { c in
            try c.query("""
                UPDATE blocks SET in_bucket = 0, bucket_meta = NULL, deletion_marked_at = NULL, no_compact_marked_at = NULL,
                    state = CASE WHEN is_local = 1 THEN state ELSE 'deleted' END
                WHERE ulid = ?
                """, [.text(ulid)])
        }
    }

    /// Forgets blocks that are neither local nor in the bucket, with their attempts.
    public func pruneDeleted() throws {
        try withWrite { c in
            try c.transaction {
                try c.exec("DELETE FROM uploads WHERE ulid IN (SELECT ulid FROM blocks WHERE state = 'deleted')")
                try c.exec("DELETE FROM blocks WHERE state = 'deleted'")
            }
        }
    }

    public func setState(_ key: String, _ value: String) throws {
        try withWrite { c in
            try c.query("INSERT INTO catalog_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [.text(key), .text(value)])
        }
    }

    public func state(_ key: String) throws -> String? {
        try withConnection { c in
            var value: String?
            try c.query("SELECT value FROM catalog_state WHERE key = ?", [.text(key)]) { value = $0.text(0) }
            return value
        }
    }

    static func json(_ labels: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
