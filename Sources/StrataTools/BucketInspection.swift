import Foundation
import StrataBlock
import StrataBlockStore
import StrataObjectStore

/// Reports on a bucket for `strata bucket ls|inspect|verify`, as `thanos tools bucket`: the
/// blocks in a bucket (`BucketBlocks.list`: a top-level ULID directory with a `meta.json`;
/// partial uploads without one are not blocks), oldest first.
public enum BucketInspection {
    public enum Output: String, Sendable, CaseIterable { case plain = "", wide, json }

    /// The listing: ULIDs one per line (`plain`); a table (`wide`); one `meta.json` per line (`json`).
    public static func list(_ bucket: any Bucket, output: Output) async throws -> String {
        let entries = try await BucketBlocks.list(bucket)
        switch output {
        case .plain:
            return entries.map { $0.meta.ulid + "\n" }.joined()
        case .json:
            return entries.map { e in
                // Compact, one object per line, as Thanos' `-o json`.
                let obj = try? JSONSerialization.jsonObject(with: Data(e.meta.json().utf8))
                let data = obj.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? Data()
                return String(decoding: data, as: UTF8.self) + "\n"
            }.joined()
        case .wide:
            var rows = [["ULID", "FROM", "UNTIL", "RANGE", "SERIES", "SAMPLES", "LEVEL", "RESOLUTION", "SOURCE", "LABELS"]]
            for e in entries {
                let m = e.meta
                let labels = (e.thanos?.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
                rows.append([m.ulid, GoFormat.time(m.minTime), GoFormat.time(m.maxTime), GoFormat.duration(millis: m.maxTime - m.minTime),
                             String(m.stats.numSeries), String(m.stats.numSamples), String(m.compaction.level),
                             String(e.thanos?.resolution ?? 0), e.thanos?.source ?? "", labels])
            }
            return GoFormat.table(rows, minWidth: 0, padding: 2)
        }
    }

    /// `strata bucket verify`: one line per problem found (empty when there is none):
    /// - files `meta.json` lists that are missing or have another size, and chunk segments or an
    ///   index missing when it lists none;
    /// - an index that does not read (downloaded and opened);
    /// - blocks of one stream (same external labels and resolution) whose time ranges overlap,
    ///   leaving out blocks whose sources another block holds (a compaction's inputs).
    /// Partial uploads (a ULID directory without `meta.json`) are notes, not problems: a live
    /// bucket has them while blocks go up, and the compactor removes the ones left behind.
    public struct VerifyReport: Sendable {
        /// What makes the bucket wrong for Thanos' readers and compactor (exit status 1).
        public var problems: [String] = []
        /// What is expected in a live bucket and cleaned up by the compactor: partial uploads
        /// (an upload in progress, an aborted one, a deletion that stopped half way).
        public var notes: [String] = []
    }

    public static func verify(_ bucket: any Bucket) async throws -> VerifyReport {
        var report = VerifyReport()
        let (entries, partials) = try await BucketBlocks.scan(bucket)
        for p in partials {
            report.notes.append(p.deletionMarkedAt != nil
                ? "\(p.ulid): partial upload (no meta.json) marked for deletion: a deletion that stopped half way; the compactor finishes it"
                : "\(p.ulid): partial upload (no meta.json): an upload in progress or aborted; the compactor deletes it once idle for 48h")
        }
        for e in entries {
            let ulid = e.meta.ulid
            let files = e.thanos?.files ?? []
            var expected = files.filter { $0.relPath != BlockMeta.fileName }
            if expected.isEmpty { expected = [ThanosMeta.File(relPath: "index", sizeBytes: nil)] }
            for f in expected {
                do {
                    let size = try await bucket.attributes(ulid + "/" + f.relPath).size
                    if let want = f.sizeBytes, want != size { report.problems.append("\(ulid): \(f.relPath) is \(size) bytes, meta.json says \(want)") }
                } catch where ObjectStoreError.isNotFound(error) {
                    report.problems.append("\(ulid): \(f.relPath) is missing")
                }
            }
            if try await bucket.list(ulid + "/chunks/", recursive: false).isEmpty { report.problems.append("\(ulid): no chunk segments") }
            if let index = try? await bucket.get(ulid + "/index") {
                do { _ = try IndexReader(InMemoryBytes(index, name: ulid + "/index")).allPostings() } catch {
                    report.problems.append("\(ulid): index does not read: \(error)")
                }
            }
        }
        // Overlaps within one stream, as Thanos' compactor would refuse them; a compaction's
        // inputs, still there until their deletion, overlap its output by design.
        let current = BucketBlocks.uncovered(entries)
        let streams = Dictionary(grouping: entries.filter { current.contains($0.meta.ulid) }, by: \.groupKey)
        for (stream, blocks) in streams.sorted(by: { $0.key < $1.key }) {
            let sorted = blocks.sorted { $0.meta.minTime < $1.meta.minTime }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.meta.minTime < a.meta.maxTime {
                report.problems.append("\(a.meta.ulid) and \(b.meta.ulid) overlap in stream {\(stream)}")
            }
        }
        return report
    }
}
