#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock
import StrataStorage

extension DB: TSDBAdmin {
    /// Prometheus' TSDB snapshot (`POST /api/v1/admin/tsdb/snapshot`): every block hard-linked
    /// (blocks never change, so links are a consistent copy that costs no space) and, unless
    /// `skipHead`, the head written as one more block, under `snapshots/<time>-<random hex>`.
    /// The result is a data directory Strata or Prometheus can be started on.
    public func snapshot(skipHead: Bool) throws -> String {
        let name = Self.snapshotName()
        try snapshot(into: dir + "/snapshots/" + name, skipHead: skipHead)
        return name
    }

    /// The same snapshot into the directory `target` (created; its parent synced too).
    public func snapshot(into target: String, skipHead: Bool) throws {
        // Not while a compaction moves data from the head into a new block (it could be in
        // neither list) or a merge or retention deletes a block being linked.
        try maintenance.withLock { _ in try snapshotLocked(into: target, skipHead: skipHead) }
    }

    private func snapshotLocked(into target: String, skipHead: Bool) throws {
        try FileSystem.mkdirAll(target)
        do {
            for b in blocks {
                let to = target + "/" + b.ulid
                try FileSystem.mkdirAll(to + "/chunks")
                for f in [BlockMeta.fileName, "index", Tombstones.fileName] where FileSystem.exists(b.dir + "/" + f) {
                    try FileSystem.link(b.dir + "/" + f, to + "/" + f)
                }
                for seg in try FileSystem.list(b.dir + "/chunks") { try FileSystem.link(b.dir + "/chunks/" + seg, to + "/chunks/" + seg) }
                try FileSystem.syncDir(to + "/chunks")
                try FileSystem.syncDir(to)
            }
            let lo = head.mint, hi = head.maxt
            if !skipHead && lo != .max && hi != .min && hi < .max && lo <= hi {
                _ = try head.writeBlock(parentDir: target, mint: lo, maxt: hi + 1)
            }
            try FileSystem.syncDir(target)
            try FileSystem.syncDir(FileSystem.parent(of: target))
        } catch {
            try? FileSystem.removeAll(target)
            throw error
        }
    }

    /// `20261127T212500Z-0123456789abcdef`, as Prometheus names snapshots.
    public static func snapshotName() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let stamp = "\(tmv.tm_year + 1900)\(two(tmv.tm_mon + 1))\(two(tmv.tm_mday))T\(two(tmv.tm_hour))\(two(tmv.tm_min))\(two(tmv.tm_sec))Z"
        let hex = String(UInt64.random(in: 0 ... UInt64(Int64.max)), radix: 16)
        return stamp + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
