#if canImport(Glibc)
import Glibc
#endif

/// Runs long, blocking work (a PromQL evaluation, a compaction, a WAL replay, compressing a large
/// body) on a thread of its own.
///
/// Not on `DispatchQueue.global()`: on Linux, Swift's concurrency runtime runs its tasks on the
/// same dispatch worker pool, which grows slowly past the core count. Two CPU-bound queries there
/// kept `/-/healthy` and remote write waiting 6.7 s on a 2-core machine. A thread costs tens of
/// microseconds to start, nothing beside a query.
public enum BlockingThread {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in start { cont.resume(returning: work()) } }
    }

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in start { cont.resume(with: Result { try work() }) } }
    }

    private final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread with an 8 MiB stack (deeply nested queries recurse).
    public static func start(_ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 8 << 20)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attr, { arg in
            Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, job)
        // Out of threads: run it here rather than lose it (the caller is waiting for it).
        if rc != 0 { Unmanaged<Job>.fromOpaque(job).takeRetainedValue().body() }
    }
}
