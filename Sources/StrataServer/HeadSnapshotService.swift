import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Writes a head snapshot periodically, so a start after a crash loads the snapshot and replays
/// only the WAL written since (the clean-shutdown snapshot is WALService's job).
struct HeadSnapshotService: Service {
    let tenants: MultiTSDB
    let intervalMillis: Int64
    let startup: StartupState
    let logger: Logger

    func run() async throws {
        guard intervalMillis > 0 else { try? await gracefulShutdown(); return }
        while !Task.isCancelledOrShuttingDown {
            // Wake up at once on shutdown rather than after a whole interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(intervalMillis)) }
            if Task.isCancelledOrShuttingDown { break }
            guard startup.isReady else { continue }
            for t in tenants.all where !Task.isCancelledOrShuttingDown { await snapshot(t) }
        }
    }

    private func snapshot(_ t: TenantTSDB) async {
        guard let wal = t.wal else { return }
        let start = ContinuousClock.now
        do {
            // Seconds for a large head: on a thread of its own, not one that serves requests.
            let (segment, n) = try await BlockingThread.run {
                // Every commit logged into the closed segment has applied once this returns.
                let segment = try t.head.withCommitsPaused { try wal.rotate() }
                return (segment, try HeadSnapshot.write(t.head, dir: t.dir, walSegment: segment))
            }
            logger.info("periodic head snapshot written", metadata: [
                "tenant": "\(t.name)", "series": "\(n)", "wal_segment": "\(segment)", "seconds": "\(ContinuousClock.now - start)",
            ])
        } catch {
            // Shutdown closes the WAL under us; anything else is worth a log line. The previous
            // snapshot (if any) stays valid: it covers an earlier segment.
            if !Task.isCancelledOrShuttingDown {
                logger.error("periodic head snapshot failed", metadata: ["tenant": "\(t.name)", "error": "\(error)"])
            }
        }
    }
}
