import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

#if canImport(Glibc)
import Glibc
#endif

/// Durable before visible, a request all-or-nothing, and the bounds every write is checked
/// against (Prometheus' `headAppender`: stage, log, then apply).
@Suite struct WritePathOrderingTests {
    static func stage(_ app: any Appender, _ labels: Labels, _ samples: [(Int64, Double)]) -> AppendResult {
        let s = samples.map { Sample(t: $0.0, v: $0.1) }
        return app.append(labels, s)
    }

    @Test func stagedSamplesAreInvisibleUntilCommit() throws {
        let head = Head()
        let app = head.appender()
        #expect(Self.stage(app, upA, [(1000, 1), (2000, 2)]).accepted == 2)
        #expect(try readAll(head).isEmpty)
        try app.commit()
        #expect(try readAll(head)[upA] == [Sample(t: 1000, v: 1), Sample(t: 2000, v: 2)])
    }

    @Test func aWriteTheWALRefusesIsNeverReadableAndCanBeRetried() throws {
        let dir = try TempDir("wal-refuses"); defer { dir.remove() }
        let wal = try WAL(dir: dir.path)
        let head = Head(wal: wal)
        #expect(append(head, upA, [(1000, 1)]).accepted == 1)
        // The WAL now refuses every write.
        try wal.close()
        let app = head.appender()
        #expect(Self.stage(app, upA, [(2000, 2)]).accepted == 1)
        #expect(throws: WALError.self) { try app.commit() }
        #expect(try readAll(head)[upA] == [Sample(t: 1000, v: 1)])
        // Nothing of the refused write lingers: the same samples are accepted again, not taken
        // for duplicates of something stored.
        let retry = head.appender()
        #expect(Self.stage(retry, upA, [(2000, 2)]).accepted == 1)
        retry.rollback()
        #expect(try readAll(head)[upA] == [Sample(t: 1000, v: 1)])
    }

    @Test func aReaderNeverSeesHalfOfARequest() async throws {
        let head = Head()
        let series = (0 ..< 2000).map { Labels([("__name__", "m"), ("i", String($0))]) }
        let requests = 100
        let writer = Task.detached {
            for k in 1 ... requests {
                let app = head.appender()
                for l in series { _ = Self.stage(app, l, [(Int64(k) * 1000, Double(k))]) }
                try app.commit()
            }
        }
        var torn = 0, reads = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let counts = Set(try readAll(head).values.map(\.count))
            reads += 1
            if counts.count > 1 { torn += 1 }
            if counts == [requests] { break }
            await Task.yield()
        }
        try await writer.value
        #expect(torn == 0, "\(torn) of \(reads) reads saw part of a request")
        #expect(reads > 1)
    }

    @Test func samplesTooFarInTheFutureAreRefusedAndDoNotPoisonTheHead() throws {
        var opts = HeadOptions()
        opts.tooFarInFutureWindow = 10 * 60 * 1000
        let head = Head(options: opts)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let tenYears = now + 10 * 365 * 86_400_000
        #expect(append(head, upA, [(tenYears, 1)]).firstFailure?.failure == .tooFarInFuture)
        #expect(append(head, upA, [(Int64.max, 1)]).firstFailure?.failure == .tooFarInFuture)
        #expect(append(head, upA, [(now + 5 * 60 * 1000, 1)]).accepted == 1)
        // Later writes at now are still in bounds.
        #expect(append(head, Labels([("__name__", "other")]), [(now, 1)]).accepted == 1)
        #expect(head.maxt == now + 5 * 60 * 1000)
    }

    @Test func aSampleAtTheEndOfTimeNeitherTrapsNorStallsCompaction() throws {
        let dir = try TempDir("end-of-time"); defer { dir.remove() }
        var opts = HeadOptions(); opts.chunkRange = hour
        let head = Head(options: opts) // no future window: the library accepts any time
        let db = try DB(dir: dir.path, head: head)
        #expect(append(head, upA, [(0, 1), (hour, 2)]).accepted == 2)
        #expect(append(head, upA, [(Int64.max, 3)]).accepted == 1)
        let started = ContinuousClock.now
        let r = try db.compactHead()
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(r.blocks.count == 2)
        #expect(try readAll(db)[upA] == [Sample(t: 0, v: 1), Sample(t: hour, v: 2), Sample(t: Int64.max, v: 3)])
    }

    /// Head snapshots taken right after a WAL rotation while commits run: snapshot plus the later
    /// segments must hold every committed sample. A commit that logged into the closed segment
    /// but had not applied yet would otherwise be in neither. The window is microseconds wide:
    /// this run did not hit it with the gate removed, so it guards the invariant rather than
    /// reproducing the race (the kill -9 test hit it once under a loaded full run).
    @Test func snapshotsWhileWritingMissNoCommittedSample() async throws {
        let dir = try TempDir("snapshot-race"); defer { dir.remove() }
        // fsync on every commit widens the gap between a commit's WAL write and its apply.
        var opts = WALOptions(); opts.fsync = .always
        let wal = try WAL(dir: dir.file("wal"), options: opts)
        let head = Head(wal: wal)
        // Large requests: their apply takes long enough to overlap a snapshot.
        let series = (0 ..< 2000).map { Labels([("__name__", "m"), ("i", String($0))]) }
        let writer = Task.detached { () -> [Labels: [Sample]] in
            var acked: [Labels: [Sample]] = [:]
            for k in 1 ... 60 {
                let app = head.appender()
                // After the first request (which creates the series in ref order), newest series
                // first: the commit applies them in the opposite order to the snapshot's (by ref),
                // so the two cross when they overlap.
                for l in k == 1 ? series : series.reversed() { _ = Self.stage(app, l, [(Int64(k), Double(k))]) }
                try app.commit()
                for l in series { acked[l, default: []].append(Sample(t: Int64(k), v: Double(k))) }
            }
            return acked
        }
        // Each snapshot goes to a folder of its own; every one of them, with the WAL segments
        // after it, must give back all the committed samples.
        var snapshotDirs: [String] = []
        while snapshotDirs.count < 15 {
            let snapDir = dir.file("snap-\(snapshotDirs.count)")
            try FileManager.default.createDirectory(atPath: snapDir, withIntermediateDirectories: true)
            let segment = try head.withCommitsPaused { try wal.rotate() }
            _ = try HeadSnapshot.write(head, dir: snapDir, walSegment: segment)
            snapshotDirs.append(snapDir)
            try await Task.sleep(for: .milliseconds(1))
        }
        let acked = try await writer.value
        try wal.close()
        for snapDir in snapshotDirs {
            let replayed = Head()
            let stats = try replayed.replayWAL(dir: dir.file("wal"), snapshotDir: snapDir)
            #expect(stats.snapshotError == nil && stats.snapshotSegment != nil)
            #expect(try readAll(replayed) == acked, "snapshot in \(snapDir) plus the later segments lost samples")
        }
    }

    /// A full disk: the write that hit it answers an error and is not readable, later writes work
    /// once space returns, and a restart finds exactly the acknowledged samples (none of the
    /// refused write's, and no torn record hiding the ones after it). Needs root for a small
    /// tmpfs; skipped elsewhere, a failure under CI.
    @Test func aFullDiskLosesNothingAcknowledged() throws {
        let dir = try TempDir("enospc"); defer { dir.remove() }
        let mnt = dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard (try? Tools.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]))?.status == 0 else {
            if Tools.isCI { Issue.record("cannot mount a tmpfs (CI runs as root)") } else { print("skipping: mounting a tmpfs needs root") }
            return
        }
        defer { _ = try? Tools.run("/bin/umount", [mnt]) }
        var opts = WALOptions(); opts.compress = false
        let wal = try WAL(dir: mnt + "/wal", options: opts)
        let head = Head(wal: wal)
        var acked: [Labels: [Sample]] = [:]
        func write(_ l: Labels, _ samples: [(Int64, Double)]) -> Bool {
            let app = head.appender()
            _ = Self.stage(app, l, samples)
            do { try app.commit() } catch { return false }
            acked[l, default: []] += samples.map { Sample(t: $0.0, v: $0.1) }
            return true
        }
        let many = (0 ..< 2000).map { (Int64($0), Double($0)) }
        #expect(write(upA, many))
        // Fill the disk.
        let filler = mnt + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 0xAB, count: 4096)
        while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, 4096) }) > 0 {}
        close(fd)
        var refused = 0
        for round in 1 ... 20 {
            let l = Labels([("__name__", "m"), ("round", String(round))])
            if !write(l, many.map { ($0.0, $0.1 + Double(round)) }) { refused += 1 }
        }
        #expect(refused > 0)
        // Refused writes are not readable; acknowledged ones are.
        #expect(try readAll(head) == acked)
        try FileManager.default.removeItem(atPath: filler)
        for round in 21 ... 25 {
            #expect(write(Labels([("__name__", "m"), ("round", String(round))]), many))
        }
        #expect(wal.stats.writeFailures.load(ordering: .relaxed) >= 1)
        try wal.close()
        let replayed = Head()
        let stats = try replayed.replayWAL(dir: mnt + "/wal")
        #expect(stats.corruption == nil)
        #expect(try readAll(replayed) == acked)
    }
}
