import Foundation
import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB
@testable import StrataTools

@Suite struct WALRecordTests {
    @Test func seriesAndSamplesRoundTrip() throws {
        let labels = Labels([("__name__", "up"), ("job", "a")])
        var rec: [UInt8] = []
        labels.bytes.withUnsafeBytes { WALRecordEncoder.series(ref: 7, labelsBlob: $0, count: 2, into: &rec) }
        Labels([("__name__", "x")]).bytes.withUnsafeBytes { WALRecordEncoder.appendSeries(ref: 1 << 40, labelsBlob: $0, count: 1, into: &rec) }
        // Prometheus layout: type, ref BE64, #labels, uvarint-str pairs.
        #expect(Array(rec.prefix(10)) == [1, 0, 0, 0, 0, 0, 0, 0, 7, 2])
        var series: [WALSeries] = []
        try rec.withUnsafeBytes { try WALRecordDecoder.series($0, into: &series) }
        #expect(series == [WALSeries(ref: 7, labels: labels), WALSeries(ref: 1 << 40, labels: Labels([("__name__", "x")]))])

        let samples = [WALSample(ref: 9, t: 1000, v: 1.5), WALSample(ref: 3, t: 500, v: StaleNaN.value), WALSample(ref: 12, t: -7, v: .infinity)]
        var srec: [UInt8] = []
        samples.withUnsafeBufferPointer { WALRecordEncoder.samples($0, into: &srec) }
        #expect(srec[0] == 2)
        var back: [WALSample] = []
        try srec.withUnsafeBytes { try WALRecordDecoder.samples($0, into: &back) }
        #expect(back == samples)
    }
}

@Suite struct WALFileTests {
    static func records(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        return (0 ..< n).map { i in
            // Sizes from empty to several pages, compressible and not.
            let size = [0, 1, 100, 5000, 33_000, 70_000][Int(rng.next() % 6)]
            return (0 ..< size).map { j in i % 2 == 0 ? UInt8(truncatingIfNeeded: j / 7) : UInt8(truncatingIfNeeded: rng.next()) }
        }
    }

    static func readAll(_ dir: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        _ = try WALReader(dir: dir).forEachRecord { out.append(Array($0)) }
        return out
    }

    @Test func recordsSurviveAcrossPagesAndSegments() throws {
        let dir = try TempDir("wal"); defer { dir.remove() }
        var opts = WALOptions()
        opts.segmentSize = 4 * WAL.pageSize
        let recs = Self.records(60, seed: 1)
        let wal = try WAL(dir: dir.path, options: opts)
        for chunk in stride(from: 0, to: recs.count, by: 7) { try wal.log(Array(recs[chunk ..< min(chunk + 7, recs.count)])) }
        try wal.close()
        let segs = try WALSegments.list(dir.path)
        #expect(segs.count >= 3)
        #expect(segs.map { URL(fileURLWithPath: $0.path).lastPathComponent }.first == "00000000")
        for s in segs.dropLast() { #expect(try FileSystem.size(s.path) <= opts.segmentSize + 70_000) }
        #expect(try Self.readAll(dir.path) == recs)
        // Reopening starts a new segment and keeps the old ones readable.
        let wal2 = try WAL(dir: dir.path, options: opts)
        #expect(wal2.segmentIndex == segs.last!.index + 1)
        try wal2.log([[1, 2, 3]])
        try wal2.close()
        #expect(try Self.readAll(dir.path) == recs + [[1, 2, 3]])
    }

    /// A reader lets the pages of the records it has delivered leave memory every 16 MiB, so a
    /// replay does not keep a whole 128 MiB segment resident beside the head it builds; records
    /// after a drop are read back from the file unchanged.
    @Test func aLongSegmentIsReadWithoutKeepingItsPagesResident() throws {
        let dir = try TempDir("wal-long"); defer { dir.remove() }
        var rng = SplitMix(seed: 3)
        // 120 records of 1 MiB, random (snappy cannot shrink them): one segment of ~120 MiB.
        var block = [UInt8](repeating: 0, count: 1 << 20)
        block.withUnsafeMutableBytes { b in for i in stride(from: 0, to: b.count, by: 8) { b.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) } }
        func record(_ i: Int) -> [UInt8] {
            var r = block
            withUnsafeBytes(of: UInt64(i)) { for (k, byte) in $0.enumerated() { r[k] = byte } }
            return r
        }
        let wal = try WAL(dir: dir.path)
        for i in 0 ..< 120 { try wal.log([record(i)]) }
        try wal.close()
        #expect(try WALSegments.list(dir.path).count == 1)

        func rssFileKiB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("RssFile:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let before = rssFileKiB()
        // Each record checked by its index and the C checksum of the rest (byte loops are slow in debug builds).
        let blockSum = block.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        var grown = 0, n = 0
        _ = try WALReader(dir: dir.path).forEachRecord { rec in
            #expect(rec.count == block.count, "record \(n)")
            if rec.count == block.count {
                #expect(rec.loadUnaligned(as: UInt64.self) == UInt64(n) && CRC32C.checksum(UnsafeRawBufferPointer(rebasing: rec[8...])) == blockSum,
                        "record \(n)")
            }
            n += 1
            grown = max(grown, rssFileKiB() - before)
        }
        #expect(n == 120)
        // Without the drops the whole segment is resident by the last record (~120 MiB); the
        // bound leaves room for pages other tests map meanwhile.
        #expect(grown < 64 << 10, "file-backed RSS grew by \(grown >> 10) MiB while reading")
    }

    @Test func tornTailIsCutBackToTheLastGoodRecord() throws {
        var rng = SplitMix(seed: 99)
        for round in 0 ..< 12 {
            let dir = try TempDir("wal-torn"); defer { dir.remove() }
            let recs = Self.records(25, seed: UInt64(round))
            let wal = try WAL(dir: dir.path)
            for r in recs { try wal.log([r]) }
            try wal.close()
            let seg = try WALSegments.list(dir.path).last!
            let size = try FileSystem.size(seg.path)
            let cut = Int(rng.next() % UInt64(size))
            try FileSystem.truncate(seg.path, to: cut)
            var got: [[UInt8]] = []
            do {
                _ = try WALReader(dir: dir.path).forEachRecord { got.append(Array($0)) }
            } catch let c as WALCorruption {
                _ = try c.repair(dir: dir.path)
                #expect(try Self.readAll(dir.path) == got, "after repair the WAL reads cleanly")
            }
            // Whatever was read is an exact prefix of what was written.
            #expect(got == Array(recs.prefix(got.count)))
        }
    }

    @Test func flippedBytesAreDetected() throws {
        var rng = SplitMix(seed: 5)
        var detected = 0
        for round in 0 ..< 12 {
            let dir = try TempDir("wal-flip"); defer { dir.remove() }
            let recs = Self.records(20, seed: UInt64(100 + round))
            let wal = try WAL(dir: dir.path)
            try wal.log(recs)
            try wal.close()
            let seg = try WALSegments.list(dir.path).last!
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: seg.path)))
            let at = Int(rng.next() % UInt64(bytes.count))
            bytes[at] ^= UInt8(1 + rng.next() % 255)
            try Data(bytes).write(to: URL(fileURLWithPath: seg.path))
            var got: [[UInt8]] = []
            do { _ = try WALReader(dir: dir.path).forEachRecord { got.append(Array($0)) } }
            catch is WALCorruption { detected += 1 }
            #expect(got == Array(recs.prefix(got.count)), "a flipped byte must never produce altered records")
        }
        #expect(detected == 12) // every byte is covered by a CRC or by the zero-padding check
    }
}

@Suite struct HeadWALTests {
    @Test func appendsAreReplayedAfterARestart() throws {
        let dir = try TempDir("head-wal"); defer { dir.remove() }
        var opts = WALOptions()
        opts.segmentSize = 2 * WAL.pageSize
        do {
            let wal = try WAL(dir: dir.path, options: opts)
            let head = Head(wal: wal)
            for round in 0 ..< 30 {
                for i in 0 ..< 40 {
                    _ = append(head, Labels([("__name__", "m"), ("i", String(i))]), [(Int64(round) * 1000, Double(round * i))])
                }
            }
            // Rejected samples must not be logged.
            #expect(append(head, Labels([("__name__", "m"), ("i", "0")]), [(0, 99)]).rejected == 1)
            try wal.close()
        }
        let wal = try WAL(dir: dir.path, options: opts)
        let head = Head(wal: wal)
        let stats = try head.replayWAL(dir: dir.path, below: wal.segmentIndex)
        #expect(stats.series == 40 && stats.samples == 1200 && stats.samplesSkipped == 0 && stats.corruption == nil)
        let got = try read(head, [try LabelMatcher(.equal, "__name__", "m")])
        #expect(got.count == 40)
        for (labels, samples) in got {
            let i = Int(labels.get("i")!)!
            #expect(samples == (0 ..< 30).map { Sample(t: Int64($0) * 1000, v: Double($0 * i)) })
        }
        // New series get refs above the replayed ones, and appends continue.
        #expect(append(head, Labels([("__name__", "new")]), [(1, 1)]).accepted == 1)
        #expect(append(head, Labels([("__name__", "m"), ("i", "3")]), [(30_000, 1)]).accepted == 1)
        #expect(head.numSeries == 41)
        try wal.close()
    }
}

@Suite struct WALConcurrencyTests {
    @Test(arguments: [WALFsyncPolicy.always, .segment])
    func concurrentWritersWithSegmentRotation(policy: WALFsyncPolicy) async throws {
        let dir = try TempDir("wal-conc"); defer { dir.remove() }
        var opts = WALOptions()
        opts.segmentSize = 2 * WAL.pageSize
        opts.fsync = policy
        opts.compress = false // keep records large enough to rotate segments often
        let wal = try WAL(dir: dir.path, options: opts)
        try await withThrowingTaskGroup(of: Void.self) { g in
            for w in 0 ..< 4 {
                g.addTask {
                    for i in 0 ..< 50 {
                        let rec = [UInt8(w), UInt8(i)] + [UInt8](repeating: UInt8(i), count: (i * 397) % 9000)
                        try wal.log([rec])
                        if i % 10 == 0 { try wal.sync() }
                    }
                }
            }
            try await g.waitForAll()
        }
        try wal.close()
        var seen: [Int] = []
        _ = try WALReader(dir: dir.path).forEachRecord { rec in
            let w = Int(rec[0]), i = Int(rec[1])
            #expect(rec.count == 2 + (i * 397) % 9000)
            #expect(rec.dropFirst(2).allSatisfy { $0 == UInt8(i) })
            seen.append(w * 1000 + i)
        }
        var expected: [Int] = []
        for w in 0 ..< 4 { for i in 0 ..< 50 { expected.append(w * 1000 + i) } }
        #expect(seen.sorted() == expected)
        // Each writer's records are in its own order.
        for w in 0 ..< 4 {
            let mine: [Int] = seen.filter { $0 / 1000 == w }
            let want: [Int] = Array(expected[(w * 50) ..< (w * 50 + 50)])
            #expect(mine == want)
        }
        #expect(try WALSegments.list(dir.path).count > 5)
    }
}

@Suite struct CheckpointTests {
    /// Writes 3 series × 100 samples over several segments; returns the WAL dir and the index of
    /// the writer's last segment.
    static func fixture(_ dir: TempDir) throws -> (walDir: String, last: Int, refs: [String: SeriesRef]) {
        let walDir = dir.file("wal")
        var opts = WALOptions()
        opts.segmentSize = 2 * WAL.pageSize
        opts.compress = false
        let wal = try WAL(dir: walDir, options: opts)
        let head = Head(wal: wal)
        let names = ["a", "b", "c"] + (0 ..< 27).map { "s\($0)" }
        for t in 0 ..< 400 {
            for name in names {
                _ = append(head, Labels([("__name__", name), ("pad", String(repeating: "x", count: 300))]), [(Int64(t) * 1000, Double(t))])
            }
        }
        try wal.close()
        var refs: [String: SeriesRef] = [:]
        for ref in head.postings.allPostings() { refs[head.series(ref: ref)!.labels.metricName!] = ref }
        return (walDir, wal.segmentIndex, refs)
    }

    @Test func checkpointKeepsLiveSeriesAndRecentSamples() throws {
        let dir = try TempDir("checkpoint"); defer { dir.remove() }
        let (walDir, last, refs) = try Self.fixture(dir)
        #expect(last >= 4)
        let through = last - 2
        let dropped = refs["c"]!
        let stats = try Checkpoint.create(walDir: walDir, from: 0, to: through, mint: 50_000) { $0 != dropped }
        #expect(stats.seriesKept == 29 && stats.seriesDropped == 1)
        try Checkpoint.deleteSegments(walDir: walDir, through: through)
        #expect(FileSystem.exists(walDir + "/" + Checkpoint.dirName(through)))
        #expect(try WALSegments.list(walDir).first!.index == through + 1)

        // Replay: checkpoint, then the later segments.
        let head = Head()
        let r = try head.replayWAL(dir: walDir)
        #expect(r.corruption == nil)
        let got = try read(head, [try LabelMatcher(.regexMatch, "__name__", ".+")])
        let byName = Dictionary(uniqueKeysWithValues: got.map { ($0.0.metricName!, $0.1) })
        // a and b: samples from 50s on (older ones were in folded segments and are cut), all later ones.
        for name in ["a", "b"] {
            let ts = byName[name]!.map(\.t)
            #expect(ts.first! >= 50_000)
            #expect(ts.last! == 399_000)
            #expect(zip(ts, ts.dropFirst()).allSatisfy { $1 - $0 == 1000 }, "no gaps in \(name)")
        }
        // c was dropped from the checkpoint; only samples from the kept segments would reference it,
        // and without its series record they are skipped.
        #expect(byName["c"] == nil)

        // A second checkpoint folds the first one in and replaces it.
        try Checkpoint.create(walDir: walDir, from: through + 1, to: last - 1, mint: 390_000) { _ in true }
        try Checkpoint.deleteSegments(walDir: walDir, through: last - 1)
        #expect(!FileSystem.exists(walDir + "/" + Checkpoint.dirName(through)))
        let head2 = Head()
        _ = try head2.replayWAL(dir: walDir)
        let got2 = try read(head2, [try LabelMatcher(.equal, "__name__", "a")])
        // Samples older than 390s survive only if they sit in the segment after the checkpoint.
        let ts2 = got2[0].1.map(\.t)
        #expect(ts2.last! == 399_000)
        #expect(ts2.first! > 50_000)
        #expect(zip(ts2, ts2.dropFirst()).allSatisfy { $1 - $0 == 1000 })
    }

    @Test func promtoolReadsCheckpointPlusSegments() throws {
        guard let promtool = requiredTool("promtool") else { return }
        let dir = try TempDir("checkpoint-promtool"); defer { dir.remove() }
        let (walDir, last, _) = try Self.fixture(dir)
        try Checkpoint.create(walDir: walDir, from: 0, to: last - 2, mint: 40_000) { _ in true }
        try Checkpoint.deleteSegments(walDir: walDir, through: last - 2)
        let head = Head()
        _ = try head.replayWAL(dir: walDir)
        var expected: [String] = []
        for (labels, samples) in try read(head, [try LabelMatcher(.regexMatch, "__name__", ".+")]) {
            for s in samples { expected.append("\(labels) \(Int(s.v)) \(s.t)") }
        }
        let r = try Tools.run(promtool, ["tsdb", "dump", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map(String.init).sorted() == expected.sorted())
        #expect(expected.count > 1000)
    }
}

@Suite struct HeadSnapshotTests {
    /// A snapshot several times the interval after which a load drops the pages it has read
    /// restores every series and sample: each of the two passes reads what it dropped again.
    @Test func aSnapshotLargerThanTheDropIntervalRestoresEverything() throws {
        let dir = try TempDir("snapshot-large"); defer { dir.remove() }
        let a = Head(), b = Head()
        let filler = String(repeating: "x", count: 10_000)   // 4,000 series of 10 kB labels: 40 MB
        for i in 0 ..< 4000 {
            _ = append(a, Labels([("__name__", "m"), ("i", String(i)), ("pad", filler)]),
                       (0 ..< 30).map { (Int64($0) * 15_000, Double(i * $0)) })
        }
        #expect(try HeadSnapshot.write(a, dir: dir.path, walSegment: 1) == 4000)
        #expect(try FileSystem.size(dir.file(HeadSnapshot.fileName)) > 2 * HeadSnapshot.dropInterval)
        let loaded = try #require(try HeadSnapshot.load(into: b, dir: dir.path))
        #expect(loaded.series == 4000 && loaded.samples == 4000 * 30)
        let all = [try LabelMatcher(.equal, "__name__", "m")]
        let got = try read(b, all), want = try read(a, all)
        #expect(got.count == 4000 && got.map(\.0) == want.map(\.0) && got.map(\.1) == want.map(\.1))
    }

    @Test func snapshotRestoresSeriesChunksAndAppenderState() throws {
        let dir = try TempDir("snapshot"); defer { dir.remove() }
        var rng = SplitMix(seed: 8)
        let a = Head(), b = Head()
        let names = (0 ..< 50).map { Labels([("__name__", "m"), ("i", String($0))]) }
        var t: Int64 = 1_700_000_000_000
        for _ in 0 ..< 300 {
            t += 15000 + Int64(rng.next() % 100)
            for l in names { _ = append(a, l, [(t, Double(rng.next() % 1000) / 8)]) }
        }
        #expect(try HeadSnapshot.write(a, dir: dir.path, walSegment: 7) == 50)
        let loaded = try #require(try HeadSnapshot.load(into: b, dir: dir.path))
        #expect(loaded.walSegment == 7 && loaded.series == 50 && loaded.samples == 50 * 300)
        #expect(b.numSeries == 50 && b.mint == a.mint && b.maxt == a.maxt)
        // Appending the same samples to both heads gives byte-identical chunks: the appender
        // state, chunk boundaries and duplicate detection all came back.
        for _ in 0 ..< 200 {
            t += 15000
            for l in names {
                let v = Double(rng.next() % 1000) / 8
                #expect(append(a, l, [(t, v)]) == append(b, l, [(t, v)]))
            }
        }
        let m = [try LabelMatcher(.equal, "__name__", "m")]
        let ca = try a.querier(mint: .min, maxt: .max).select(m, hints: SelectHints(mint: .min, maxt: .max)).map { try ($0 as! HeadSeries).chunks(mint: .min, maxt: .max).map(\.bytes) }
        let cb = try b.querier(mint: .min, maxt: .max).select(m, hints: SelectHints(mint: .min, maxt: .max)).map { try ($0 as! HeadSeries).chunks(mint: .min, maxt: .max).map(\.bytes) }
        #expect(ca == cb)
        // New series continue above the restored refs.
        #expect(append(b, Labels([("__name__", "new")]), [(t, 1)]).accepted == 1)
        #expect(b.numSeries == 51)
    }

    /// Metric metadata survives a snapshot (version 2); a version 1 snapshot (no metadata
    /// section) still loads; damaged metadata refuses the whole snapshot.
    @Test func metadataIsKeptAndVersion1StillLoads() throws {
        let dir = try TempDir("snapshot-meta"); defer { dir.remove() }
        let a = Head()
        _ = append(a, Labels([("__name__", "http_requests_total")]), [(1000, 1)])
        let meta = [MetricMetadata(metricFamilyName: "http_requests_total", type: .counter, help: "Requests, by code. ✓", unit: ""),
                    MetricMetadata(metricFamilyName: "temp_celsius", type: .gauge, help: "", unit: "celsius")]
        let app = a.appender()
        for m in meta { app.appendMetadata(m) }
        try app.commit()
        _ = try HeadSnapshot.write(a, dir: dir.path, walSegment: 3)
        let b = Head()
        let loaded = try #require(try HeadSnapshot.load(into: b, dir: dir.path))
        #expect(loaded.metadata == 2 && loaded.series == 1)
        #expect(b.metricMetadata == meta)

        // The same head without metadata, written as version 1 would be: header version 1 and no
        // metadata section (the trailing zero count gone).
        let c = Head()
        _ = append(c, Labels([("__name__", "up")]), [(1000, 1)])
        _ = try HeadSnapshot.write(c, dir: dir.path, walSegment: 4)
        let path = dir.file(HeadSnapshot.fileName)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes[8] == 2 && bytes.last == 0)
        bytes.removeLast()
        bytes[8] = 1
        let crc = bytes[0 ..< 25].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.replaceSubrange(25 ..< 29, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let d = Head()
        let v1 = try #require(try HeadSnapshot.load(into: d, dir: dir.path))
        #expect(v1.series == 1 && v1.metadata == 0 && d.numSeries == 1)

        // A flipped byte in a metadata entry: its checksum refuses the snapshot, and the head stays empty.
        _ = try HeadSnapshot.write(a, dir: dir.path, walSegment: 5)
        var damaged = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        damaged[damaged.count - 8] ^= 0x01
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        let e = Head()
        #expect(throws: HeadSnapshot.SnapshotError.self) { _ = try HeadSnapshot.load(into: e, dir: dir.path) }
        #expect(e.numSeries == 0 && e.metricMetadata.isEmpty)
    }

    /// A series reads its open chunk's first time from the chunk, so an entry whose recorded
    /// head_mint disagrees (its checksum redone, as a writer with a bug would leave it) is refused
    /// while the snapshot is verified, before any series reaches the head.
    @Test func anOpenChunkThatDoesNotStartAtItsHeadMintIsRefusedBeforeTheHeadIsTouched() throws {
        let dir = try TempDir("snapshot-headmint"); defer { dir.remove() }
        let a = Head()
        _ = append(a, Labels([("__name__", "m")]), [(1_000, 1), (2_000, 2)])
        _ = try HeadSnapshot.write(a, dir: dir.path, walSegment: 1)
        let path = dir.file(HeadSnapshot.fileName)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // The one entry after the 29-byte header: uvarint len | body | BE32 crc. In the body:
        // ref BE64 | labels_len uvarint | labels | closed 0 | has_head 1 | head_mint varint.
        let bodyLength = Int(bytes[29]), body = 30
        let labels = Labels([("__name__", "m")]).bytes.count
        let headMint = body + 8 + 1 + labels + 1 + 1
        #expect(bodyLength < 128 && labels < 128, "the offsets above assume one-byte lengths")
        #expect(bytes[headMint] == 0xD0 && bytes[headMint + 1] == 0x0F, "head_mint 1000 as a zigzag varint")
        bytes[headMint] = 0xD2   // 1001
        let crc = bytes[body ..< body + bodyLength].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.replaceSubrange(body + bodyLength ..< body + bodyLength + 4,
                              with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let b = Head()
        #expect(throws: HeadSnapshot.SnapshotError.self) { _ = try HeadSnapshot.load(into: b, dir: dir.path) }
        #expect(b.numSeries == 0, "refused while verifying, not halfway through loading")
    }

    @Test func damagedSnapshotIsRefusedWithoutTouchingTheHead() throws {
        let dir = try TempDir("snapshot-bad"); defer { dir.remove() }
        let a = Head()
        for i in 0 ..< 20 { _ = append(a, Labels([("__name__", "m"), ("i", String(i))]), [(1000, 1), (2000, 2)]) }
        _ = try HeadSnapshot.write(a, dir: dir.path, walSegment: 1)
        let path = dir.file(HeadSnapshot.fileName)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let b = Head()
        #expect(throws: HeadSnapshot.SnapshotError.self) { _ = try HeadSnapshot.load(into: b, dir: dir.path) }
        #expect(b.numSeries == 0)
        // replayWAL falls back to the WAL and removes the bad snapshot.
        try FileSystem.mkdirAll(dir.file("wal"))
        let stats = try b.replayWAL(dir: dir.file("wal"), snapshotDir: dir.path)
        #expect(stats.snapshotError != nil)
        #expect(!FileSystem.exists(path))
    }

    /// Label bytes whose checksum is right but whose structure is not (a length past the end)
    /// are refused before anything reaches the head.
    @Test func aSnapshotWithMalformedLabelsIsRefusedEvenWithAGoodChecksum() throws {
        let dir = try TempDir("snapshot-labels"); defer { dir.remove() }
        let a = Head()
        for i in 0 ..< 3 { _ = append(a, Labels([("__name__", "m"), ("i", String(i))]), [(1000, 1)]) }
        _ = try HeadSnapshot.write(a, dir: dir.path, walSegment: 1)
        let path = dir.file(HeadSnapshot.fileName)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Last entry: header (25) + CRC (4), then per entry `uvarint len | entry | CRC32C`; the
        // entry starts with ref (8) and the label blob's uvarint length, then the blob, whose
        // first byte is the length of "__name__".
        var off = 29
        var entryStart = 0, entryLen = 0
        for _ in 0 ..< 3 {
            entryLen = Int(bytes[off]); entryStart = off + 1 // entries here are < 128 bytes
            off = entryStart + entryLen + 4
        }
        // Then the metadata section: a count of 0 (this head has none).
        #expect(off == bytes.count - 1 && bytes[off] == 0)
        let blob = entryStart + 8 + 1
        #expect(bytes[blob] == 8)
        bytes[blob] = 0x7F
        let crc = bytes[entryStart ..< entryStart + entryLen].withUnsafeBytes { CRC32C.checksum($0) }
        for k in 0 ..< 4 { bytes[entryStart + entryLen + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let b = Head()
        #expect { _ = try HeadSnapshot.load(into: b, dir: dir.path) } throws: { "\($0)".contains("malformed label set") }
        #expect(b.numSeries == 0)
    }
}

@Suite struct WALToolingTests {
    @Test func rotateClosesTheSegmentAndReportsIt() throws {
        let dir = try TempDir("wal-rotate"); defer { dir.remove() }
        let wal = try WAL(dir: dir.path)
        try wal.log([[1, 2, 3]])
        #expect(try wal.rotate() == 0)
        #expect(wal.segmentIndex == 1)
        try wal.log([[4]])
        try wal.close()
        // The closed segment is padded to a whole page; the new one holds only the later record.
        #expect(try FileSystem.size(WALSegments.path(dir.path, 0)) == WAL.pageSize)
        var inFirst: [[UInt8]] = [], inSecond: [[UInt8]] = []
        let segs = try WALSegments.list(dir.path)
        _ = try WALReader(segments: [segs[0]]).forEachRecord { inFirst.append(Array($0)) }
        _ = try WALReader(segments: [segs[1]]).forEachRecord { inSecond.append(Array($0)) }
        #expect(inFirst == [[1, 2, 3]] && inSecond == [[4]])
        #expect(throws: WALError.self) { _ = try wal.rotate() }
    }

    @Test func inspectionCountsRecordsSeriesSamplesAndTimesPerSegment() throws {
        let dir = try TempDir("wal-inspect"); defer { dir.remove() }
        let wal = try WAL(dir: dir.path)
        let head = Head(wal: wal)
        _ = append(head, Labels([("__name__", "a")]), [(1000, 1), (2000, 2)])
        _ = append(head, Labels([("__name__", "b")]), [(500, 1)])
        _ = try wal.rotate()
        _ = append(head, Labels([("__name__", "a")]), [(9000, 3)])
        try wal.close()
        let inspection = try WALInspection.inspect(walDir: dir.path)
        #expect(inspection.segments.count == 2)
        let first = inspection.segments[0], second = inspection.segments[1]
        #expect(first.series == 2 && first.samples == 3 && first.minT == 500 && first.maxT == 2000)
        #expect(first.recordsByType == [1: 2, 2: 2])
        #expect(second.series == 0 && second.samples == 1 && second.minT == 9000)
        let report = inspection.report()
        #expect(report.contains("series=2,samples=2"))
        #expect(report.split(separator: "\n").last!.hasPrefix("total"))

        // A damaged segment is reported, not thrown.
        try FileSystem.truncate(WALSegments.path(dir.path, 1), to: 5)
        let damaged = try WALInspection.inspect(walDir: dir.path)
        #expect(damaged.segments[1].corruption != nil)
        #expect(damaged.report().contains("corrupt:"))
    }
}

@Suite struct SnapshotCheckpointInterplayTests {
    /// A snapshot older than the newest checkpoint is ignored: the checkpoint may have folded
    /// (and deleted) segments the snapshot does not cover.
    @Test func snapshotOlderThanCheckpointIsIgnored() throws {
        let dir = try TempDir("snap-checkpoint"); defer { dir.remove() }
        let (walDir, last, _) = try CheckpointTests.fixture(dir)
        // A snapshot claiming to cover only segment 0, made from an empty head.
        _ = try HeadSnapshot.write(Head(), dir: dir.path, walSegment: 0)
        try Checkpoint.create(walDir: walDir, from: 0, to: last - 1, mint: 0) { _ in true }
        try Checkpoint.deleteSegments(walDir: walDir, through: last - 1)
        let head = Head()
        let stats = try head.replayWAL(dir: walDir, snapshotDir: dir.path)
        #expect(stats.snapshotSegment == nil && stats.snapshotSeries == 0)
        #expect(head.numSeries == 30)
        let got = try read(head, [try LabelMatcher(.equal, "__name__", "a")])
        #expect(got[0].1.count == 400)
    }
}
