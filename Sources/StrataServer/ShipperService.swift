import Logging
import ServiceLifecycle
import StrataBlockStore
import StrataRuntime
import StrataTSDB
import Synchronization

/// Ships blocks to the bucket: a pass when the DB announces a block written, one every
/// interval (which retries what failed, and ships blocks written before this start), and a last
/// one at shutdown, bounded by `shutdownTimeout`. Keeps the catalog in step with block
/// deletions and, at start, with the bucket.
struct ShipperService: Service {
    let shipper: Shipper
    let db: DB
    let intervalMillis: Int64
    let shutdownTimeout: Duration
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let catalog = shipper.catalog
        db.onBlockEvent { event in
            switch event {
            case .written: continuation.yield()
            case .deleted(let ulid, _): if let catalog { try? catalog.removedLocally(ulid) }
            }
        }
        // Wakes the loop when a block is written or the interval passes, whichever is first.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(intervalMillis))
                continuation.yield()
            }
        }
        defer { ticker.cancel(); continuation.finish() }
        await cancelWhenGracefulShutdown {
            var bucketScanned = false
            for await _ in events {
                if Task.isCancelledOrShuttingDown { break }
                guard startup.isReady else { continue }
                if !bucketScanned { bucketScanned = await scanBucket() }
                await syncOnce()
            }
        }
        // Blocks cut just before shutdown go up now rather than at the next start.
        guard startup.isReady else { return }
        logger.info("shipping blocks not yet in the bucket before stopping", metadata: ["timeout": "\(shutdownTimeout)"])
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await syncOnce(); return true }
            group.addTask { try? await Task.sleep(for: shutdownTimeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished { logger.warning("the last upload pass did not finish in time; it resumes at the next start") }
    }

    /// Brings the catalog's bucket side up to date (at start: a new or rebuilt catalog learns
    /// what the bucket holds). Retried at each pass until it succeeds.
    private func scanBucket() async -> Bool {
        guard let catalog = shipper.catalog else { return true }
        if let why = catalog.recreatedBecause {
            logger.warning("rebuilding the block catalog from the data directory and the bucket", metadata: ["reason": "\(why)"])
        }
        do {
            let n = try await catalog.scanBucket(shipper.bucket)
            logger.info("block catalog synced with the bucket", metadata: ["bucket_blocks": "\(n)"])
            return true
        } catch {
            logger.warning("reading the bucket into the block catalog failed; retried at the next pass", metadata: ["error": "\(error)"])
            return false
        }
    }

    func syncOnce() async {
        do {
            let r = try await shipper.sync()
            for ulid in r.uploaded { logger.info("block uploaded", metadata: ["ulid": "\(ulid)", "bucket": "\(shipper.bucket.kind)"]) }
            if !r.alreadyInBucket.isEmpty {
                logger.info("blocks already in the bucket", metadata: ["blocks": "\(r.alreadyInBucket)"])
            }
            for (ulid, why) in r.corrupt.sorted(by: { $0.key < $1.key }) {
                logger.error("block failed the check before upload; it is kept locally and not shipped (repair it, then `strata bucket upload`)",
                             metadata: ["ulid": "\(ulid)", "error": "\(why)"])
            }
        } catch {
            logger.warning("shipping blocks failed; retried at the next pass, nothing is deleted locally until it is uploaded",
                           metadata: ["error": "\(error)"])
        }
    }
}
