import Synchronization

/// Counters the API keeps for /metrics.
public final class APIStats: Sendable {
    /// Remote-write responses by status code.
    public static let writeCodes = [200, 204, 400, 405, 409, 413, 415, 429, 500, 503]
    // Atomics cannot live in arrays (they are not copyable): one per code.
    private let w200 = Atomic<Int>(0), w204 = Atomic<Int>(0), w400 = Atomic<Int>(0), w405 = Atomic<Int>(0), w409 = Atomic<Int>(0)
    private let w413 = Atomic<Int>(0), w415 = Atomic<Int>(0), w429 = Atomic<Int>(0), w500 = Atomic<Int>(0), w503 = Atomic<Int>(0)
    public let samplesAccepted = Atomic<Int>(0)
    public let samplesRejected = Atomic<Int>(0)
    /// Writes answered 503 because no write slot freed within the queue timeout.
    public let writesThrottled = Atomic<Int>(0)
    public let instantQueries = Atomic<Int>(0)
    public let rangeQueries = Atomic<Int>(0)
    public let queryErrors = Atomic<Int>(0)
    /// Queries dropped from the queue or stopped because their client went away.
    public let queriesCanceled = Atomic<Int>(0)

    public init() {}

    private func counter<T>(_ code: Int, _ body: (borrowing Atomic<Int>) -> T) -> T? {
        switch code {
        case 200: return body(w200)
        case 204: return body(w204)
        case 400: return body(w400)
        case 405: return body(w405)
        case 409: return body(w409)
        case 413: return body(w413)
        case 415: return body(w415)
        case 429: return body(w429)
        case 500: return body(w500)
        case 503: return body(w503)
        default: return nil
        }
    }

    func countWrite(_ code: Int) { _ = counter(code) { $0.add(1, ordering: .relaxed) } }

    public func writeRequests(code: Int) -> Int { counter(code) { $0.load(ordering: .relaxed) } ?? 0 }
}
