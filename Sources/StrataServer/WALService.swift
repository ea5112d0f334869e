import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Runs the WALs' periodic fsync (for the `interval` policy) and closes every tenant's WAL on
/// shutdown, after the HTTP server has stopped taking writes, with a head snapshot each.
struct WALService: Service {
    let tenants: MultiTSDB
    let fsync: WALFsyncPolicy
    /// The data directory's lock: held for as long as the server exists (the kernel drops it when
    /// the process ends, after the shipper's last uploads too).
    let lock: DirectoryLock?
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        if case .interval(let ms) = fsync {
            // Sleep until shutdown; each wake-up fsyncs whatever was written since the last one.
            while !Task.isCancelledOrShuttingDown {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(ms)) }
                // An fsync can take long on a busy disk; keep it off the threads that serve requests.
                for t in tenants.all {
                    guard let wal = t.wal else { continue }
                    do { try await BlockingThread.run { try wal.sync() } } catch {
                        logger.error("WAL fsync failed", metadata: ["tenant": "\(t.name)", "error": "\(error)"])
                    }
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        for t in tenants.all { close(t) }
    }

    private func close(_ t: TenantTSDB) {
        guard let wal = t.wal else { return }
        // No commit may be between its WAL write and its apply when the snapshot below is taken.
        do { try t.head.withCommitsPaused { try wal.close() } } catch {
            logger.error("closing the WAL failed", metadata: ["tenant": "\(t.name)", "error": "\(error)"])
            return
        }
        logger.info("WAL closed", metadata: ["tenant": "\(t.name)"])
        // With writes stopped, snapshot the head so the next start need not replay the WAL.
        // Not while replay is unfinished: the head would be incomplete.
        guard startup.isReady, t.replayed.load(ordering: .acquiring) else { return }
        let start = ContinuousClock.now
        do {
            let n = try HeadSnapshot.write(t.head, dir: t.dir, walSegment: wal.segmentIndex)
            logger.info("head snapshot written", metadata: ["tenant": "\(t.name)", "series": "\(n)", "seconds": "\(ContinuousClock.now - start)"])
        } catch {
            logger.error("writing the head snapshot failed; the next start replays the WAL", metadata: ["tenant": "\(t.name)", "error": "\(error)"])
            try? HeadSnapshot.remove(dir: t.dir)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
