import CStrataSupport
import Foundation
import Synchronization

/// A disk cache of fixed-size pages of bucket objects, bounded in bytes and evicted least
/// recently used first: what lets a query read a bucket block's index and chunks by ranged GETs
/// without fetching a page twice. Each page is a file `<object hash>-<page>` holding the bytes
/// and a CRC32C, so a page torn by a crash is refetched, never served. The most recently used
/// pages are also kept in memory (up to `memoryBytes`), so a warm query reads no files. The cache
/// is only a cache: its directory may be deleted whenever the server is stopped.
public final class PageCache: Sendable {
    public let dir: String
    public let pageSize: Int
    public let capacityBytes: Int
    /// Bytes of pages kept in memory in front of the disk.
    public let memoryBytes: Int
    public let stats = Stats()

    public final class Stats: Sendable {
        public let hits = Atomic<Int>(0)
        public let misses = Atomic<Int>(0)
        /// Bytes fetched from the bucket to fill pages.
        public let fetchedBytes = Atomic<Int>(0)
        public let evictions = Atomic<Int>(0)
        /// Pages found damaged on disk and fetched again.
        public let corruptPages = Atomic<Int>(0)
    }

    private struct Entry {
        var size: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var memory: [String: (page: [UInt8], lastUse: UInt64)] = [:]
        var memoryBytes = 0
    }

    private let state = Mutex(State())

    /// Opens (creating) the cache in `dir`, taking in the pages already there (oldest first)
    /// and evicting down to `capacityBytes`.
    public init(dir: String, pageSize: Int = 64 << 10, capacityBytes: Int, memoryBytes: Int = 256 << 20) throws {
        precondition(pageSize > 0 && capacityBytes >= 0)
        self.dir = dir
        self.pageSize = pageSize
        self.capacityBytes = capacityBytes
        self.memoryBytes = min(memoryBytes, capacityBytes)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var found: [(name: String, size: Int, modified: Date)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let path = dir + "/" + name
            if name.hasPrefix(".") { try? FileManager.default.removeItem(atPath: path); continue } // a write cut short
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            found.append((name, (a[.size] as? Int) ?? 0, (a[.modificationDate] as? Date) ?? .distantPast))
        }
        state.withLock { s in
            for f in found.sorted(by: { $0.modified < $1.modified }) {
                s.clock += 1
                s.entries[f.name] = Entry(size: f.size, lastUse: s.clock)
                s.bytes += f.size
            }
        }
        evict()
    }

    /// Bytes the cached pages take on disk.
    public var sizeBytes: Int { state.withLock { $0.bytes } }
    public var pageCount: Int { state.withLock { $0.entries.count } }

    /// Pages `pages` of `object`, from memory or disk where cached, the others fetched by
    /// `fetch` (given the first page and how many follow, it returns their bytes, concatenated;
    /// only the last page of an object may be short) in as few calls as contiguous runs allow.
    /// A run that reaches the end of `pages` also takes up to `readahead` more uncached pages
    /// (below `pageLimit`, the object's page count): readers walk indexes and chunk segments
    /// forward, and one larger request costs far less than many small ones.
    public func pages(_ object: String, _ pages: ClosedRange<Int>, pageLimit: Int = .max, readahead: Int = 0,
                      fetch: (Int, Int) throws -> [UInt8]) throws -> [[UInt8]] {
        let prefix = Self.key(object)
        func name(_ page: Int) -> String { prefix + "-" + String(page) }
        var out = [[UInt8]?](repeating: nil, count: pages.count)
        for (i, page) in pages.enumerated() { out[i] = read(name(page)) }
        var i = 0
        while i < out.count {
            guard out[i] == nil else { i += 1; continue }
            var j = i
            while j < out.count && out[j] == nil { j += 1 }
            var extra = 0
            if j == out.count {
                let cached = state.withLock { s in (0 ..< readahead).map { s.entries[name(pages.upperBound + 1 + $0)] != nil } }
                while extra < readahead && pages.upperBound + 1 + extra < pageLimit && !cached[extra] { extra += 1 }
            }
            let first = pages.lowerBound + i
            let bytes = try fetch(first, j - i + extra)
            stats.fetchedBytes.add(bytes.count, ordering: .relaxed)
            stats.misses.add(j - i + extra, ordering: .relaxed)
            for k in 0 ..< j - i + extra {
                let start = k * pageSize
                guard start < bytes.count || (k == 0 && bytes.isEmpty) else { break }
                let page = Array(bytes[min(start, bytes.count) ..< min(start + pageSize, bytes.count)])
                if i + k < out.count { out[i + k] = page }
                write(name(first + k), page)
            }
            i = j
        }
        return try out.map {
            guard let page = $0 else { throw CacheError("\(object): the bucket returned fewer bytes than asked for") }
            return page
        }
    }

    struct CacheError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// A stable file name for an object (names may hold `/` and be long).
    static func key(_ object: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64, twice with different seeds: 128 bits
        var g: UInt64 = 0x6c62_272e_07bb_0142
        for b in object.utf8 {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
            g = (g ^ UInt64(b)) &* 0x0000_0100_0000_01b3 &+ 1
        }
        return String(h, radix: 16) + String(g, radix: 16)
    }

    /// The page's bytes if cached and intact (a damaged file is dropped).
    private func read(_ name: String) -> [UInt8]? {
        enum Found { case memory([UInt8]), disk, none }
        let found = state.withLock { s -> Found in
            guard s.entries[name] != nil else { return .none }
            s.clock += 1
            s.entries[name]?.lastUse = s.clock
            if let m = s.memory[name] {
                s.memory[name]?.lastUse = s.clock
                return .memory(m.page)
            }
            return .disk
        }
        switch found {
        case .none: return nil
        case .memory(let page):
            stats.hits.add(1, ordering: .relaxed)
            return page
        case .disk: break
        }
        guard let data = FileManager.default.contents(atPath: dir + "/" + name), data.count >= 4 else {
            forget(name, corrupt: true)
            return nil
        }
        let bytes = [UInt8](data)
        let payload = bytes.count - 4
        let stored = UInt32(bytes[payload]) << 24 | UInt32(bytes[payload + 1]) << 16 | UInt32(bytes[payload + 2]) << 8 | UInt32(bytes[payload + 3])
        let crc = bytes.withUnsafeBytes { strata_crc32c_update(0, $0.baseAddress, payload) }
        guard crc == stored else {
            forget(name, corrupt: true)
            return nil
        }
        stats.hits.add(1, ordering: .relaxed)
        let page = Array(bytes[..<payload])
        remember(name, page)
        return page
    }

    /// Keeps a page in memory, evicting the least recently used ones beyond `memoryBytes`.
    private func remember(_ name: String, _ page: [UInt8]) {
        state.withLock { s in
            guard s.entries[name] != nil, page.count <= memoryBytes else { return }
            s.clock += 1
            if let old = s.memory[name] { s.memoryBytes -= old.page.count }
            s.memory[name] = (page, s.clock)
            s.memoryBytes += page.count
            guard s.memoryBytes > memoryBytes else { return }
            // Down to 90%, so the sort is paid once per many pages, not on every insert.
            for (victim, entry) in s.memory.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                if s.memoryBytes <= memoryBytes * 9 / 10 { break }
                s.memory.removeValue(forKey: victim)
                s.memoryBytes -= entry.page.count
            }
        }
    }

    /// Stores a page (through a temporary name, so a reader never sees half of one) and evicts
    /// what no longer fits. A page that cannot be written is simply not cached.
    private func write(_ name: String, _ page: [UInt8]) {
        guard page.count + 4 <= capacityBytes else { return }
        var bytes = page
        let crc = page.withUnsafeBytes { strata_crc32c_update(0, $0.baseAddress, page.count) }
        bytes += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        let tmp = dir + "/." + name + "." + UUID().uuidString
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)), rename(tmp, dir + "/" + name) == 0 else {
            try? FileManager.default.removeItem(atPath: tmp)
            return
        }
        state.withLock { s in
            s.clock += 1
            if let old = s.entries[name] { s.bytes -= old.size }
            s.entries[name] = Entry(size: bytes.count, lastUse: s.clock)
            s.bytes += bytes.count
        }
        remember(name, page)
        evict()
    }

    private func forget(_ name: String, corrupt: Bool) {
        state.withLock { s in
            if let e = s.entries.removeValue(forKey: name) { s.bytes -= e.size }
            if let m = s.memory.removeValue(forKey: name) { s.memoryBytes -= m.page.count }
        }
        try? FileManager.default.removeItem(atPath: dir + "/" + name)
        if corrupt { stats.corruptPages.add(1, ordering: .relaxed) }
    }

    /// Least recently used pages out until the cache fits its capacity (down to 90% of it, so
    /// the sort is paid once per many pages, not on every write).
    private func evict() {
        let doomed: [String] = state.withLock { s in
            guard s.bytes > capacityBytes else { return [] }
            var out: [String] = []
            for (name, e) in s.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                if s.bytes <= capacityBytes * 9 / 10 { break }
                s.entries.removeValue(forKey: name)
                s.bytes -= e.size
                if let m = s.memory.removeValue(forKey: name) { s.memoryBytes -= m.page.count }
                out.append(name)
            }
            return out
        }
        for name in doomed { try? FileManager.default.removeItem(atPath: dir + "/" + name) }
        stats.evictions.add(doomed.count, ordering: .relaxed)
    }
}
