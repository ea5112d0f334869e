import Logging
import ServiceLifecycle
import StrataHTTPAPI
import StrataRuntime
import StrataTSDB

/// Replays the WAL into the head on a thread of its own, reporting progress to the logs and to
/// `/api/v1/status/walreplay`, then marks the server ready.
struct WALReplayService: Service {
    let db: DB
    var head: Head { db.head }
    let wal: WAL
    let walDir: String
    let snapshotDir: String
    let startup: StartupState
    let metrics: MetricsEndpoint
    let logger: Logger

    func run() async throws {
        let (head, wal, walDir, snapshotDir, startup, logger) = (self.head, self.wal, self.walDir, self.snapshotDir, self.startup, self.logger)
        logger.info("replaying WAL", metadata: ["dir": "\(walDir)"])
        let replay: WALReplayStats = try await BlockingThread.run {
            try head.replayWAL(dir: walDir, below: wal.segmentIndex, snapshotDir: snapshotDir,
                               progress: { logger.info("\($0)") },
                               segmentDone: { done, all in
                                   startup.setWALReplay(.init(min: all.first ?? 0, max: all.last ?? 0, current: done))
                               })
        }
        logger.info("WAL replay done", metadata: [
            "segments": "\(replay.segments)", "snapshot_series": "\(replay.snapshotSeries)", "series": "\(head.numSeries)", "samples": "\(replay.samples)",
            "skipped_samples": "\(replay.samplesSkipped)", "seconds": "\(replay.seconds)",
            "samples_per_second": "\(replay.seconds > 0 ? Int(Double(replay.samples) / replay.seconds) : replay.samples)",
        ])
        if let c = replay.corruption {
            logger.warning("WAL was corrupt and has been repaired", metadata: [
                "error": "\(c.description)", "bytes_dropped": "\(replay.bytesDropped)",
            ])
        }
        // The WAL may still hold samples that blocks already have (compacted before the restart).
        if let t = db.truncateHeadToBlocks(), t.chunksRemoved > 0 {
            logger.info("dropped head data already in blocks", metadata: ["chunks": "\(t.chunksRemoved)", "series": "\(t.seriesRemoved)"])
        }
        metrics.replay.withLock { $0 = replay }
        startup.markReady()
        try? await gracefulShutdown()
    }
}
