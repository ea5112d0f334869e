import Testing
@testable import StrataRuntime

/// `FreedMemory.allocatedBytes` is what the memory-per-series benchmark measures with: it must
/// see a heap allocation come and go.
@Suite struct FreedMemoryTests {
    @Test func allocatedBytesFollowsAnAllocation() {
        #if canImport(Glibc)
        let before = FreedMemory.allocatedBytes()
        // 64 MiB (an mmapped chunk, counted at once): far more than other tests running
        // meanwhile allocate or free in the microseconds between the readings.
        let size = 64 << 20
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        let during = FreedMemory.allocatedBytes()
        p.deallocate()
        let after = FreedMemory.allocatedBytes()
        #expect(during - before >= size - (8 << 20), "grew by \(during - before)")
        #expect(during - after >= size - (8 << 20), "shrank by \(during - after)")
        #endif
    }
}
