import Logging
import ServiceLifecycle
import StrataBlockStore
import StrataObjectStore
import StrataRuntime
import StrataTSDB
import Synchronization

/// Ships every tenant's blocks to the bucket: a pass as soon as the WALs are replayed (which
/// ships blocks written before this start), one when a tenant's DB announces a block written,
/// one every interval (which retries what failed), and a last one at shutdown, bounded by
/// `shutdownTimeout`. Keeps the catalog in step with block deletions and, at start, with the bucket.
final class ShipperService: Service, Sendable {
    let tenants: MultiTSDB
    let bucket: any Bucket
    let catalog: BlockCatalog?
    /// The store role's view of the bucket: refreshed after each pass (so uploads are queryable
    /// at once) and listed again every `storeSyncMillis` (for blocks others wrote or deleted).
    let store: BucketStore?
    let intervalMillis: Int64
    let storeSyncMillis: Int64
    let shutdownTimeout: Duration
    let startup: StartupState
    let logger: Logger
    private let loggedRebuild = Atomic<Bool>(false)

    init(tenants: MultiTSDB, bucket: any Bucket, catalog: BlockCatalog?, store: BucketStore?, intervalMillis: Int64, storeSyncMillis: Int64,
         shutdownTimeout: Duration, startup: StartupState, logger: Logger) {
        self.tenants = tenants; self.bucket = bucket; self.catalog = catalog; self.store = store; self.intervalMillis = intervalMillis
        self.storeSyncMillis = storeSyncMillis; self.shutdownTimeout = shutdownTimeout; self.startup = startup; self.logger = logger
    }

    func run() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let catalog = self.catalog
        tenants.onBlockEvent { _, event in
            switch event {
            case .written: continuation.yield()
            case .deleted(let ulid, _): if let catalog { try? catalog.removedLocally(ulid) }
            }
        }
        // Wakes the loop when a block is written or the interval passes, whichever is first.
        let ticker = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(intervalMillis))
                continuation.yield()
            }
        }
        defer { ticker.cancel(); continuation.finish() }
        // The first pass as soon as the WAL is replayed: it reads the bucket into the catalog,
        // so the bucket's blocks are queryable from the start, not after a first interval.
        continuation.yield()
        await cancelWhenGracefulShutdown { [self] in
            var bucketScanned = false
            var lastScan = ContinuousClock.now
            for await _ in events {
                while !startup.isReady && !Task.isCancelledOrShuttingDown { try? await Task.sleep(for: .milliseconds(50)) }
                if Task.isCancelledOrShuttingDown { break }
                if store != nil && ContinuousClock.now - lastScan > .milliseconds(storeSyncMillis) { bucketScanned = false }
                if !bucketScanned {
                    bucketScanned = await scanBucket()
                    lastScan = ContinuousClock.now
                }
                await syncOnce()
                do { try store?.refresh() } catch {
                    logger.warning("refreshing the bucket's blocks for queries failed", metadata: ["error": "\(error)"])
                }
            }
        }
        // Blocks cut just before shutdown go up now rather than at the next start.
        guard startup.isReady else { return }
        logger.info("shipping blocks not yet in the bucket before stopping", metadata: ["timeout": "\(shutdownTimeout)"])
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask { [self] in await syncOnce(); return true }
            group.addTask { [shutdownTimeout] in try? await Task.sleep(for: shutdownTimeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished { logger.warning("the last upload pass did not finish in time; it resumes at the next start") }
    }

    /// Brings the catalog's bucket side up to date (at start: a new or rebuilt catalog learns
    /// what the bucket holds; then every `storeSyncMillis` when the bucket is queried). Retried
    /// at each pass until it succeeds.
    private func scanBucket() async -> Bool {
        guard let catalog else { return true }
        if let why = catalog.recreatedBecause, !loggedRebuild.exchange(true, ordering: .relaxed) {
            logger.warning("rebuilding the block catalog from the data directory and the bucket", metadata: ["reason": "\(why)"])
        }
        do {
            let n = try await catalog.scanBucket(bucket)
            logger.info("block catalog synced with the bucket", metadata: ["bucket_blocks": "\(n)"])
            return true
        } catch {
            logger.warning("reading the bucket into the block catalog failed; retried at the next pass", metadata: ["error": "\(error)"])
            return false
        }
    }

    func syncOnce() async {
        for t in tenants.all {
            if let shipper = t.shipper { await syncOnce(shipper, logger: logger.with(tenant: t.name)) }
        }
    }

    private func syncOnce(_ shipper: Shipper, logger: Logger) async {
        do {
            let r = try await shipper.sync()
            for ulid in r.uploaded { logger.info("block uploaded", metadata: ["ulid": "\(ulid)", "bucket": "\(bucket.kind)"]) }
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
