import Logging
import ServiceLifecycle
import StrataTSDB

/// Runs the WAL's periodic fsync (for the `interval` policy) and closes the WAL on shutdown,
/// after the HTTP server has stopped taking writes.
struct WALService: Service {
    let wal: WAL
    let logger: Logger

    func run() async throws {
        if case .interval(let ms) = wal.options.fsync {
            // Sleep until shutdown; each wake-up fsyncs whatever was written since the last one.
            while !Task.isCancelledOrShuttingDown {
                try? await Task.sleep(for: .milliseconds(ms))
                do { try wal.sync() } catch { logger.error("WAL fsync failed", metadata: ["error": "\(error)"]) }
            }
        } else {
            try? await gracefulShutdown()
        }
        do { try wal.close() } catch { logger.error("closing the WAL failed", metadata: ["error": "\(error)"]) }
        logger.info("WAL closed")
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
