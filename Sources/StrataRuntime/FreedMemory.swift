import CStrataSupport
import Synchronization

/// Gives memory freed by a large, short-lived burst of allocations back to the system.
///
/// glibc's allocator keeps freed memory in its arenas for reuse; after a burst such as ten
/// concurrent remote reads over 100k series, the process would keep its peak (hundreds of MiB)
/// for good. `malloc_trim` hands the free pages back. It walks the arenas (milliseconds), so it
/// runs only when the last of the bursts ends.
public enum FreedMemory {
    private static let active = Atomic<Int>(0)

    /// Runs `body` as one of the bursts; when no other is running afterwards, trims.
    public static func releasingAfter<T>(_ body: () async throws -> T) async rethrows -> T {
        active.add(1, ordering: .relaxed)
        defer {
            if active.subtract(1, ordering: .relaxed).newValue == 0 { trim() }
        }
        return try await body()
    }

    public static func trim() { strata_release_free_memory() }

    /// Bytes allocated and not yet freed, all arenas and mmapped chunks included (glibc's
    /// `mallinfo2`; 0 elsewhere). The benchmarks measure memory per head series with it.
    public static func allocatedBytes() -> Int { strata_allocated_bytes() }
}
