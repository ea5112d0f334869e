import Synchronization

/// Set when whoever asked for a query no longer wants the answer (its client disconnected). The
/// engine checks it together with its deadline; a concurrency gate drops a waiting request with it.
/// Once cancelled it stays cancelled.
public final class QueryCancellation: Sendable {
    private struct State {
        var cancelled = false
        var nextID = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
    }

    private let flag = Atomic<Bool>(false)
    private let state = Mutex(State())

    public init() {}

    /// Cheap enough for the evaluator's per-series checks.
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    public func cancel() {
        let handlers: [@Sendable () -> Void] = state.withLock { s in
            if s.cancelled { return [] }
            s.cancelled = true
            // The flag is set before any handler runs: a handler that finds nothing to cancel can
            // count on the code it raced with seeing the flag.
            flag.store(true, ordering: .sequentiallyConsistent)
            defer { s.handlers = [:] }
            return Array(s.handlers.values)
        }
        for h in handlers { h() }
    }

    /// Calls `body` once on cancellation, or at once if already cancelled. Returns a key for
    /// `removeHandler`: a connection serves many requests, so handlers must not pile up.
    @discardableResult
    public func onCancel(_ body: @escaping @Sendable () -> Void) -> Int? {
        let key: Int? = state.withLock { s in
            if s.cancelled { return nil }
            s.nextID += 1
            s.handlers[s.nextID] = body
            return s.nextID
        }
        if key == nil { body() }
        return key
    }

    public func removeHandler(_ key: Int?) {
        guard let key else { return }
        _ = state.withLock { $0.handlers.removeValue(forKey: key) }
    }
}
