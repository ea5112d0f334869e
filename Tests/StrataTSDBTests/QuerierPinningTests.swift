import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// A DB querier sees one block list for its whole life, and the head keeps what that list lacks.
@Suite struct QuerierPinningTests {
    static func countSamples(_ q: any Querier) throws -> Int {
        var n = 0
        var buf: [Sample] = []
        for s in try q.select([try LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: .min, maxt: .max)) {
            buf.removeAll(keepingCapacity: true)
            try s.samples(mint: .min, maxt: .max, into: &buf)
            n += buf.count
        }
        return n
    }

    @Test func aQuerierOpenedBeforeCompactionKeepsReadingEverySample() throws {
        let dir = try TempDir("pin"); defer { dir.remove() }
        let (head, expected) = filledHead(series: 10, from: 0, to: 4 * hour)
        let total = expected.values.reduce(0) { $0 + $1.count }
        let db = try DB(dir: dir.path, head: head)
        var q: (any Querier)? = try db.querier(mint: .min, maxt: .max)
        #expect(try Self.countSamples(q!) == total)

        let done = Atomic<Bool>(false)
        let compaction = Thread {
            _ = try? db.compactHead()
            done.store(true, ordering: .sequentiallyConsistent)
        }
        compaction.start()
        // The first block is published, then compaction waits for the open querier before it
        // drops that range from the head.
        let deadline = Date().addingTimeInterval(10)
        while db.blocks.isEmpty && Date() < deadline { usleep(1000) }
        #expect(db.blocks.count == 1)
        usleep(100_000)
        let finishedEarly = done.load(ordering: .sequentiallyConsistent)
        #expect(!finishedEarly, "truncated the head under an open querier")
        #expect(try Self.countSamples(q!) == total)

        q = nil // the querier goes away: compaction goes on
        while !done.load(ordering: .sequentiallyConsistent) && Date() < deadline { usleep(1000) }
        let finished = done.load(ordering: .sequentiallyConsistent)
        #expect(finished)
        #expect(db.blocks.count == 3 && head.mint == 3 * hour)
        #expect(try Self.countSamples(try db.querier(mint: .min, maxt: .max)) == total)
        #expect(head.readers.openCount == 0 && db.stats.readerWaitTimeouts.load(ordering: .relaxed) == 0)
    }

    @Test func aQuerierHeldPastTheWaitDoesNotStopCompaction() throws {
        let dir = try TempDir("pin"); defer { dir.remove() }
        let (head, _) = filledHead(series: 4, from: 0, to: 4 * hour)
        var options = DBOptions()
        options.readerWaitTimeout = .milliseconds(20)
        let db = try DB(dir: dir.path, head: head, options: options)
        let held = try db.querier(mint: .min, maxt: .max)
        let started = ContinuousClock.now
        #expect(try db.compactHead().blocks.count == 3)
        // One wait per compaction run, not one per block.
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(db.stats.readerWaitTimeouts.load(ordering: .relaxed) == 3)
        withExtendedLifetime(held) {}
    }

    @Test func queriersThatStartAfterTheTruncatedRangeAreNotWaitedFor() throws {
        let dir = try TempDir("pin"); defer { dir.remove() }
        let (head, _) = filledHead(series: 4, from: 0, to: 4 * hour)
        var options = DBOptions()
        options.readerWaitTimeout = .seconds(60)
        let db = try DB(dir: dir.path, head: head, options: options)
        let recent = try db.querier(mint: 3 * hour, maxt: .max)
        let started = ContinuousClock.now
        #expect(try db.compactHead().blocks.count == 3)
        #expect(ContinuousClock.now - started < .seconds(30), "compaction waited for a querier that reads only the head's newest range")
        #expect(db.stats.readerWaitTimeouts.load(ordering: .relaxed) == 0)
        withExtendedLifetime(recent) {}
    }

    @Test func blocksWrittenAndDeletedAreAnnounced() throws {
        let dir = try TempDir("events"); defer { dir.remove() }
        let (head, _) = filledHead(series: 4, from: 0, to: 7 * hour)
        var options = DBOptions()
        options.blockRanges = [hour, 3 * hour]
        options.retentionTime = 3 * hour
        let db = try DB(dir: dir.path, head: head, options: options)
        let events = Mutex<[String]>([])
        db.onBlockEvent { e in
            let line: String
            switch e {
            case .written(let meta, let dir, let origin):
                line = "written \(origin) [\(meta.minTime / hour)h,\(meta.maxTime / hour)h) \(FileManager.default.fileExists(atPath: dir + "/meta.json"))"
            case .deleted(let ulid, let reason):
                line = "deleted \(reason) \(FileManager.default.fileExists(atPath: dir.file(ulid)))"
            }
            events.withLock { $0.append(line) }
        }
        _ = try db.compact()
        #expect(events.withLock { $0 } == [
            "written head [0h,1h) true", "written head [1h,2h) true", "written head [2h,3h) true",
            "written head [3h,4h) true", "written head [4h,5h) true", "written head [5h,6h) true",
            "written compaction [0h,3h) true", "deleted compacted false", "deleted compacted false", "deleted compacted false",
        ])
        events.withLock { $0.removeAll() }
        #expect(try db.applyRetention().count == 1)
        #expect(events.withLock { $0 } == ["deleted retention false"])
    }
}
