import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Runs the WAL's periodic fsync (for the `interval` policy) and closes the WAL on shutdown,
/// after the HTTP server has stopped taking writes.
struct WALService: Service {
    let wal: WAL
    let head: Head
    /// Where the clean-shutdown head snapshot goes (the data directory).
    let snapshotDir: String
    /// The data directory's lock: held for as long as the server exists (the kernel drops it when
    /// the process ends, after the shipper's last uploads too).
    let lock: DirectoryLock?
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        if case .interval(let ms) = wal.options.fsync {
            // Sleep until shutdown; each wake-up fsyncs whatever was written since the last one.
            while !Task.isCancelledOrShuttingDown {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(ms)) }
                // An fsync can take long on a busy disk; keep it off the threads that serve requests.
                do { try await BlockingThread.run { [wal] in try wal.sync() } } catch {
                    logger.error("WAL fsync failed", metadata: ["error": "\(error)"])
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        // No commit may be between its WAL write and its apply when the snapshot below is taken.
        do { try head.withCommitsPaused { try wal.close() } } catch {
            logger.error("closing the WAL failed", metadata: ["error": "\(error)"])
            return
        }
        logger.info("WAL closed")
        // With writes stopped, snapshot the head so the next start need not replay the WAL.
        // Not while replay is unfinished: the head would be incomplete.
        guard startup.isReady else { return }
        let start = ContinuousClock.now
        do {
            let n = try HeadSnapshot.write(head, dir: snapshotDir, walSegment: wal.segmentIndex)
            logger.info("head snapshot written", metadata: ["series": "\(n)", "seconds": "\(ContinuousClock.now - start)"])
        } catch {
            logger.error("writing the head snapshot failed; the next start replays the WAL", metadata: ["error": "\(error)"])
            try? HeadSnapshot.remove(dir: snapshotDir)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
