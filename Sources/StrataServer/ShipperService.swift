import Logging
import ServiceLifecycle
import StrataBlockStore
import StrataRuntime
import StrataTSDB
import Synchronization

/// Ships blocks to the bucket: a pass when the DB announces a block written, and one every
/// interval (which retries what failed, and ships blocks written before this start).
struct ShipperService: Service {
    let shipper: Shipper
    let db: DB
    let intervalMillis: Int64
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        db.onBlockEvent { event in
            if case .written = event { continuation.yield() }
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
            for await _ in events {
                if Task.isCancelledOrShuttingDown { break }
                guard startup.isReady else { continue }
                await syncOnce()
            }
        }
    }

    func syncOnce() async {
        do {
            let r = try await shipper.sync()
            for ulid in r.uploaded { logger.info("block uploaded", metadata: ["ulid": "\(ulid)", "bucket": "\(shipper.bucket.kind)"]) }
            if !r.alreadyInBucket.isEmpty {
                logger.info("blocks already in the bucket", metadata: ["blocks": "\(r.alreadyInBucket)"])
            }
        } catch {
            logger.warning("shipping blocks failed; retried at the next pass, nothing is deleted locally until it is uploaded",
                           metadata: ["error": "\(error)"])
        }
    }
}
