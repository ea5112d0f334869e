#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataBlock

/// A plain mutex (pthread). Used where a closure-based lock would get in the way of the hot path.
public final class Lock: @unchecked Sendable {
    private let m: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        m = .allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
    }

    deinit { pthread_mutex_destroy(m); m.deallocate() }

    @inline(__always) public func lock() { pthread_mutex_lock(m) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(m) }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock(); defer { unlock() }
        return try body()
    }
}

/// A readers-writer lock (pthread), for the postings index: many queries, occasional new series.
public final class RWLock: @unchecked Sendable {
    private let l: UnsafeMutablePointer<pthread_rwlock_t>

    /// `preferWriters`: a waiting writer goes before new readers, so a stream of readers cannot
    /// starve it (glibc's default lets readers in while any reader holds the lock).
    public init(preferWriters: Bool = false) {
        l = .allocate(capacity: 1)
        l.initialize(to: pthread_rwlock_t())
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        #if canImport(Glibc)
        if preferWriters { pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP)) }
        #endif
        pthread_rwlock_init(l, &attr)
        pthread_rwlockattr_destroy(&attr)
    }

    deinit { pthread_rwlock_destroy(l); l.deallocate() }

    @inline(__always) public func lockShared() { pthread_rwlock_rdlock(l) }
    @inline(__always) public func unlock() { pthread_rwlock_unlock(l) }

    @inline(__always)
    public func withReadLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(l); defer { pthread_rwlock_unlock(l) }
        return try body()
    }

    @inline(__always)
    public func withWriteLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(l); defer { pthread_rwlock_unlock(l) }
        return try body()
    }
}
