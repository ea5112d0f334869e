#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Runs long, blocking work (a PromQL evaluation, a compaction, a WAL replay, compressing a large
/// body) on a thread of its own.
///
/// Not on `DispatchQueue.global()`: on Linux, Swift's concurrency runtime runs its tasks on the
/// same dispatch worker pool, which grows slowly past the core count. Two CPU-bound queries there
/// kept `/-/healthy` and remote write waiting 6.7 s on a 2-core machine. A thread costs tens of
/// microseconds to start, nothing beside a query.
public enum BlockingThread {
    /// Stack of a thread that parses or evaluates PromQL: parsing, type checking, printing and
    /// evaluation recurse once per level of the expression, up to `PromQLParser.maxDepth`
    /// levels. Only the pages a query touches are ever backed by memory.
    public static let queryStackBytes = 512 << 20

    public static func run<T: Sendable>(stackBytes: Int = 8 << 20, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in start(stackBytes: stackBytes) { cont.resume(returning: work()) } }
    }

    public static func run<T: Sendable>(stackBytes: Int = 8 << 20, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in start(stackBytes: stackBytes) { cont.resume(with: Result { try work() }) } }
    }

    /// `work` on a thread of its own, waited for: for synchronous callers whose own stack may be
    /// too small for it (rule files hold PromQL and templates, parsed at start-up and on reload).
    public static func runAndWait<T: Sendable, E: Error>(stackBytes: Int, _ work: @escaping @Sendable () throws(E) -> T) throws(E) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T, E>()
        start(stackBytes: stackBytes) {
            result.value = Result { () throws(E) -> T in try work() }
            done.signal()
        }
        done.wait()
        return try result.value!.get()
    }

    /// `body(0)` on the calling thread and `body(1)` … `body(count - 1)` on threads of their own,
    /// returning once all are done: a query's worker threads (never the dispatch pool, for the
    /// reason above).
    public static func parallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        let done = DispatchSemaphore(value: 0)
        for k in 1 ..< count { start { body(k); done.signal() } }
        body(0)
        for _ in 1 ..< count { done.wait() }
    }

    /// Written by the worker before it signals, read by the waiter after: the semaphore orders them.
    private final class ResultBox<T, E: Error>: @unchecked Sendable {
        var value: Result<T, E>?
    }

    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread with a stack of `stackBytes`.
    public static func start(stackBytes: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackBytes)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { arg in
            Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }
        var rc = pthread_create(&thread, &attr, entry, job)
        if rc != 0 && stackBytes > 8 << 20 {
            // The reservation was refused (strict overcommit, an address-space limit): a
            // smaller stack still beats running on the caller's.
            pthread_attr_setstacksize(&attr, 8 << 20)
            rc = pthread_create(&thread, &attr, entry, job)
        }
        // Out of threads: run it here rather than lose it (the caller is waiting for it).
        if rc != 0 { Unmanaged<Job>.fromOpaque(job).takeRetainedValue().body() }
    }
}
