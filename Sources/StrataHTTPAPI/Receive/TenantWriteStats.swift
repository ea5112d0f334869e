import Synchronization

/// Remote-write outcomes per tenant, for `/metrics` (label `tenant`, as Thanos Receive's).
public final class TenantWriteStats: Sendable {
    public struct Counts: Sendable {
        /// Requests by HTTP status code.
        public var requests: [Int: Int] = [:]
        public var samplesAccepted = 0
        /// Requests refused by a limit, by limit name (`size_bytes_limit`, `series_limit`,
        /// `samples_limit`, `head_series_limit`, `ingestion_rate`).
        public var limitRefusals: [String: Int] = [:]
    }

    private let counts = Mutex<[String: Counts]>([:])

    func record(_ tenant: String, status: Int, samples: Int = 0, limit: String? = nil) {
        counts.withLock { all in
            var c = all[tenant] ?? Counts()
            c.requests[status, default: 0] += 1
            c.samplesAccepted += samples
            if let limit { c.limitRefusals[limit, default: 0] += 1 }
            all[tenant] = c
        }
    }

    /// Every tenant seen since start.
    public var snapshot: [String: Counts] { counts.withLock { $0 } }
}
