import Logging
import StrataBlockStore
import StrataModel
import StrataTSDB
import Synchronization

/// One tenant's time-series database, as Thanos Receive keeps one per tenant: its own directory
/// (`<tsdb.path>/<tenant>/`: WAL, head snapshot, blocks, `thanos.shipper.json`), head, WAL
/// replay, retention and shipper. Its external labels (`--label` plus the tenant label) are
/// not stored in its series: they go into the `meta.json` of the blocks it ships and are
/// attached to its series at query time.
public final class TenantTSDB: Sendable {
    public let name: String
    public let dir: String
    /// Nil once the tenant is closed for being idle: its head was flushed into blocks and its
    /// WAL removed; its blocks stay queryable, and its next write opens it again.
    public let wal: WAL?
    public let head: Head
    public let db: DB
    public let shipper: Shipper?
    /// `--label` plus `<tenant label>=<name>` (the tenant label wins a clash, as in Thanos).
    public let externalLabels: [String: String]
    /// The same, as attached to series at query time.
    public let labels: Labels
    /// Whether the WAL found at start has been replayed into the head (a tenant created by a
    /// write has none to replay).
    let replayed: Atomic<Bool>
    /// When a write last asked for an appender (ms since the epoch): what idleness is measured from.
    let lastWriteMillis: Atomic<Int64>

    init(name: String, dir: String, wal: WAL?, head: Head, db: DB, shipper: Shipper?, externalLabels: [String: String], replayed: Bool) {
        self.name = name; self.dir = dir; self.wal = wal; self.head = head; self.db = db; self.shipper = shipper
        self.externalLabels = externalLabels
        self.labels = Labels(externalLabels)
        self.replayed = Atomic(replayed)
        self.lastWriteMillis = Atomic(WallClock.nowMillis())
    }

    public var isClosed: Bool { wal == nil }

    /// The WAL's directory.
    public var walDir: String { dir + "/wal" }

    /// WAL segments written before this start, still to be replayed into the head.
    var segmentsToReplay: [Int] {
        guard let wal else { return [] }
        return ((try? WALSegments.list(walDir)) ?? []).map(\.index).filter { $0 < wal.segmentIndex }
    }
}

extension Logger {
    /// This logger with a `tenant` field on every line.
    func with(tenant: String) -> Logger {
        var l = self
        l[metadataKey: "tenant"] = "\(tenant)"
        return l
    }
}
