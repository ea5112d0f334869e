import Testing
@testable import StrataEncoding

/// Inputs the fuzz harnesses (Fuzz/, docs/fuzzing.md) crashed on, minimised by libFuzzer: each
/// must now be refused with an error.
@Suite struct EncodingFuzzRegressionTests {
    /// `wal` harness (a compressed WAL record): 27 bytes whose snappy header announces
    /// 0x9FFF_FFFF bytes. `Snappy.decompress` zero-filled 2.5 GiB before libsnappy refused the
    /// block (libFuzzer's out-of-memory report, malloc(2684354591)).
    @Test func blockAnnouncingMoreThanItsBytesCanHoldIsCorrupt() throws {
        let record: [UInt8] = [
            0xff, 0xff, 0xff, 0xff, 0x09, 0x5f, 0x5f, 0x6e, 0x5f, 0x00, 0x27, 0x0d, 0x5f, 0x00,
            0xc0, 0xc0, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x5f,
        ]
        let announced = try record.withUnsafeBytes { try Snappy.decodedLength($0) }
        #expect(announced == 0x9FFF_FFFF)
        #expect(throws: Snappy.Error.corrupt) { try Snappy.decompress(record) }
        // A size limit the caller gives still reports first (remote write answers 413 for it).
        #expect(throws: Snappy.Error.tooLarge(decodedBytes: 0x9FFF_FFFF, limit: 1 << 20)) {
            try Snappy.decompress(record, limit: 1 << 20)
        }
    }

    /// The bound is above what libsnappy's densest output decodes to: runs of one byte.
    @Test func densestBlocksStillDecode() throws {
        for n in [0, 1, 64, 65, 1000, 1 << 20] {
            let zeros = [UInt8](repeating: 0, count: n)
            let c = Snappy.compress(zeros)
            #expect(n <= Snappy.maxDecodedLength(compressedCount: c.count))
            #expect(try Snappy.decompress(c) == zeros)
        }
    }
}
