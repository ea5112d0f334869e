/// Thanos Receive's write limits (`--receive.limits-config-file`), per tenant with defaults, plus
/// an ingestion rate per tenant (a Strata addition, with Mimir's names).
public struct WriteLimits: Sendable, Equatable {
    /// `write.global.max_concurrency`: writes processed at once (nil or 0: the
    /// `--receive.max-concurrent-writes` flag's value).
    public var maxConcurrency: Int?
    /// `write.default`: for every tenant without its own value.
    public var defaults = TenantLimits()
    /// `write.tenants`: a value set here wins over the default; one left out inherits it.
    public var tenants: [String: TenantLimits] = [:]

    public init() {}

    /// One tenant's limits, each nil when not set (inherit) and 0 when unlimited.
    public struct TenantLimits: Sendable, Equatable {
        public var sizeBytes: Int64?
        public var series: Int64?
        public var samples: Int64?
        public var headSeries: Int64?
        /// Samples per second, sustained, and how many may come at once above it.
        public var ingestionRate: Double?
        public var ingestionBurst: Int64?
        public init() {}
    }

    /// What applies to `tenant`: its own values over the defaults; 0 and absent mean no limit.
    public func effective(for tenant: String) -> Effective {
        let own = tenants[tenant]
        func pick<T: Numeric & Comparable>(_ k: KeyPath<TenantLimits, T?>) -> T? {
            guard let v = own?[keyPath: k] ?? defaults[keyPath: k], v > 0 else { return nil }
            return v
        }
        let rate = pick(\.ingestionRate)
        return Effective(sizeBytes: pick(\.sizeBytes).map(Int.init), series: pick(\.series).map(Int.init),
                         samples: pick(\.samples).map(Int.init), headSeries: pick(\.headSeries).map(Int.init),
                         ingestionRate: rate,
                         ingestionBurst: rate.map { r in pick(\.ingestionBurst).map(Double.init) ?? r })
    }

    public struct Effective: Sendable, Equatable {
        public var sizeBytes: Int?
        public var series: Int?
        public var samples: Int?
        public var headSeries: Int?
        /// Samples per second, and the bucket's size (default: one second's worth).
        public var ingestionRate: Double?
        public var ingestionBurst: Double?
    }
}
