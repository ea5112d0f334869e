import StrataModel

/// Why a sample or series was not stored. The HTTP layer maps these to statuses and messages.
public enum AppendFailure: Sendable, Equatable {
    case outOfOrder          // older than the series' newest sample
    case duplicate           // same timestamp as the newest sample, different value
    case outOfBounds         // older than the head accepts
    case tooFarInFuture      // newer than the server's clock plus `--tsdb.too-far-in-future.time-window`
    case invalidLabels(String)
    case unsupported(String)

    public var message: String {
        switch self {
        case .outOfOrder: return "out of order sample"
        case .duplicate: return "duplicate sample for timestamp"
        case .outOfBounds: return "out of bounds"
        case .tooFarInFuture: return "out of bounds: timestamp is too far in the future (beyond the server's clock plus --tsdb.too-far-in-future.time-window)"
        case .invalidLabels(let why): return "invalid labels: \(why)"
        case .unsupported(let why): return why
        }
    }
}

/// What happened to one series' samples in a write.
public struct AppendResult: Sendable, Equatable {
    public var accepted: Int = 0
    public var rejected: Int = 0
    /// The first rejection (index into the samples, reason); nil when all were accepted.
    public var firstFailure: (index: Int, failure: AppendFailure)? = nil

    public init(accepted: Int = 0, rejected: Int = 0, firstFailure: (index: Int, failure: AppendFailure)? = nil) {
        self.accepted = accepted; self.rejected = rejected; self.firstFailure = firstFailure
    }

    public static func == (a: AppendResult, b: AppendResult) -> Bool {
        a.accepted == b.accepted && a.rejected == b.rejected
            && a.firstFailure?.index == b.firstFailure?.index && a.firstFailure?.failure == b.firstFailure?.failure
    }
}

/// Receives decoded writes. One appender serves one request. `append` checks and stages samples;
/// nothing is visible to readers until `commit`, which makes them durable (in the WAL, when there
/// is one) and then applies them all: a request is all-or-nothing, and a commit that throws
/// applied nothing. `rollback` (or dropping the appender) discards what was staged.
///
/// The API is per series, not per sample, so a decoder crosses this protocol boundary once per
/// series: `labels` is a canonical label blob (see `Labels`), valid only during the call.
public protocol Appender: AnyObject {
    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult
    func appendMetadata(_ metadata: MetricMetadata)
    func commit() throws
    func rollback()
}

extension Appender {
    /// `append(labels:samples:)` for callers that hold `Labels` (a ruler, an importer, tests):
    /// the label bytes are borrowed for the call, which a `Labels` value keeps canonical.
    @discardableResult
    public func append(_ labels: Labels, _ samples: [Sample]) -> AppendResult {
        labels.bytes.withUnsafeBytes { lb in samples.withUnsafeBufferPointer { append(labels: lb, samples: $0) } }
    }
}

public protocol Appendable: Sendable {
    func appender() -> any Appender
}

/// Storage that keeps tenants apart (one TSDB each, as Thanos Receive): a write goes to the
/// tenant it names, whose storage is opened or created on first use.
public protocol TenantAppendable: Sendable {
    func appender(tenant: String) throws -> any Appender
}

/// One storage for every tenant (tests, tools, the in-memory storage): the tenant is ignored.
public struct SharedTenantAppendable: TenantAppendable {
    public let base: any Appendable
    public init(_ base: any Appendable) { self.base = base }
    public func appender(tenant: String) throws -> any Appender { base.appender() }
}
