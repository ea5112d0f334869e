import Synchronization

/// Lets one log line per key through every `interval` and counts the ones held back, so a
/// sender stuck on a bad write (retrying it every few seconds, from many shards) cannot flood
/// the log, while the first refusal and the number since are still there to see.
final class RateLimitedLog: Sendable {
    private let interval: Duration
    private let last = Mutex<[String: (at: ContinuousClock.Instant, suppressed: Int)]>([:])

    init(interval: Duration) { self.interval = interval }

    /// Whether to log for `key` now, and how many were held back since the last line.
    func admit(_ key: String, now: ContinuousClock.Instant = .now) -> (Bool, suppressed: Int) {
        last.withLock { all in
            if let prev = all[key], now - prev.at < interval {
                all[key] = (prev.at, prev.suppressed + 1)
                return (false, 0)
            }
            let suppressed = all[key]?.suppressed ?? 0
            all[key] = (now, 0)
            return (true, suppressed)
        }
    }
}
