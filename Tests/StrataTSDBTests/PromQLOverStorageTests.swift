import Foundation
import StrataModel
import StrataStorage
import StrataTestSupport
import Synchronization
import Testing
@testable import StrataTSDB

/// A script's series appended to a fresh `Head` before its evals (the engine then reads head
/// chunks, 120 samples each, cut at the 15-minute chunk range).
final class HeadScriptStorage: PromQLTestStorage {
    fileprivate let loaded = MemoryStorage()
    /// Empty until the first `load` is prepared (scripts may evaluate literals before any).
    fileprivate let current = Mutex<any Queryable>(Head())

    func add(_ labels: Labels, _ samples: [Sample]) { loaded.add(labels, samples) }

    func prepareForQueries() throws { current.withLock { $0 = Self.fill(Head(options: Self.headOptions), from: loaded) } }

    static var headOptions: HeadOptions {
        var o = HeadOptions()
        o.chunkRange = 15 * 60_000
        return o
    }

    @discardableResult
    static func fill(_ head: Head, from loaded: MemoryStorage) -> Head {
        let app = head.appender()
        for (labels, samples) in loaded.allSeries {
            let r = app.append(labels, samples)
            precondition(r.rejected == 0, "head refused \(labels): \(String(describing: r.firstFailure))")
        }
        try! app.commit()
        return head
    }

    func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        try current.withLock { $0 }.querier(mint: mint, maxt: maxt)
    }
}

/// The same, then compacted into a DB with 15-minute blocks (merged up to 45 minutes): most
/// samples are read from blocks, the newest from the head, series spread over several blocks.
final class DBScriptStorage: PromQLTestStorage, @unchecked Sendable {
    private let head = HeadScriptStorage()
    private let blocksCut: BlockCount

    /// Counts the blocks every prepared DB opened, so a test can tell its DBs read from blocks.
    final class BlockCount: Sendable {
        let value = Atomic<Int>(0)
    }

    init(counting blocksCut: BlockCount = BlockCount()) { self.blocksCut = blocksCut }
    private let dir = Mutex<TempDir?>(nil)

    func add(_ labels: Labels, _ samples: [Sample]) { head.add(labels, samples) }

    func prepareForQueries() throws {
        let tmp = try TempDir("promql-db")
        dir.withLock { old in old?.remove(); old = tmp }
        var options = DBOptions()
        options.blockRanges = [15 * 60_000, 45 * 60_000]
        options.retentionTime = 0
        let db = try DB(dir: tmp.path, head: HeadScriptStorage.fill(Head(options: HeadScriptStorage.headOptions), from: head.loaded), options: options)
        _ = try db.compact()
        blocksCut.value.add(db.blocks.count, ordering: .relaxed)
        head.current.withLock { $0 = db }
    }

    func querier(mint: Int64, maxt: Int64) throws -> any Querier { try head.querier(mint: mint, maxt: maxt) }

    deinit { dir.withLock { $0?.remove() } }
}

/// The PromQL corpus and the project's scripts over the real storage, not only `MemoryStorage`:
/// a head, and a DB whose samples are spread over blocks, also with range functions evaluated
/// on worker threads. Each must answer as `MemoryStorage` does (same failures, eval for eval).
@Suite struct PromQLOverStorageTests {
    /// The storages, and whether range functions run on worker threads (`EngineOptions.parallelism`,
    /// forced for every selection: the threshold is 1 series).
    static func storages(_ blocks: DBScriptStorage.BlockCount) -> [(String, @Sendable () -> any PromQLTestStorage, Bool)] {
        [("memory", { MemoryStorage() }, false), ("head", { HeadScriptStorage() }, false), ("db", { DBScriptStorage(counting: blocks) }, false),
         ("db, 3 workers per query", { DBScriptStorage() }, true)]
    }

    @Test func upstreamCorpusAnswersAlikeOnEveryStorage() async throws {
        var results: [(name: String, total: PromQLTestReport)] = []
        let blockCount = DBScriptStorage.BlockCount()
        for (name, make, parallel) in Self.storages(blockCount) {
            var options = PromQLTestOptions()
            options.makeStorage = make
            if parallel {
                options.engineOptions.parallelism = 3
                options.engineOptions.parallelSeriesThreshold = 1
            }
            guard let reports = await PromQLCorpus.runUpstream(PromQLTestRunner(options: options)) else {
                if Tools.isCI { Issue.record("PromQL conformance corpus not found at \(PromQLCorpus.directory)") }
                else { print("PromQL conformance corpus not found at \(PromQLCorpus.directory); skipping") }
                return
            }
            results.append((name, PromQLTestReport.combined(reports, file: name)))
        }
        let blocks = blockCount.value.load(ordering: .relaxed)
        #expect(blocks > 100, "the DB runs cut only \(blocks) blocks")
        for r in results {
            print("PromQL corpus on \(r.name): core \(r.total.corePassed)/\(r.total.corePassed + r.total.coreFailed), "
                + "non-core \(r.total.nonCorePassed) passed, \(r.total.scriptErrors.count) script errors"
                + (r.name == "db" ? ", \(blocks) blocks cut" : ""))
        }
        let reference = Set(results[0].total.failures.map(\.location))
        for r in results.dropFirst() {
            #expect(r.total.scriptErrors.isEmpty, "\(r.name): \(r.total.scriptErrors.prefix(5))")
            let failures = Set(r.total.failures.map(\.location))
            let extra = r.total.failures.filter { !reference.contains($0.location) }
            #expect(extra.isEmpty, "\(r.name) fails where memory passes:\n\(extra.prefix(20).map(\.description).joined(separator: "\n"))")
            let missing = reference.subtracting(failures)
            #expect(missing.isEmpty, "\(r.name) passes where memory fails: \(missing.sorted().prefix(20))")
        }
    }

    @Test func projectScriptsPassOnEveryStorage() throws {
        for (name, make, parallel) in Self.storages(DBScriptStorage.BlockCount()) {
            var options = PromQLCorpus.projectScriptOptions
            options.makeStorage = make
            if parallel {
                options.engineOptions.parallelism = 3
                options.engineOptions.parallelSeriesThreshold = 1
            }
            let reports = try PromQLCorpus.runProjectScripts(PromQLTestRunner(options: options))
            #expect(reports.count >= 2)
            let total = PromQLTestReport.combined(reports, file: name)
            print("project scripts on \(name): \(total.corePassed + total.nonCorePassed) passed, \(total.failures.count) failed")
            #expect(total.scriptErrors.isEmpty, "\(name): \(total.scriptErrors)")
            #expect(total.failures.isEmpty, "\(name):\n\(total.failures.prefix(20).map(\.description).joined(separator: "\n"))")
        }
    }
}
