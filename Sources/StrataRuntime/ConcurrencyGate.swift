import Synchronization

/// Runs blocking work (queries, remote reads) on threads of their own (`BlockingThread`), at most
/// `maxConcurrency` at a time; the rest wait in arrival order (Prometheus' `--query.max-concurrency`).
/// The work is CPU-bound and synchronous, so running it where Swift's tasks run would stall remote
/// write and health checks on a small machine. Work whose client went away leaves the queue at once.
public final class ConcurrencyGate: Sendable {
    fileprivate struct Waiter {
        let id: UInt64
        let resume: CheckedContinuation<Bool, Never>
    }

    fileprivate struct State {
        var running = 0
        var queue: [Waiter?] = [] // nil: left the queue (cancelled)
        var head = 0              // index of the next waiter (amortized FIFO without Deque)
        var waiting = 0
        var nextID: UInt64 = 0
        var limit: Int
    }

    private let state: Mutex<State>

    public init(maxConcurrency: Int) { state = Mutex(State(limit: max(1, maxConcurrency))) }

    /// Slots there are (at least 1).
    public var maxConcurrency: Int { state.withLock { $0.limit } }

    /// Changes the number of slots (a limits file reloaded). More slots start waiters at once;
    /// fewer take effect as running work finishes.
    public func setMaxConcurrency(_ n: Int) {
        let started: [Waiter] = state.withLock { s in
            s.limit = max(1, n)
            var out: [Waiter] = []
            while s.running < s.limit, let w = s.popWaiter() {
                s.running += 1
                out.append(w)
            }
            return out
        }
        for w in started { w.resume.resume(returning: true) }
    }

    /// Waits for a slot, runs `work` on a dispatch thread, frees the slot.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        _ = await acquire(nil)
        defer { release() }
        return await BlockingThread.run(stackBytes: BlockingThread.queryStackBytes, work)
    }

    /// As `run`, but nil without running `work` when `cancellation` fires (or the calling task is
    /// cancelled) while it waits for a slot.
    public func run<T: Sendable>(unless cancellation: QueryCancellation?, _ work: @escaping @Sendable () -> T) async -> T? {
        guard let slot = await hold(unless: cancellation) else { return nil }
        defer { slot.release() }
        return await BlockingThread.run(stackBytes: BlockingThread.queryStackBytes, work)
    }

    /// Waits for a slot and hands it over as a `Slot`, for work that outlives a handler (a
    /// streamed response body): the slot is freed by `Slot.release()` or, failing that, when the
    /// token is dropped. Nil when `cancellation` fires first.
    public func hold(unless cancellation: QueryCancellation?) async -> Slot? {
        let cancellation = cancellation ?? QueryCancellation()
        let granted = await withTaskCancellationHandler {
            await acquire(cancellation)
        } onCancel: {
            cancellation.cancel()
        }
        guard granted else { return nil }
        if cancellation.isCancelled { release(); return nil }
        return Slot { [self] in release() }
    }

    /// A slot at once if one is free, without suspending (no continuation, no task hop: the
    /// write path takes this on every request); nil when all are taken.
    public func tryHold() -> Slot? {
        let granted = state.withLock { s in
            guard s.running < s.limit else { return false }
            s.running += 1
            return true
        }
        return granted ? Slot { [self] in release() } : nil
    }

    /// A slot, waiting at most `timeout` for one (in arrival order); nil on timeout or when
    /// `cancellation` fires first.
    public func hold(timeout: Duration, unless cancellation: QueryCancellation? = nil) async -> Slot? {
        if let slot = tryHold() { return slot }
        let waiting = QueryCancellation()
        let link = cancellation?.onCancel { waiting.cancel() }
        defer { cancellation?.removeHandler(link) }
        let timer = Task {
            try await Task.sleep(for: timeout)
            waiting.cancel()
        }
        defer { timer.cancel() }
        return await hold(unless: waiting)
    }

    /// A held slot; released once, explicitly or on deinit.
    public final class Slot: Sendable {
        private let free: Mutex<(@Sendable () -> Void)?>
        init(_ free: @escaping @Sendable () -> Void) { self.free = Mutex(free) }
        public func release() { free.withLock { f in let g = f; f = nil; return g }?() }
        deinit { release() }
    }

    /// Queries running and waiting now (for `/metrics`).
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting) }
    }

    /// True with a slot held; false when `cancellation` fired first (no slot held).
    private func acquire(_ cancellation: QueryCancellation?) async -> Bool {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        let key = cancellation?.onCancel { [self] in leaveQueue(id) }
        defer { cancellation?.removeHandler(key) }
        return await withCheckedContinuation { (cont: CheckedContinuation<Bool, Never>) in
            let now: Bool? = state.withLock { s in
                // Checked under the lock: a cancel after this point finds the waiter queued.
                if cancellation?.isCancelled == true { return false }
                if s.running < s.limit { s.running += 1; return true }
                s.queue.append(Waiter(id: id, resume: cont))
                s.waiting += 1
                return nil
            }
            if let now { cont.resume(returning: now) }
        }
    }

    private func leaveQueue(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { s in
            guard let i = s.queue[s.head...].firstIndex(where: { $0?.id == id }) else { return nil }
            defer { s.queue[i] = nil; s.waiting -= 1 }
            return s.queue[i]
        }
        waiter?.resume.resume(returning: false)
    }

    private func release() {
        let next: Waiter? = state.withLock { s in
            // The slot passes straight to the next waiter, unless the gate was made smaller.
            if s.running <= s.limit, let w = s.popWaiter() { return w }
            s.running -= 1
            return nil
        }
        next?.resume.resume(returning: true)
    }
}

extension ConcurrencyGate.State {
    /// The next waiter still in line, nil when there is none.
    fileprivate mutating func popWaiter() -> ConcurrencyGate.Waiter? {
        while head < queue.count {
            let w = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head); head = 0
            }
            if let w { waiting -= 1; return w }
        }
        return nil
    }
}
