import ArgumentParser
import Foundation
import StrataBlock
import StrataModel
import StrataPromQLParser
import StrataRuntime
import StrataServer
import StrataTSDB
import StrataTools

struct TSDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsdb",
        abstract: "Inspect a data directory (the same reports as promtool tsdb).",
        subcommands: [ListBlocks.self, AnalyzeBlock.self, DumpSamples.self, ImportCommand.self, WALInspect.self]
    )
}

/// A server's data directory keeps each tenant's TSDB in a directory of its own and has no
/// blocks or WAL at its top: name the tenants instead of reporting an empty directory.
func requireTenantDirectory(_ dir: String) throws {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: dir), !names.contains("wal"), !names.contains(where: ULID.isValid) else { return }
    let tenants = names.filter { name in
        fm.fileExists(atPath: dir + "/" + name + "/wal")
            || ((try? fm.contentsOfDirectory(atPath: dir + "/" + name)) ?? []).contains(where: ULID.isValid)
    }.sorted()
    guard let first = tenants.first else { return }
    throw ValidationError("\(dir) is a data directory with tenants (\(tenants.joined(separator: ", "))): pass one tenant's directory, e.g. \(dir)/\(first)")
}

struct WALInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal-inspect",
        abstract: "Print the WAL's segments: records by type, series and sample counts, first and last timestamps.",
        discussion: "DIR is a data directory (its wal/ is read) or a WAL directory itself. Read-only; safe on a running server."
    )

    @Argument(help: "Data directory or WAL directory.")
    var dir: String

    func run() throws {
        try requireTenantDirectory(dir)
        print(try WALInspection.inspect(dataOrWALDir: dir).report(), terminator: "")
    }
}

struct ListBlocks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the blocks of a data directory, as promtool tsdb list does.",
        discussion: "Read-only; safe on a running server."
    )

    @Flag(name: [.customShort("r"), .customLong("human-readable")], help: "Print times as dates and sizes with units.")
    var humanReadable = false

    @Argument(help: "Data directory.")
    var dir = "./data"

    func run() throws {
        try requireTenantDirectory(dir)
        print(try BlockInspection.list(dir: dir, humanReadable: humanReadable), terminator: "")
    }
}

struct AnalyzeBlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Label and churn statistics of one block (the newest by default), as promtool tsdb analyze prints them.",
        discussion: "Read-only; safe on a running server."
    )

    @Option(help: "How many entries each list shows.")
    var limit = 20

    @Argument(help: "Data directory.")
    var dir = "./data"

    @Argument(help: "Block ULID (default: the newest block).")
    var blockID: String?

    func run() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        try requireTenantDirectory(dir)
        print(try BlockInspection.analyze(dir: dir, blockID: blockID, limit: limit), terminator: "")
    }
}

struct DumpSamples: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every sample in the blocks and the WAL as `labels value timestamp`, as promtool tsdb dump does.",
        discussion: "Read-only (a damaged WAL tail is reported, not repaired); safe on a running server."
    )

    @Option(name: .customLong("min-time"), help: "Earliest timestamp to print (ms).")
    var minTime = Int64.min

    @Option(name: .customLong("max-time"), help: "Latest timestamp to print (ms).")
    var maxTime = Int64.max

    @Option(name: .customLong("match"), help: "Series selector, e.g. 'up{job=\"api\"}' (default: every series).")
    var match: String?

    @Argument(help: "Data directory.")
    var dir = "./data"

    func run() throws {
        var matchers: [LabelMatcher] = []
        if let match {
            do { matchers = try PromQLParser.parseMetricSelector(match) } catch {
                throw ValidationError("invalid --match: \(error)")
            }
        }
        try requireTenantDirectory(dir)
        try BlockInspection.dump(dir: dir, mint: minTime, maxt: maxTime, matchers: matchers) { print($0, terminator: "") }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write blocks from other formats (backfill).",
        subcommands: [ImportOpenMetrics.self]
    )
}

struct ImportOpenMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openmetrics",
        abstract: "Write blocks from an OpenMetrics text file, as promtool tsdb create-blocks-from openmetrics does.",
        discussion: """
            Every sample needs a timestamp and the file must end with '# EOF'. One block is written per \
            aligned --block-duration window. Write into an empty directory and move the blocks into a \
            stopped server's tenant directory (<tsdb.path>/default-tenant, or another tenant's), or start a \
            server on the output directory (its blocks become the default tenant's): they are served and \
            compacted like any other.
            """
    )

    @Option(name: .customLong("block-duration"), help: "Width of the aligned window each block covers (Prometheus duration).")
    var blockDuration = "2h"

    @Argument(help: "OpenMetrics text file.")
    var file: String

    @Argument(help: "Output directory (created if missing). A data directory a server is using is refused.")
    var dir: String

    func run() throws {
        guard let bd = DurationFlag.parse(blockDuration), bd > 0 else { throw ValidationError("invalid --block-duration \"\(blockDuration)\"") }
        // A running server holds its data directory's lock: blocks written under it would appear
        // while it plans compactions and retention. Held until the import is done.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lock: DirectoryLock
        do { lock = try DirectoryLock.acquire(dir: dir) } catch {
            throw ValidationError("\(error): import into another directory and move the blocks in while the server is stopped")
        }
        defer { lock.release() }
        // A tenant's directory (`<tsdb.path>/<tenant>`): the server's lock is one level up.
        let parent = URL(fileURLWithPath: dir).standardizedFileURL.deletingLastPathComponent().path
        var serverLock: DirectoryLock?
        if FileManager.default.fileExists(atPath: parent + "/" + DirectoryLock.fileName) {
            do { serverLock = try DirectoryLock.acquire(dir: parent) } catch {
                throw ValidationError("\(error): import into another directory and move the blocks in while the server is stopped")
            }
        }
        defer { serverLock?.release() }
        let existing = (try? DB(dir: dir, head: Head(), readOnly: true).blocks.map(\.meta)) ?? []
        let r = try OpenMetricsImport.run(file: file, outputDir: dir, blockDuration: bd)
        let new = Set(r.blocks.map(\.ulid))
        for b in r.blocks {
            for old in existing where !new.contains(old.ulid) && old.minTime < b.maxTime && b.minTime < old.maxTime {
                FileHandle.standardError.write(Data("warning: new block \(b.ulid) overlaps block \(old.ulid) already in \(dir); queries read overlapping samples once, and compaction merges the blocks\n".utf8))
            }
        }
        print("wrote \(r.blocks.count) blocks with \(r.samples) samples to \(dir)")
        if !r.blocks.isEmpty { print(try BlockInspection.list(dir: dir), terminator: "") }
    }
}
