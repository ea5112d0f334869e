import ArgumentParser
import Foundation
import Logging
import StrataBlock
import StrataBlockStore
import StrataModel
import StrataObjectStore
import StrataServer
import StrataTools

struct BucketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket",
        abstract: "Inspect and manage the bucket blocks are shipped to, as `thanos tools bucket`.",
        subcommands: [BucketList.self, BucketInspect.self, BucketVerify.self, BucketUpload.self, BucketDownload.self,
                      BucketMark.self, BucketCleanup.self, BucketCompact.self]
    )
}

/// The bucket the `strata bucket` commands read: the objstore flags, or serve's default.
struct BucketOptions: ParsableArguments {
    @Option(name: .customLong("objstore.config-file"), help: "Thanos objstore YAML file.")
    var configFile: String?

    @Option(name: .customLong("objstore.config"), help: "The objstore YAML itself.")
    var config: String?

    @Option(name: .customLong("tsdb.path"), help: "Data directory whose default bucket (<tsdb.path>/bucket) to read without objstore flags.")
    var tsdbPath = "./data"

    func bucket() throws -> any Bucket {
        let yaml: String?
        if let configFile {
            guard let text = try? String(contentsOfFile: configFile, encoding: .utf8) else { throw ValidationError("cannot read --objstore.config-file \(configFile)") }
            yaml = text
        } else {
            yaml = config
        }
        do {
            let parsed = try yaml.map(ObjectStoreConfig.parse) ?? ObjectStoreConfig(provider: .filesystem(directory: tsdbPath + "/bucket"))
            return try parsed.makeBucket()
        } catch { throw ValidationError("objstore: \(error)") }
    }
}

struct BucketList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the blocks in the bucket (partial uploads without meta.json are not blocks)."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: '' (ULIDs), 'wide' (a table) or 'json' (one meta.json per line).")
    var output = ""

    func run() async throws {
        guard let format = BucketInspection.Output(rawValue: output) else { throw ValidationError("invalid --output \"\(output)\": want '', wide or json") }
        print(try await BucketInspection.list(try bucket.bucket(), output: format), terminator: "")
    }
}

struct BucketVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the bucket: missing or wrongly sized files, unreadable indexes, overlapping blocks in one stream (exit status 1), and list partial uploads (notes)."
    )

    @OptionGroup var bucket: BucketOptions

    func run() async throws {
        let report = try await BucketInspection.verify(try bucket.bucket())
        for n in report.notes { print("note: " + n) }
        for p in report.problems { print(p) }
        if !report.problems.isEmpty { throw ExitCode(1) }
        print("no problems found")
    }
}

struct BucketInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Per-block stats of the bucket's blocks, in `thanos tools bucket inspect`'s columns."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: "table, csv or tsv.")
    var output = "table"

    @Option(name: .customLong("selector"), parsing: .singleValue, help: "Only blocks with this external label, name=\"value\" (repeatable).")
    var selector: [String] = []

    func run() async throws {
        guard let format = BucketInspection.InspectOutput(rawValue: output) else { throw ValidationError("invalid --output \"\(output)\": want table, csv or tsv") }
        let labels: [String: String]
        do { labels = try ServerConfig.parseLabels(selector) } catch { throw ValidationError("--selector: \(error)") }
        print(try await BucketInspection.inspect(try bucket.bucket(), selector: labels, output: format), terminator: "")
    }
}

struct BucketUpload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload a block directory, or every block of a data directory, as the shipper does (blocks already in the bucket are skipped)."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: .customLong("path"), help: "A block directory (named by its ULID) or a data directory.")
    var path: String

    @Option(name: .customLong("label"), parsing: .singleValue,
            help: "External label of the uploaded blocks, name=\"value\" (repeatable). Default: tenant_id=\"default-tenant\", the label `strata serve` gives the default tenant's blocks.")
    var labels: [String] = []

    @Flag(name: .customLong("shipper.upload-compacted"), help: "From a data directory, also upload blocks compacted locally (level > 1).")
    var uploadCompacted = false

    func run() async throws {
        var external: [String: String]
        do { external = try ServerConfig.parseLabels(labels) } catch { throw ValidationError("\(error)") }
        if external.isEmpty { external = ["tenant_id": "default-tenant"] }
        let result = try await BucketOperations.upload(path: path, bucket: try bucket.bucket(), labels: external,
                                                       uploadCompacted: uploadCompacted)
        for ulid in result.uploaded { print("uploaded \(ulid)") }
        for ulid in result.alreadyInBucket { print("already in the bucket \(ulid)") }
        for (ulid, why) in result.corrupt.sorted(by: { $0.key < $1.key }) { print("not uploaded \(ulid): \(why)") }
        if !result.corrupt.isEmpty { throw ExitCode(1) }
    }
}

struct BucketDownload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a block from the bucket into a directory (meta.json last)."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: .customLong("id"), help: "The block's ULID.")
    var id: String

    @Option(name: .customLong("dir"), help: "Directory to put the block in (as <dir>/<ULID>).")
    var dir: String

    func run() async throws {
        print(try await BucketOperations.download(try bucket.bucket(), ulid: id, into: dir))
    }
}

struct BucketMark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark",
        abstract: "Mark blocks for deletion, no-compact or no-downsample, as `thanos tools bucket mark` (or remove a mark)."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: .customLong("id"), parsing: .singleValue, help: "Block ULID (repeatable).")
    var ids: [String] = []

    @Option(name: .customLong("marker"), help: "deletion-mark.json, no-compact-mark.json or no-downsample-mark.json.")
    var marker: String

    @Option(name: .customLong("details"), help: "Human-readable details put into the marker.")
    var details = ""

    @Flag(name: .customLong("remove"), help: "Remove the marker instead.")
    var remove = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("at least one --id is required") }
        if BlockMarker.Kind(rawValue: marker) == nil { throw ValidationError("invalid --marker \"\(marker)\": want deletion-mark.json, no-compact-mark.json or no-downsample-mark.json") }
        if !remove && details.isEmpty { throw ValidationError("--details is required when marking") }
    }

    func run() async throws {
        let b = try bucket.bucket()
        guard let kind = BlockMarker.Kind(rawValue: marker) else { return }
        for id in ids {
            switch try await BucketOperations.mark(b, ulid: id, kind: kind, details: details, remove: remove) {
            case .marked: print("marked \(id) with \(marker)")
            case .alreadyMarked: print("\(id) already has \(marker); left as it is")
            case .removed: print("removed \(marker) from \(id)")
            case .notMarked: print("\(id) has no \(marker)")
            }
        }
    }
}

struct BucketCleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Delete blocks whose deletion mark is older than --delete-delay, and partial uploads older than --partial-upload-age."
    )

    @OptionGroup var bucket: BucketOptions

    @Option(name: .customLong("delete-delay"), help: "How long a deletion mark must be in place before the block is deleted (Thanos' default).")
    var deleteDelay = "48h"

    @Option(name: .customLong("partial-upload-age"), help: "How old a partial upload (no meta.json) must be before it is deleted (Thanos' fixed threshold).")
    var partialAge = "48h"

    func run() async throws {
        guard let delay = DurationFlag.parse(deleteDelay), delay >= 0 else { throw ValidationError("invalid --delete-delay \"\(deleteDelay)\"") }
        guard let age = DurationFlag.parse(partialAge), age >= 0 else { throw ValidationError("invalid --partial-upload-age \"\(partialAge)\"") }
        let r = try await BucketOperations.cleanup(try bucket.bucket(), deleteDelay: delay, partialAge: age)
        for ulid in r.deletedMarked { print("deleted \(ulid) (marked for deletion)") }
        for ulid in r.deletedPartial { print("deleted \(ulid) (partial upload)") }
        print("cleanup done: \(r.deletedMarked.count) marked and \(r.deletedPartial.count) partial blocks deleted")
    }
}

/// The compactor's safety and retention flags, under Thanos compactor's names; shared by
/// `strata bucket compact` and `strata serve --compact`.
struct CompactorFlags: ParsableArguments {
    @Option(name: .customLong("delete-delay"),
            help: "How long a block marked for deletion stays before the compactor deletes it (Prometheus duration; readers stop using it after --store.ignore-deletion-marks-delay, 24h).")
    var deleteDelay = "48h"

    @Option(name: .customLong("consistency-delay"),
            help: "Fresh blocks (not written by a compactor) uploaded less than this ago are not compacted yet, and a partial upload younger than this is taken for one in progress (Prometheus duration).")
    var consistencyDelay = "30m"

    @Option(name: .customLong("retention.resolution-raw"), help: "How long raw blocks are kept in the bucket (0d: forever).")
    var retentionRaw = "0d"

    @Option(name: .customLong("retention.resolution-5m"), help: "How long 5m-resolution blocks are kept in the bucket (0d: forever).")
    var retention5m = "0d"

    @Option(name: .customLong("retention.resolution-1h"), help: "How long 1h-resolution blocks are kept in the bucket (0d: forever).")
    var retention1h = "0d"

    @Flag(name: .customLong("downsampling.disable"),
          help: "Do not downsample: no 5m copies of raw blocks spanning 40h or more, no 1h copies of 5m blocks spanning 10d or more. Not recommended: long ranges are then read from raw data.")
    var downsamplingDisable = false

    func options() throws -> BucketCompactor.Options {
        func duration(_ flag: String, _ value: String) throws -> Int64 {
            guard let ms = DurationFlag.parse(value), ms >= 0 else { throw ValidationError("invalid --\(flag) \"\(value)\": want a duration such as 48h or 30d") }
            return ms
        }
        var o = BucketCompactor.Options()
        o.deleteDelay = try duration("delete-delay", deleteDelay)
        o.consistencyDelay = try duration("consistency-delay", consistencyDelay)
        o.retention = [0: try duration("retention.resolution-raw", retentionRaw), 300_000: try duration("retention.resolution-5m", retention5m),
                       3_600_000: try duration("retention.resolution-1h", retention1h)]
        o.downsampling = !downsamplingDisable
        // Thanos refuses retentions that delete data before it can be downsampled; so does Strata.
        if o.downsampling, let raw = o.retention[0], raw != 0, raw < Downsampler.level1Range {
            throw ValidationError("--retention.resolution-raw \(retentionRaw) is shorter than 40h, the block span after which raw data is downsampled to 5m: raise it, set it to 0d, or pass --downsampling.disable")
        }
        if o.downsampling, let fiveMinutes = o.retention[300_000], fiveMinutes != 0, fiveMinutes < Downsampler.level2Range {
            throw ValidationError("--retention.resolution-5m \(retention5m) is shorter than 10d, the block span after which 5m data is downsampled to 1h: raise it, set it to 0d, or pass --downsampling.disable")
        }
        return o
    }

    var flagValues: [String: String] {
        ["delete-delay": deleteDelay, "consistency-delay": consistencyDelay, "retention.resolution-raw": retentionRaw,
         "retention.resolution-5m": retention5m, "retention.resolution-1h": retention1h, "downsampling.disable": String(downsamplingDisable)]
    }
}

struct BucketCompact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "One iteration of Thanos' compactor over the bucket: merge overlapping blocks and blocks that fill 8h, 2d and 14d ranges per group of external labels, mark the inputs and blocks past retention for deletion, delete blocks marked longer than --delete-delay and aborted partial uploads."
    )

    @OptionGroup var bucket: BucketOptions
    @OptionGroup var compactor: CompactorFlags

    @Flag(name: .customLong("once"), help: "Run one iteration and exit (`strata serve --compact` runs them continuously).")
    var once = false

    @Option(name: .customLong("work-dir"), help: "Where input blocks are downloaded and the merged block written.")
    var workDir = "/tmp/strata-compact"

    func run() async throws {
        guard once else { throw ValidationError("only --once is supported here: run it from cron, or use `strata serve --compact`") }
        let r = try await BucketCompactor.run(try bucket.bucket(), workDir: workDir, options: try compactor.options())
        for (ulid, inputs) in r.compacted.sorted(by: { $0.key < $1.key }) { print("compacted \(inputs.joined(separator: ",")) into \(ulid)") }
        for (ulid, source) in r.downsampled.sorted(by: { $0.key < $1.key }) { print("downsampled \(source) into \(ulid)") }
        for ulid in r.outdated { print("marked \(ulid) for deletion (outdated: another block holds its sources)") }
        for ulid in r.expired { print("marked \(ulid) for deletion (past its resolution's retention)") }
        for why in r.skipped { print("skipped group \(why)") }
        for ulid in r.deleted { print("deleted \(ulid) (marked for deletion longer than --delete-delay)") }
        for ulid in r.deletedPartial { print("deleted \(ulid) (aborted partial upload)") }
        let marked = r.compacted.values.map(\.count).reduce(0, +) + r.outdated.count + r.expired.count
        print("compaction done: \(r.compacted.count + r.downsampled.count) blocks written, \(marked) marked for deletion, \(r.deleted.count + r.deletedPartial.count) deleted")
    }
}

/// Flag names of Prometheus and Thanos Receive that `strata serve` accepts for its own.
