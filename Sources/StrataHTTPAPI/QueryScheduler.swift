import Dispatch
import Synchronization

/// Runs queries off Swift's cooperative thread pool, at most `maxConcurrency` at a time; the rest
/// wait in arrival order (Prometheus' `--query.max-concurrency`). Queries are CPU-bound and
/// synchronous, so running them on the cooperative pool would stall remote write and health
/// checks on a small machine.
final class QueryScheduler: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var head = 0 // index of the next waiter (amortized FIFO without Deque)
    }

    let maxConcurrency: Int
    private let state = Mutex(State())

    init(maxConcurrency: Int) { self.maxConcurrency = max(1, maxConcurrency) }

    /// Waits for a slot, runs `work` on a dispatch thread, frees the slot.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await acquire()
        let result: T = await withCheckedContinuation { cont in
            DispatchQueue.global().async { cont.resume(returning: work()) }
        }
        release()
        return result
    }

    /// Queries running and waiting now (for `/metrics`).
    var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count - $0.head) }
    }

    private func acquire() async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let runNow: Bool = state.withLock { s in
                if s.running < maxConcurrency { s.running += 1; return true }
                s.waiting.append(cont)
                return false
            }
            if runNow { cont.resume() }
        }
    }

    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard s.head < s.waiting.count else { s.running -= 1; return nil }
            let c = s.waiting[s.head]
            s.head += 1
            if s.head > 64 && s.head * 2 > s.waiting.count {
                s.waiting.removeFirst(s.head); s.head = 0
            }
            return c // the slot passes straight to the next waiter
        }
        next?.resume()
    }
}
