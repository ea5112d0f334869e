import Synchronization

/// A token bucket of samples per tenant: `rate` tokens a second up to `burst`. Each tenant has its
/// own bucket, so one sending too fast is refused (429) without slowing any other.
final class IngestionRateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var updated: ContinuousClock.Instant }
    private let buckets = Mutex<[String: Bucket]>([:])

    enum Verdict: Equatable {
        case allowed
        /// Try again after this many whole seconds.
        case retryAfter(Int)
        /// Larger than the burst: never allowed, however long the sender waits.
        case largerThanBurst
    }

    /// Takes `samples` tokens from `tenant`'s bucket, or says when there will be enough.
    func take(_ samples: Int, tenant: String, rate: Double, burst: Double, now: ContinuousClock.Instant = .now) -> Verdict {
        let n = Double(samples)
        if n > burst { return .largerThanBurst }
        return buckets.withLock { all in
            var b = all[tenant] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double((now - b.updated).components.seconds) + Double((now - b.updated).components.attoseconds) / 1e18
            b.tokens = min(burst, b.tokens + max(0, elapsed) * rate)
            b.updated = now
            defer { all[tenant] = b }
            if b.tokens >= n {
                b.tokens -= n
                return .allowed
            }
            return .retryAfter(max(1, Int(((n - b.tokens) / rate).rounded(.up))))
        }
    }
}
