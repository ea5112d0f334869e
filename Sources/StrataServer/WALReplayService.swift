import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Replays every tenant's WAL into its head, one tenant after another on a thread of its own,
/// reporting progress to the logs and to `/api/v1/status/walreplay`, then marks the server ready.
struct WALReplayService: Service {
    let tenants: MultiTSDB
    let startup: StartupState
    let metrics: MetricsEndpoint
    let logger: Logger

    /// `/api/v1/status/walreplay` before the first segment is done: one tenant's segment
    /// numbers, as Prometheus reports them; several tenants' segments counted one after another.
    static func initialProgress(_ tenants: [TenantTSDB]) -> StartupState.WALReplay {
        let pending = tenants.map(\.segmentsToReplay).filter { !$0.isEmpty }
        if pending.count == 1 { return .init(min: pending[0].first!, max: pending[0].last!, current: 0) }
        return .init(min: 0, max: max(0, pending.reduce(0) { $0 + $1.count } - 1), current: 0)
    }

    func run() async throws {
        let (tenants, startup, logger) = (self.tenants, self.startup, self.logger)
        let all = tenants.all.filter { !$0.replayed.load(ordering: .acquiring) }
        let counted = all.map(\.segmentsToReplay).filter { !$0.isEmpty }.count > 1
        var total = WALReplayStats()
        var offset = 0
        for t in all {
            logger.info("replaying WAL", metadata: ["tenant": "\(t.name)", "dir": "\(t.walDir)"])
            let base = offset
            offset += t.segmentsToReplay.count
            let replay: WALReplayStats = try await BlockingThread.run {
                try tenants.replay(t, progress: { logger.info("\($0)", metadata: ["tenant": "\(t.name)"]) }, segmentDone: { done, segments in
                    if counted {
                        let p = startup.walReplay
                        startup.setWALReplay(.init(min: p.min, max: p.max, current: base + (segments.firstIndex(of: done) ?? 0)))
                    } else {
                        startup.setWALReplay(.init(min: segments.first ?? 0, max: segments.last ?? 0, current: done))
                    }
                })
            }
            logger.info("WAL replay done", metadata: [
                "tenant": "\(t.name)", "segments": "\(replay.segments)", "snapshot_series": "\(replay.snapshotSeries)", "series": "\(t.head.numSeries)",
                "samples": "\(replay.samples)", "skipped_samples": "\(replay.samplesSkipped)", "seconds": "\(replay.seconds)",
                "samples_per_second": "\(replay.seconds > 0 ? Int(Double(replay.samples) / replay.seconds) : replay.samples)",
            ])
            if let c = replay.corruption {
                logger.warning("WAL was corrupt and has been repaired", metadata: [
                    "tenant": "\(t.name)", "error": "\(c.description)", "bytes_dropped": "\(replay.bytesDropped)",
                ])
            }
            total.add(replay)
        }
        metrics.replay.withLock { $0 = total }
        startup.markReady()
        try? await gracefulShutdown()
    }
}

extension WALReplayStats {
    /// Adds another tenant's replay to these totals (the first corruption is kept).
    mutating func add(_ other: WALReplayStats) {
        segments += other.segments; records += other.records; bytes += other.bytes; series += other.series
        samples += other.samples; samplesSkipped += other.samplesSkipped; bytesDropped += other.bytesDropped
        seconds += other.seconds; snapshotSeries += other.snapshotSeries; snapshotSamples += other.snapshotSamples
        if corruption == nil { corruption = other.corruption }
    }
}
