import Logging
import ServiceLifecycle
import StrataBlockStore
import StrataObjectStore
import StrataRuntime

/// The bucket compactor in `strata serve --compact`: an iteration of `BucketCompactor` at start
/// (once the WAL is replayed) and every `interval`, in `<tsdb.path>/compact`. A failed
/// iteration is logged and retried at the next one; it never stops the server, and, unlike
/// Thanos, never halts: overlaps are merged, not refused. After an iteration that changed the
/// bucket, the catalog and the store's view are brought up to date at once.
struct BucketCompactorService: Service {
    let bucket: any Bucket
    let workDir: String
    let options: BucketCompactor.Options
    let intervalMillis: Int64
    let stats: CompactorStats
    let catalog: BlockCatalog?
    let store: BucketStore?
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            if startup.isReady { await runOnce() }
            let wait: Duration = startup.isReady ? .milliseconds(intervalMillis) : .seconds(1)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }

    func runOnce() async {
        let start = ContinuousClock.now
        do {
            let r = try await BucketCompactor.run(bucket, workDir: workDir, options: options, stats: stats)
            for (ulid, inputs) in r.compacted.sorted(by: { $0.key < $1.key }) {
                logger.info("compacted blocks in the bucket", metadata: ["ulid": "\(ulid)", "sources": "\(inputs)"])
            }
            for why in r.skipped { logger.info("compaction group skipped this iteration", metadata: ["reason": "\(why)"]) }
            for (ulid, source) in r.downsampled.sorted(by: { $0.key < $1.key }) {
                logger.info("downsampled a block in the bucket", metadata: ["ulid": "\(ulid)", "from": "\(source)"])
            }
            if !r.outdated.isEmpty { logger.info("marked outdated blocks for deletion", metadata: ["blocks": "\(r.outdated)"]) }
            if !r.expired.isEmpty { logger.info("marked blocks past retention for deletion", metadata: ["blocks": "\(r.expired)"]) }
            if !r.deleted.isEmpty { logger.info("deleted blocks marked for deletion", metadata: ["blocks": "\(r.deleted)"]) }
            if !r.deletedPartial.isEmpty { logger.info("deleted aborted partial uploads", metadata: ["blocks": "\(r.deletedPartial)"]) }
            let changed = !(r.compacted.isEmpty && r.downsampled.isEmpty && r.outdated.isEmpty && r.expired.isEmpty && r.deleted.isEmpty && r.deletedPartial.isEmpty)
            if changed, let catalog {
                try await catalog.scanBucket(bucket)
                try store?.refresh()
            }
            logger.debug("compactor iteration done", metadata: ["seconds": "\(ContinuousClock.now - start)"])
        } catch {
            logger.error("compactor iteration failed; retried at the next interval, the bucket stays readable",
                         metadata: ["error": "\(error)"])
        }
    }
}
