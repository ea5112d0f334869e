import Testing
@testable import StrataEncoding

@Suite struct VarintTests {
    @Test(arguments: [Int64(0), 1, -1, 63, -64, 64, 300, -300, .max, .min])
    func zigzagRoundTrip(v: Int64) throws {
        var out: [UInt8] = []
        Varint.appendVarint(&out, v)
        let back = try out.withUnsafeBytes { b in var r = ByteReader(b); return try r.varint() }
        #expect(back == v)
    }

    @Test func goCompatibleBytes() {
        var out: [UInt8] = []
        Varint.appendVarint(&out, -1)   // Go binary.PutVarint(-1) = 0x01
        Varint.appendUvarint(&out, 300) // 0xAC 0x02
        #expect(out == [0x01, 0xAC, 0x02])
    }

    @Test func truncatedAndOverflowingVarintsAreErrors() {
        #expect(throws: DecodeError.truncated) { try [UInt8]([0x80]).withUnsafeBytes { b in var r = ByteReader(b); _ = try r.uvarint() } }
        let eleven = [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(throws: DecodeError.overflow) { try eleven.withUnsafeBytes { b in var r = ByteReader(b); _ = try r.uvarint() } }
    }
}

@Suite struct ChecksumTests {
    @Test func crc32cKnownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        // Running checksum over pieces equals one pass.
        let data = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let whole = CRC32C.checksum(data)
        let part = data[..<333].withUnsafeBytes { CRC32C.update(0, $0) }
        let all = data[333...].withUnsafeBytes { CRC32C.update(part, $0) }
        #expect(all == whole)
    }

    @Test func xxh64KnownVectors() {
        #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }
}

@Suite struct CompressionTests {
    @Test func snappyRoundTripAndLimits() throws {
        let data = (0 ..< 100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let c = Snappy.compress(data)
        #expect(c.count < data.count)
        #expect(try Snappy.decompress(c) == data)
        #expect(throws: Snappy.Error.tooLarge(decodedBytes: 100_000, limit: 1000)) { try Snappy.decompress(c, limit: 1000) }
        #expect(throws: Snappy.Error.corrupt) { try Snappy.decompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        var bad = c; bad[bad.count / 2] ^= 0xFF; bad.removeLast(10)
        #expect(throws: Snappy.Error.corrupt) { try Snappy.decompress(bad) }
        #expect(try Snappy.decompress(Snappy.compress([])) == [])
    }

    @Test func gzipRoundTrip() throws {
        let data = Array(String(repeating: "{\"status\":\"success\"}", count: 500).utf8)
        let z = try Gzip.compress(data)
        #expect(Array(z.prefix(2)) == [0x1F, 0x8B])
        #expect(try Gzip.decompress(z) == data)
    }
}
