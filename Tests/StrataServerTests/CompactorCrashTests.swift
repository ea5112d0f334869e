import Foundation
import StrataBlock
import StrataBlockStore
import StrataModel
import StrataObjectStore
import StrataRuntime
import StrataStorage
import StrataTestSupport
import StrataTSDB
import Testing

/// `kill -9` at every step of a compactor iteration (`strata bucket compact --once`, a real
/// process killed by SIGKILL at the step, through `STRATA_CRASH_AT`): each time, the bucket
/// passes `strata bucket verify`, a store over it answers with every sample once, and the next
/// iteration finishes the job.
@Suite struct CompactorCrashTests {
    static let hour: Int64 = 3_600_000

    /// Five 2h blocks (0h-10h of 3 series, one sample a minute; the last 2h stay in the head)
    /// shipped to a filesystem bucket.
    static func shippedBucket(_ tmp: TempDir) async throws -> String {
        var options = HeadOptions()
        options.chunkRange = 2 * hour
        let head = Head(options: options)
        let app = head.appender()
        for i in 0 ..< 3 {
            app.append(Labels([("__name__", "m"), ("s", String(i))]),
                       stride(from: Int64(0), to: 12 * hour, by: 60_000).map { Sample(t: $0, v: Double(i * 1000) + Double($0 / 60_000)) })
        }
        try app.commit()
        var dbOptions = DBOptions()
        dbOptions.blockRanges = []
        let db = try DB(dir: tmp.file("writer"), head: head, options: dbOptions)
        _ = try db.compactHead()
        #expect(db.blocks.count == 5)
        let bucket = try FilesystemBucket(directory: tmp.file("pristine"))
        try await Shipper(dataDir: tmp.file("writer"), bucket: bucket, externalLabels: ["tenant_id": "t"]).sync()
        return tmp.file("pristine")
    }

    /// Every series and its samples as a store over the bucket reads them (Thanos' filters:
    /// a compaction's inputs hidden by its output, partial uploads left out).
    static func contents(_ bucketDir: String, _ tmp: TempDir) async throws -> [String: [Sample]] {
        let dir = tmp.file("store-" + ULID.make())
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = BucketStore(bucket: try FilesystemBucket(directory: bucketDir), cache: try PageCache(dir: dir + "/cache", capacityBytes: 64 << 20),
                                catalog: try BlockCatalog(dataDir: dir), deletionMarkDelay: 24 * 3600)
        try await store.sync()
        return try await BlockingThread.run {
            let q = try #require(try store.queriers(mint: .min, maxt: .max, excluding: []).first)
            var out: [String: [Sample]] = [:]
            for s in try q.select([try LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: .min, maxt: .max)) {
                var got: [Sample] = []
                try s.samples(mint: .min, maxt: .max, into: &got)
                out["\(s.labels)"] = got
            }
            return out
        }
    }

    static let steps = [
        "compact.downloaded", "compact.written", "upload.chunks-done", "upload.index-done", "compact.uploaded",
        "compact.marked-first-input", "delete.meta-removed", "delete.files-removed",
    ]

    @Test(arguments: steps)
    func aKillAtThisStepLeavesAReadableBucketThatTheNextIterationFinishes(step: String) async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("compact-crash"); defer { tmp.remove() }
        let pristine = try await Self.shippedBucket(tmp)
        let expected = try await Self.contents(pristine, tmp)
        #expect(expected.count == 3 && expected.values.allSatisfy { $0.count == 600 })
        let bucketDir = tmp.file("bucket")
        try FileManager.default.copyItem(atPath: pristine, toPath: bucketDir)
        let flags = ["bucket", "compact", "--once", "--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(bucketDir)\n",
                     "--consistency-delay", "0s", "--delete-delay", "0s", "--work-dir", tmp.file("work")]

        let crashed = try await Tools.runAsync(binary, flags, environment: ["STRATA_CRASH_AT": step])
        #expect(crashed.killedBySignal && crashed.status == SIGKILL, "\(step): \(crashed.status) \(crashed.stdout)\(crashed.stderr)")
        let verify = ["bucket", "verify", "--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(bucketDir)\n"]
        let afterCrash = try await Tools.runAsync(binary, verify)
        #expect(afterCrash.status == 0, "\(step): \(afterCrash.stdout)\(afterCrash.stderr)")
        #expect(try await Self.contents(bucketDir, tmp) == expected, "\(step): the bucket answers as before")

        let finished = try await Tools.runAsync(binary, flags)
        #expect(finished.status == 0, "\(step): \(finished.stdout)\(finished.stderr)")
        // Nothing left half done, but for an interrupted upload: a partial the compactor deletes
        // once it is 48h old (a note, not a problem).
        let interruptedUpload = step.hasPrefix("upload.")
        let final = try await Tools.runAsync(binary, verify)
        #expect(final.status == 0 && final.stdout.hasSuffix("no problems found\n"), "\(step): \(final.stdout)")
        #expect(final.stdout.split(separator: "\n").filter { $0.hasPrefix("note: ") && $0.contains("partial upload") }.count == (interruptedUpload ? 1 : 0),
                "\(step): \(final.stdout)")
        #expect(try await Self.contents(bucketDir, tmp) == expected, "\(step): the bucket answers as before")
        // One 8h block and the newest 2h block; the inputs and the crashed run's leftovers gone.
        let blocks = try await BucketBlocks.scan(try FilesystemBucket(directory: bucketDir))
        #expect(blocks.blocks.map { $0.meta.maxTime - $0.meta.minTime } == [8 * Self.hour, 2 * Self.hour], "\(step)")
        #expect(blocks.partials.count == (interruptedUpload ? 1 : 0), "\(step): \(blocks.partials)")
    }

    @Test func aKillWhileDownsamplingLeavesTheRawBlockAndTheNextIterationDownsamplesIt() async throws {
        guard let binary = strataBinary() else { return }
        let tmp = try TempDir("downsample-crash"); defer { tmp.remove() }
        try DownsampledQueryTests.openMetrics().write(toFile: tmp.file("in.om"), atomically: true, encoding: .utf8)
        _ = try await Tools.runAsync(binary, ["tsdb", "import", "openmetrics", "--block-duration", "48h", tmp.file("in.om"), tmp.file("import")])
        let objstore = ["--objstore.config", "type: FILESYSTEM\nconfig:\n  directory: \(tmp.file("bucket"))\n"]
        _ = try await Tools.runAsync(binary, ["bucket", "upload", "--path", tmp.file("import"), "--label", "tenant_id=\"t\""] + objstore)
        let compact = ["bucket", "compact", "--once", "--consistency-delay", "0s", "--work-dir", tmp.file("work")] + objstore
        for (step, crash) in [("downsample.written", true), ("upload.index-done", true), ("", false)] {
            let r = try await Tools.runAsync(binary, compact, environment: crash ? ["STRATA_CRASH_AT": step] : [:])
            #expect(r.killedBySignal == crash, "\(step): \(r.stdout)\(r.stderr)")
            let verify = try await Tools.runAsync(binary, ["bucket", "verify"] + objstore)
            #expect(verify.status == 0, "\(step): \(verify.stdout)")
            let blocks = try await BucketBlocks.list(try FilesystemBucket(directory: tmp.file("bucket")))
            #expect(blocks.map(\.resolution).sorted() == (crash ? [0, 0] : [0, 0, 300_000]), "\(step): raw blocks untouched")
        }
    }
}
