import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Handles the signals `strata serve` gets, and says so in the log: SIGTERM and SIGINT start the
/// graceful shutdown (logged with the signal, then each stage by the services: HTTP stopped,
/// WAL closed, head snapshot written); SIGHUP, which would otherwise end the process on the spot,
/// is logged and changes nothing else: the files Strata can take new versions of (web config,
/// limits) are re-read by themselves when they change, and flags need a restart.
public struct SignalService: Service {
    let logger: Logger
    let triggerShutdown: @Sendable () async -> Void

    /// `triggerShutdown` starts the graceful shutdown of the group this service runs in.
    public init(logger: Logger, triggerShutdown: @escaping @Sendable () async -> Void) {
        self.logger = logger
        self.triggerShutdown = triggerShutdown
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        try? await cancelWhenGracefulShutdown {
            for await signal in signals {
                if signal == .sighup {
                    logger.info("SIGHUP received: nothing to reload by signal; --web.config.file and --receive.limits-config-file are re-read when they change, other settings need a restart")
                    continue
                }
                logger.info("\(signal) received: shutting down (new connections refused, requests in progress finish, then the WAL is closed and the head snapshotted)")
                await triggerShutdown()
                return
            }
        }
    }
}
