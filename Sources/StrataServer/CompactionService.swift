import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Every interval (once the WAL is replayed): cuts blocks from the head when it spans more than
/// 1.5 block ranges, merges blocks (leveled and vertical compaction), then applies time and size
/// retention, for each tenant; then flushes and closes the tenants idle longer than
/// `tenantIdleMillis`. The work runs on a dispatch thread, off the async executor that serves requests.
struct CompactionService: Service {
    let tenants: MultiTSDB
    /// Tenants no write has asked for in this long are flushed and closed (ms; 0: never).
    var tenantIdleMillis: Int64 = 0
    let intervalMillis: Int64
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(intervalMillis)) }
            if Task.isCancelledOrShuttingDown { break }
            guard startup.isReady else { continue }
            await runOnce()
        }
    }

    func runOnce() async {
        for t in tenants.all { await runOnce(t) }
        if tenantIdleMillis > 0 {
            await BlockingThread.run { [tenants, tenantIdleMillis] in tenants.closeIdle(idleMillis: tenantIdleMillis) }
        }
    }

    private func runOnce(_ t: TenantTSDB) async {
        let (db, logger) = (t.db, self.logger.with(tenant: t.name))
        await BlockingThread.run {
            let start = ContinuousClock.now
            do {
                let r = try db.compact()
                for b in r.blocks {
                    logger.info("block written", metadata: [
                        "ulid": "\(b.ulid)", "mint": "\(b.minTime)", "maxt": "\(b.maxTime)", "series": "\(b.stats.numSeries)",
                        "samples": "\(b.stats.numSamples)", "chunks": "\(b.stats.numChunks)",
                    ])
                }
                for b in r.merged {
                    logger.info("blocks merged", metadata: [
                        "ulid": "\(b.ulid)", "level": "\(b.compaction.level)", "parents": "\((b.compaction.parents ?? []).map(\.ulid))",
                        "mint": "\(b.minTime)", "maxt": "\(b.maxTime)", "series": "\(b.stats.numSeries)", "samples": "\(b.stats.numSamples)",
                    ])
                }
                if !r.blocks.isEmpty {
                    logger.info("head compacted", metadata: [
                        "blocks": "\(r.blocks.count)", "chunks_removed": "\(r.truncate.chunksRemoved)",
                        "series_removed": "\(r.truncate.seriesRemoved)", "seconds": "\(ContinuousClock.now - start)",
                        "checkpoint_series_kept": "\(r.checkpoint?.seriesKept ?? 0)", "checkpoint_samples_kept": "\(r.checkpoint?.samplesKept ?? 0)",
                    ])
                }
            } catch {
                logger.error("head compaction failed; it is retried at the next interval", metadata: ["error": "\(error)"])
            }
            do {
                let deleted = try db.applyRetention()
                if !deleted.isEmpty { logger.info("retention deleted blocks", metadata: ["blocks": "\(deleted)"]) }
            } catch {
                logger.error("applying retention failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
