import FoundationEssentials
import StrataStorage

/// A block's `meta.json` (Prometheus' `BlockMeta`, format version 1).
public struct BlockMeta: Sendable, Codable, Equatable {
    public struct Stats: Sendable, Codable, Equatable {
        public var numSamples: UInt64 = 0
        public var numSeries: UInt64 = 0
        public var numChunks: UInt64 = 0
        public var numTombstones: UInt64 = 0
        public init() {}

        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            numSamples = try c.decodeIfPresent(UInt64.self, forKey: .numSamples) ?? 0
            numSeries = try c.decodeIfPresent(UInt64.self, forKey: .numSeries) ?? 0
            numChunks = try c.decodeIfPresent(UInt64.self, forKey: .numChunks) ?? 0
            numTombstones = try c.decodeIfPresent(UInt64.self, forKey: .numTombstones) ?? 0
        }
    }

    public struct Parent: Sendable, Codable, Equatable {
        public var ulid: String
        public var minTime: Int64
        public var maxTime: Int64
        public init(ulid: String, minTime: Int64, maxTime: Int64) {
            self.ulid = ulid; self.minTime = minTime; self.maxTime = maxTime
        }
    }

    /// A top-level field this type does not model (Thanos' `thanos` section, or a field a newer
    /// Prometheus adds), kept as its JSON text so that rewriting `meta.json` does not drop it.
    public struct ExtraField: Sendable, Equatable {
        public var key: String
        public var json: String
        public init(key: String, json: String) { self.key = key; self.json = json }
    }

    public struct Compaction: Sendable, Codable, Equatable {
        public var level: Int = 1
        public var sources: [String] = []
        public var parents: [Parent]?
        public var deletable: Bool?
        public var failed: Bool?
        public var hints: [String]?
        public init() {}

        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            level = try c.decodeIfPresent(Int.self, forKey: .level) ?? 1
            sources = try c.decodeIfPresent([String].self, forKey: .sources) ?? []
            parents = try c.decodeIfPresent([Parent].self, forKey: .parents)
            deletable = try c.decodeIfPresent(Bool.self, forKey: .deletable)
            failed = try c.decodeIfPresent(Bool.self, forKey: .failed)
            hints = try c.decodeIfPresent([String].self, forKey: .hints)
        }
    }

    public var ulid: String
    /// First sample (inclusive) and end of the range (exclusive), in ms.
    public var minTime: Int64
    public var maxTime: Int64
    public var stats: Stats
    public var compaction: Compaction
    public var version: Int
    /// Unknown top-level fields in file order; written back after `version`.
    public var extraFields: [ExtraField] = []

    private enum CodingKeys: String, CodingKey { case ulid, minTime, maxTime, stats, compaction, version }

    public init(ulid: String, minTime: Int64, maxTime: Int64, stats: Stats = Stats(), compaction: Compaction = Compaction()) {
        self.ulid = ulid; self.minTime = minTime; self.maxTime = maxTime
        self.stats = stats; self.compaction = compaction; self.version = 1
    }

    public static let fileName = "meta.json"

    public static func read(dir: String) throws -> BlockMeta {
        let path = dir + "/" + fileName
        let bytes = try FileSystem.withMappedFile(path) { Data($0) }
        return try parse(bytes, path: path)
    }

    /// Decodes `meta.json` bytes (`path` names them in errors).
    public static func parse(_ bytes: Data, path: String) throws -> BlockMeta {
        var meta: BlockMeta
        do { meta = try JSONDecoder().decode(BlockMeta.self, from: bytes) } catch {
            throw StorageError(.corrupt, "\(path): \(error)")
        }
        let known = Set(["ulid", "minTime", "maxTime", "stats", "compaction", "version"])
        meta.extraFields = TopLevelJSON.fields(Array(bytes)).filter { !known.contains($0.key) }
        guard meta.version == 1 else { throw StorageError(.unsupported, "\(path): unexpected meta file version \(meta.version)") }
        return meta
    }

    /// Writes `meta.json` in `dir` (tmp file, fsync, rename), laid out as Go's
    /// `json.MarshalIndent(meta, "", "\t")` does: Go's field order, `omitempty` fields left out.
    public func write(dir: String) throws {
        let tmp = dir + "/" + Self.fileName + ".tmp"
        let w = try FileWriter(path: tmp)
        try w.write(Array(json().utf8))
        try w.close()
        try FileSystem.rename(tmp, dir + "/" + Self.fileName)
    }

    public func json() -> String {
        var stat: [String] = []
        if stats.numSamples > 0 { stat.append("\"numSamples\": \(stats.numSamples)") }
        if stats.numSeries > 0 { stat.append("\"numSeries\": \(stats.numSeries)") }
        if stats.numChunks > 0 { stat.append("\"numChunks\": \(stats.numChunks)") }
        if stats.numTombstones > 0 { stat.append("\"numTombstones\": \(stats.numTombstones)") }
        var comp = ["\"level\": \(compaction.level)"]
        if !compaction.sources.isEmpty { comp.append("\"sources\": " + Self.list(compaction.sources.map { "\"\($0)\"" }, indent: 2)) }
        if compaction.deletable == true { comp.append("\"deletable\": true") }
        if let parents = compaction.parents, !parents.isEmpty {
            comp.append("\"parents\": " + Self.list(parents.map {
                "{\n\t\t\t\t\"ulid\": \"\($0.ulid)\",\n\t\t\t\t\"minTime\": \($0.minTime),\n\t\t\t\t\"maxTime\": \($0.maxTime)\n\t\t\t}"
            }, indent: 2))
        }
        if compaction.failed == true { comp.append("\"failed\": true") }
        if let hints = compaction.hints, !hints.isEmpty { comp.append("\"hints\": " + Self.list(hints.map { "\"\($0)\"" }, indent: 2)) }
        return """
        {
        \t"ulid": "\(ulid)",
        \t"minTime": \(minTime),
        \t"maxTime": \(maxTime),
        \t"stats": \(Self.object(stat, indent: 1)),
        \t"compaction": \(Self.object(comp, indent: 1)),
        \t"version": \(version)\(extraFields.map { ",\n\t\"\($0.key)\": \($0.json)" }.joined())
        }
        """
    }

    private static func object(_ fields: [String], indent: Int) -> String {
        if fields.isEmpty { return "{}" }
        let pad = String(repeating: "\t", count: indent + 1)
        return "{\n" + fields.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: "\t", count: indent) + "}"
    }

    private static func list(_ items: [String], indent: Int) -> String {
        if items.isEmpty { return "[]" }
        let pad = String(repeating: "\t", count: indent + 1)
        return "[\n" + items.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: "\t", count: indent) + "]"
    }
}

/// The top-level fields of a JSON object as raw text, in order. Only called on bytes that
/// `JSONDecoder` has already accepted, so it need not validate.
enum TopLevelJSON {
    static func fields(_ b: [UInt8]) -> [BlockMeta.ExtraField] {
        var out: [BlockMeta.ExtraField] = []
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        /// Moves past the string starting at `i` (a quote) and returns its raw contents.
        func string() -> String {
            let start = i + 1
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
            return String(decoding: b[start ..< min(i - 1, b.count)], as: UTF8.self)
        }
        /// Moves past one value and returns its text.
        func value() -> String {
            let start = i
            var depth = 0
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") { _ = string(); if depth == 0 { break }; continue }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    if depth == 0 { break }
                    depth -= 1
                    if depth == 0 { i += 1; break }
                } else if c == UInt8(ascii: ","), depth == 0 { break }
                i += 1
            }
            var end = i
            while end > start, b[end - 1] == 0x20 || b[end - 1] == 0x0A || b[end - 1] == 0x0D || b[end - 1] == 0x09 { end -= 1 }
            return String(decoding: b[start ..< end], as: UTF8.self)
        }
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return [] }
        i += 1
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return out }
            let key = string()
            skipSpace()
            i += 1 // ':'
            skipSpace()
            out.append(BlockMeta.ExtraField(key: key, json: value()))
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ",") else { return out }
            i += 1
        }
    }
}
