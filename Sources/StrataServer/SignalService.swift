import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Handles the signals `strata serve` gets, and says so in the log: SIGTERM and SIGINT start the
/// graceful shutdown (logged with the signal, then each stage by the services: HTTP stopped,
/// WAL closed, head snapshot written); SIGHUP, which would otherwise end the process on the spot,
/// reloads the rule files (a bad one keeps the rules in force and is logged). The other files
/// Strata can take new versions of (web config, limits) are re-read by themselves when they
/// change, and flags need a restart.
public struct SignalService: Service {
    let logger: Logger
    let reloader: Reloader
    let triggerShutdown: @Sendable () async -> Void

    /// `triggerShutdown` starts the graceful shutdown of the group this service runs in.
    public init(logger: Logger, reloader: Reloader = Reloader(), triggerShutdown: @escaping @Sendable () async -> Void) {
        self.logger = logger
        self.reloader = reloader
        self.triggerShutdown = triggerShutdown
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        try? await cancelWhenGracefulShutdown {
            for await signal in signals {
                if signal == .sighup {
                    logger.info("SIGHUP received: reloading the rule files (--web.config.file and --receive.limits-config-file are re-read when they change; other settings need a restart)")
                    // The manager logs the outcome; a failed reload keeps the rules in force.
                    _ = try? reloader.reload()
                    continue
                }
                logger.info("\(signal) received: shutting down (new connections refused, requests in progress finish, then the WAL is closed and the head snapshotted)")
                await triggerShutdown()
                return
            }
        }
    }
}
