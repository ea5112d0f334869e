import Foundation
import StrataBlock
import StrataObjectStore

/// One pass of Thanos' compactor over a bucket (`strata bucket compact --once`): blocks are
/// grouped by external labels and resolution (Thanos' group key); in each group, overlapping
/// blocks are merged first (vertical compaction, rather than halting), then blocks that fill one
/// of Thanos' aligned ranges (2h → 8h → 2d → 14d), never the group's newest block. Each merge
/// downloads its inputs, writes the merged block, uploads it (`meta.json` last, `source:
/// compactor`) and only then marks the inputs for deletion; a crash between the two leaves the
/// inputs covered by the new block's `compaction.sources`, which hides them from readers, and
/// the next pass marks them ("outdated"). Raw blocks only; downsampling is not done here yet.
public enum BucketCompactor {
    /// Thanos' default compaction ranges.
    public static let ranges: [Int64] = [2, 8, 48, 336].map { Int64($0) * 3_600_000 }

    public struct Result: Sendable, Equatable {
        /// New block ULID → the blocks merged into it.
        public var compacted: [String: [String]] = [:]
        /// Blocks marked for deletion because another block covers their sources.
        public var outdated: [String] = []
        /// Groups left alone, with why (logged: a compactor that skips must say so).
        public var skipped: [String] = []
    }

    public static func run(_ bucket: any Bucket, workDir: String, now: Int64 = Int64(Date().timeIntervalSince1970)) async throws -> Result {
        var result = Result()
        try FileSystem.mkdirAll(workDir)
        while true {
            let entries = try await BucketBlocks.list(bucket)
            var marked = Set<String>()
            var noCompact = Set<String>()
            for e in entries {
                let files = Set(try await bucket.list(e.meta.ulid + "/", recursive: false).map { String($0.dropFirst(e.meta.ulid.count + 1)) })
                if files.contains(BlockMarker.Kind.deletion.rawValue) { marked.insert(e.meta.ulid) }
                if files.contains(BlockMarker.Kind.noCompact.rawValue) { noCompact.insert(e.meta.ulid) }
            }
            let live = entries.filter { !marked.contains($0.meta.ulid) }
            // Garbage first: blocks whose sources another block holds are that block's inputs.
            let visible = Set(BucketStore.withoutCoveredSources(live.map(\.meta)).map(\.ulid))
            for e in live where !visible.contains(e.meta.ulid) {
                _ = try await BucketOperations.mark(bucket, ulid: e.meta.ulid, kind: .deletion, details: "outdated block", now: now)
                result.outdated.append(e.meta.ulid)
            }
            let groups = Dictionary(grouping: live.filter { visible.contains($0.meta.ulid) }) { e in
                (e.thanos?.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "@\(e.thanos?.resolution ?? 0)"
            }
            var merged = false
            for (key, group) in groups.sorted(by: { $0.key < $1.key }) {
                guard let labels = group.first?.thanos?.labels, !labels.isEmpty else {
                    result.skipped.append("\(key): blocks without external labels")
                    continue
                }
                if group.contains(where: { ($0.thanos?.resolution ?? 0) != 0 }) { continue }
                let candidates = group.map(\.meta).filter { !noCompact.contains($0.ulid) }
                let plan = CompactionPlanner.plan(candidates, ranges: ranges)
                guard plan.count > 1 else { continue }
                let ulid = try await compact(plan, labels: labels, bucket: bucket, workDir: workDir)
                for input in plan {
                    _ = try await BucketOperations.mark(bucket, ulid: input.ulid, kind: .deletion, details: "source of compacted block", now: now)
                }
                result.compacted[ulid] = plan.map(\.ulid)
                merged = true
            }
            if !merged { return result }
        }
    }

    /// Downloads `inputs`, merges them and uploads the result; returns its ULID.
    static func compact(_ inputs: [BlockMeta], labels: [String: String], bucket: any Bucket, workDir: String) async throws -> String {
        let dir = workDir + "/" + ULID.make()
        try FileSystem.mkdirAll(dir + "/in")
        try FileSystem.mkdirAll(dir + "/out")
        defer { try? FileSystem.removeAll(dir) }
        var blocks: [Block] = []
        for m in inputs {
            let path = try await BucketOperations.download(bucket, ulid: m.ulid, into: dir + "/in")
            blocks.append(try Block(dir: path))
        }
        let meta = try BlockCompactor.compact(blocks, into: dir + "/out")
        let r = try await BucketOperations.upload(path: dir + "/out/" + meta.ulid, bucket: bucket, labels: labels,
                                                  uploadCompacted: true, source: "compactor")
        guard r.uploaded == [meta.ulid] else { throw ShipperError("compacted block \(meta.ulid) was not uploaded: \(r)") }
        return meta.ulid
    }
}
