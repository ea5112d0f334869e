import Dispatch
import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// Appends, head compaction, block merges and queries all at once: every query sees every
/// committed sample of its range exactly once, and nothing is lost at the end.
@Suite struct ConcurrentCompactionTests {
    @Test(.timeLimit(.minutes(2)))
    func queriesDuringCompactionSeeEveryCommittedSampleOnce() async throws {
        let dir = try TempDir("concurrent"); defer { dir.remove() }
        var hopts = HeadOptions(); hopts.chunkRange = 60_000 // 1-minute blocks: many compactions
        let head = Head(options: hopts)
        let db = try DB(dir: dir.path, head: head)
        let seriesCount = 40, scrapes = 900 // 15 minutes of samples at 1 s
        let labels = (0 ..< seriesCount).map { Labels([("__name__", "c"), ("s", String($0))]) }
        let committed = Atomic<Int64>(-1) // newest timestamp every series has committed
        let done = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let compactions = Atomic<Int>(0), queriesRun = Atomic<Int>(0)
        @Sendable func fail(_ m: String) { failures.withLock { if $0.count < 5 { $0.append(m) } } }

        let writer = DispatchQueue(label: "writer"), compactor = DispatchQueue(label: "compactor"), reader = DispatchQueue(label: "reader")
        let group = DispatchGroup()
        group.enter()
        writer.async {
            for k in 0 ..< scrapes {
                let t = Int64(k) * 1000
                let app = head.appender()
                for (i, l) in labels.enumerated() {
                    let smp = Sample(t: t, v: Double(k * seriesCount + i))
                    let r = app.append(l, [smp])
                    if r.accepted != 1 { fail("sample \(t) of \(l) refused: \(String(describing: r.firstFailure))") }
                }
                do { try app.commit() } catch { fail("commit: \(error)") }
                committed.store(t, ordering: .releasing)
            }
            done.store(true, ordering: .releasing)
            group.leave()
        }
        group.enter()
        compactor.async {
            var rounds = 0
            while !done.load(ordering: .acquiring) || rounds == 0 {
                do { compactions.add(try db.compact().blocks.count, ordering: .relaxed) } catch { fail("compaction: \(error)") }
                rounds += 1
            }
            group.leave()
        }
        group.enter()
        reader.async {
            var queries = 0
            while !done.load(ordering: .acquiring) {
                let upTo = committed.load(ordering: .acquiring)
                if upTo < 0 { continue }
                do {
                    let q = try db.querier(mint: 0, maxt: upTo)
                    let got = try q.select([try LabelMatcher(.equal, "__name__", "c")], hints: SelectHints(mint: 0, maxt: upTo))
                    if got.count != seriesCount { fail("query up to \(upTo): \(got.count) series") }
                    var buf: [Sample] = []
                    for s in got {
                        buf.removeAll(keepingCapacity: true)
                        try s.samples(mint: 0, maxt: upTo, into: &buf)
                        if buf.count != Int(upTo / 1000) + 1 || buf.first?.t != 0 || buf.last?.t != upTo {
                            fail("query up to \(upTo): \(s.labels) has \(buf.count) samples \(buf.first?.t ?? -1)…\(buf.last?.t ?? -1)")
                        }
                    }
                } catch { fail("query: \(error)") }
                queries += 1
            }
            queriesRun.store(queries, ordering: .relaxed)
            group.leave()
        }
        await withCheckedContinuation { cont in group.notify(queue: .global()) { cont.resume() } }
        #expect(failures.withLock { $0 } == [])
        print("concurrent compaction: \(compactions.load(ordering: .relaxed)) blocks cut and \(queriesRun.load(ordering: .relaxed)) queries while writing")
        _ = try db.compact()
        #expect(db.blocks.count >= 2)
        let all = try readAll(db)
        #expect(all.count == seriesCount)
        #expect(all.values.allSatisfy { $0.count == scrapes })
    }
}
