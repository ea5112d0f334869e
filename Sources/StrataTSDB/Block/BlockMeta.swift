import FoundationEssentials

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

    public init(ulid: String, minTime: Int64, maxTime: Int64, stats: Stats = Stats(), compaction: Compaction = Compaction()) {
        self.ulid = ulid; self.minTime = minTime; self.maxTime = maxTime
        self.stats = stats; self.compaction = compaction; self.version = 1
    }

    public static let fileName = "meta.json"

    public static func read(dir: String) throws -> BlockMeta {
        let path = dir + "/" + fileName
        let bytes = try FileSystem.withMappedFile(path) { Data($0) }
        let meta: BlockMeta
        do { meta = try JSONDecoder().decode(BlockMeta.self, from: bytes) } catch {
            throw BlockError("\(path): \(error)")
        }
        guard meta.version == 1 else { throw BlockError("\(path): unexpected meta file version \(meta.version)") }
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

    func json() -> String {
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
        \t"version": \(version)
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

public struct BlockError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
