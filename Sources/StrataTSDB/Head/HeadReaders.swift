#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Queriers open on the head, so that compaction can wait for them before it drops a range
/// (Prometheus' `WaitForPendingReadersInTimeRange`). A DB querier pins the block list it saw when
/// it was created; while it lives, the head must keep what that list lacks.
final class HeadReaders: Sendable {
    private struct State {
        var next: UInt64 = 0
        /// Open readers by registration number: the oldest time each may read.
        var open: [UInt64: Int64] = [:]
    }
    private let state = Mutex(State())

    /// Registers a reader of `[mint, …]`; it stays registered while the returned pin lives.
    func pin(mint: Int64) -> Pin {
        let id = state.withLock { s in
            let id = s.next
            s.next += 1
            s.open[id] = mint
            return id
        }
        return Pin(readers: self, id: id)
    }

    /// The number the next reader will get: readers below it were registered before now.
    var generation: UInt64 { state.withLock { $0.next } }

    /// Waits (until `deadline`) until no reader registered before `generation` may read below
    /// `t`. Returns false on timeout.
    func waitForReaders(registeredBefore generation: UInt64, below t: Int64, until deadline: ContinuousClock.Instant) -> Bool {
        while state.withLock({ s in s.open.contains { $0.key < generation && $0.value < t } }) {
            if ContinuousClock.now > deadline { return false }
            usleep(1000)
        }
        return true
    }

    var openCount: Int { state.withLock { $0.open.count } }

    fileprivate func release(_ id: UInt64) { _ = state.withLock { $0.open.removeValue(forKey: id) } }

    /// Keeps a reader registered until it is released (when the querier holding it goes away).
    final class Pin: Sendable {
        private let readers: HeadReaders
        private let id: UInt64
        fileprivate init(readers: HeadReaders, id: UInt64) { self.readers = readers; self.id = id }
        deinit { readers.release(id) }
    }
}
