import StrataEncoding
import Testing
@testable import StrataTSDB

/// Inputs the fuzz harnesses (Fuzz/, docs/fuzzing.md) crashed on, minimised by libFuzzer: each
/// must now be refused with an error.
@Suite struct TSDBFuzzRegressionTests {
    /// `wal` harness: one full, snappy-compressed fragment (type 0x09, 27 bytes, CRC32C
    /// recomputed as the harness does) whose snappy header announces 2.5 GiB. Reading the segment
    /// allocated that much before failing; now it is a corruption at offset 0.
    @Test func compressedRecordAnnouncingGigabytesIsCorruption() {
        let segment: [UInt8] = [
            0x09, 0x00, 0x1b, 0x1d, 0x8a, 0x0e, 0x59, 0xff, 0xff, 0xff, 0xff, 0x09, 0x5f, 0x5f, 0x6e, 0x5f, 0x00,
            0x27, 0x0d, 0x5f, 0x00, 0xc0, 0xc0, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f,
        ]
        var scratch: [UInt8] = [], decoded: [UInt8] = []
        var records = 0
        #expect {
            try segment.withUnsafeBytes { try WALReader.read(segment: 3, $0, &scratch, &decoded) { _ in records += 1 } }
        } throws: { error in
            guard let c = error as? WALCorruption else { return false }
            return c.segment == 3 && c.offset == 0 && c.reason.hasPrefix("snappy")
        }
        #expect(records == 0)
        #expect(decoded.capacity < 1 << 20)
    }
}
