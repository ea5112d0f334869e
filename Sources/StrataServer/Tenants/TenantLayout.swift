import StrataBlock
import StrataBlockStore
import StrataHTTPAPI
import StrataTSDB

/// Where tenants live in the data directory: `<tsdb.path>/<tenant>/`, beside the server's own
/// entries (`lock`, the block catalog, the bucket page cache, the compactor's work directory,
/// snapshots), whose names no tenant may take (`TenantOptions.reservedNames`).
enum TenantLayout {
    /// The tenants whose directories are in `root`: names a tenant may have, holding a WAL or a
    /// block (a snapshot's tenants have blocks only).
    static func tenants(in root: String) throws -> [String] {
        try FileSystem.list(root).filter { name in
            let dir = root + "/" + name
            guard TenantOptions.problem(name) == nil, FileSystem.isDirectory(dir) else { return false }
            if FileSystem.isDirectory(dir + "/wal") { return true }
            return ((try? FileSystem.list(dir)) ?? []).contains { ULID.isValid($0) && FileSystem.isDirectory(dir + "/" + $0) }
        }.sorted()
    }

    /// The entries of a single-tenant data directory (Strata before tenants, Prometheus,
    /// `promtool tsdb create-blocks-from`): the WAL, blocks and their leftovers, the head
    /// snapshot and the shipper's state.
    static func singleTenantEntries(in root: String) throws -> [String] {
        try FileSystem.list(root).filter { name in
            if name == "wal" || name == HeadSnapshot.fileName || name == Shipper.stateFile { return true }
            let ulid = name.hasSuffix(BlockWriter.tmpForCreation) ? String(name.dropLast(BlockWriter.tmpForCreation.count))
                : name.hasSuffix(BlockWriter.tmpForDeletion) ? String(name.dropLast(BlockWriter.tmpForDeletion.count)) : name
            return ULID.isValid(ulid) && FileSystem.isDirectory(root + "/" + name)
        }.sorted()
    }

    /// Moves a single-tenant layout into `<root>/<tenant>/` (Thanos Receive moves it the same
    /// way) and returns what it moved, nil when there was nothing to move. Each entry is one
    /// rename, so a crash midway leaves entries in both places and the next start moves the rest;
    /// an entry already in the tenant's directory is an error, not overwritten.
    static func migrateSingleTenant(root: String, into tenant: String) throws -> [String]? {
        guard FileSystem.isDirectory(root) else { return nil }
        let entries = try singleTenantEntries(in: root)
        if entries.isEmpty { return nil }
        let target = root + "/" + tenant
        try FileSystem.mkdirAll(target)
        for name in entries {
            if FileSystem.exists(target + "/" + name) {
                throw ConfigError("\(root)/\(name) and \(target)/\(name) both exist: the data directory holds a single-tenant layout and a tenant's directory at once; move one of them away")
            }
            try FileSystem.rename(root + "/" + name, target + "/" + name)
        }
        // The shipper's staging area is rebuilt on demand.
        try? FileSystem.removeAll(root + "/thanos")
        try FileSystem.syncDir(target)
        try FileSystem.syncDir(root)
        return entries
    }
}
