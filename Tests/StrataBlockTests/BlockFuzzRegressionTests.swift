import StrataEncoding
import StrataModel
import Testing
@testable import StrataBlock

/// Inputs the fuzz harnesses (Fuzz/, docs/fuzzing.md) crashed on, minimised by libFuzzer: each
/// must now be refused with an error.
@Suite struct BlockFuzzRegressionTests {
    /// `chunks` harness: a one-sample XOR chunk (t=-1, 11 bytes of bits) followed by 33 bytes no
    /// appender wrote. `XORAppender(resuming:)` took the 264 unread bits as free bits of the last
    /// byte, and the next append trapped converting the shift to `UInt8`.
    @Test func resumingAChunkWithTrailingBytesThrows() throws {
        let crash: [UInt8] = [
            0x00, 0x01, 0x01, 0x7f, 0x08, 0x00, 0x6a, 0xa0, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x6a, 0xa0,
            0x3e, 0x00, 0x08, 0x00, 0x6a, 0xa0, 0x3e, 0x00, 0x00, 0x00, 0x08, 0x00, 0x6a, 0xa0, 0x00,
            0x00, 0x00, 0x00, 0x6a, 0xa0, 0x3e, 0x00, 0x08, 0x00, 0x6a, 0xa0, 0x3e, 0x00, 0x00,
        ]
        #expect(throws: DecodeChunkError.invalid) { try XORAppender(resuming: crash) }
        // Reading it is not affected: the header says one sample, and it is there.
        #expect(try XORDecoder.samples(crash).count == 1)
    }

    /// The boundary: the empty byte an appender leaves after a whole-byte write resumes; one byte
    /// more (16 free bits, which appended into the wrong bits before) is refused.
    @Test func resumingAllowsOnlyTheAppendersOwnEmptyByte() throws {
        var bytes = XORChunk.newBytes()
        var app = XORAppender()
        app.append(t: 1000, v: 1, to: &bytes) // 2 + 2 + 8 bytes, then an empty one
        var resumed = try XORAppender(resuming: bytes)
        var more = bytes
        resumed.append(t: 2000, v: 2, to: &more)
        #expect(try XORDecoder.samples(more) == [Sample(t: 1000, v: 1), Sample(t: 2000, v: 2)])
        #expect(throws: DecodeChunkError.invalid) { try XORAppender(resuming: bytes + [0]) }
    }
}
