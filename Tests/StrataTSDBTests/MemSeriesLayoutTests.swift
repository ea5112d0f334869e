import CStrataSupport
import StrataBlock
import StrataModel
import Testing
@testable import StrataTSDB

/// The head keeps a record per series; at a million series each 16 bytes is 16 MiB, so the
/// layout the comments in MemSeries and XORAppender promise is checked here.
@Suite struct MemSeriesLayoutTests {
    @Test func appenderStateIs29BytesAndTheSeriesRecordA144ByteAllocation() {
        #expect(MemoryLayout<XORAppender>.size == 29)
        let s = MemSeries(ref: 1, hash: 2, labels: Labels([("__name__", "m")]))
        // glibc's usable size of the allocation: 136 bytes of a 144-byte chunk (was 168 of 176).
        let usable = strata_allocation_size(Unmanaged.passUnretained(s).toOpaque())
        #expect(usable > 0 && usable <= 136, "MemSeries allocation has \(usable) usable bytes")
        withExtendedLifetime(s) {}
    }
}
