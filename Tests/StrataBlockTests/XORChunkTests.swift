import StrataEncoding
import StrataModel
import StrataTestSupport
import Testing
@testable import StrataBlock

@Suite struct XORChunkTests {
    /// The head reads an open chunk's first time from its bytes; a chunk without a sample, or
    /// one cut inside the varint, has none.
    @Test func firstTimestampIsTheChunksFirstVarint() {
        for t: Int64 in [0, -5_000, 1_700_000_000_000, .max, .min] {
            let bytes = XORChunk.encodeChunks([Sample(t: t, v: 1), Sample(t: t == .max ? t : t + 1, v: 2)])[0].bytes
            #expect(XORChunk.firstTimestamp(bytes) == t)
        }
        let one = XORChunk.encodeChunks([Sample(t: 1_700_000_000_000, v: 1)])[0].bytes
        #expect(XORChunk.firstTimestamp(XORChunk.newBytes()) == nil, "no sample yet")
        #expect(XORChunk.firstTimestamp([]) == nil && XORChunk.firstTimestamp([0, 1]) == nil)
        #expect(XORChunk.firstTimestamp(Array(one.prefix(4))) == nil, "cut inside the varint")
        #expect(XORChunk.firstTimestamp([0, 0] + one.dropFirst(2)) == nil, "a count of 0")
    }

    static func encode(_ samples: [Sample]) -> [UInt8] {
        var bytes = XORChunk.newBytes()
        var app = XORAppender()
        for s in samples { app.append(t: s.t, v: s.v, to: &bytes) }
        return bytes
    }

    static func assertRoundTrip(_ samples: [Sample]) throws {
        let bytes = encode(samples)
        #expect(XORChunk.sampleCount(bytes) == samples.count)
        let back = try XORDecoder.samples(bytes)
        #expect(back.count == samples.count)
        for (a, b) in zip(samples, back) {
            #expect(a.t == b.t)
            #expect(a.v.bitPattern == b.v.bitPattern, "value \(a.v) came back as \(b.v)")
        }
    }

    @Test func specialValuesRoundTripBitExactly() throws {
        let values: [Double] = [0, -0.0, 1, -1, .nan, normalNaN, StaleNaN.value, .infinity, -.infinity,
                                .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1e-300, 3.14159, 42, 42, 42.5]
        try Self.assertRoundTrip(values.enumerated().map { Sample(t: 1_600_000_000_000 + Int64($0.offset) * 15000, v: $0.element) })
    }

    @Test func timestampDeltasOfEveryWidth() throws {
        // dod buckets: 0, 14, 17, 20 and 64 bits, both signs, and the asymmetric edges.
        let deltas: [Int64] = [15000, 15000, 15001, 15000 + 8192, 15000 - 8191, 15000 + 8193, 15000 + 65536,
                               15000 - 65535, 15000 + 65537, 15000 + 524_288, 15000 - 524_287, 15000 + 524_289,
                               1, 1 << 40, 1, 0, 0, 7]
        var t: Int64 = -5000 // negative timestamps are legal
        var samples = [Sample(t: t, v: 1)]
        for d in deltas { t += d; samples.append(Sample(t: t, v: Double(samples.count))) }
        try Self.assertRoundTrip(samples)
    }

    @Test func hugeFirstTimestampAndHugeDelta() throws {
        try Self.assertRoundTrip([Sample(t: .min / 4, v: 1), Sample(t: .max / 4, v: 2), Sample(t: .max / 4 + 1, v: 3)])
        try Self.assertRoundTrip([Sample(t: 123, v: 5)])
        try Self.assertRoundTrip([])
    }

    @Test func randomWalkRoundTrip() throws {
        var rng = SplitMix(seed: 7)
        var samples: [Sample] = []
        var t: Int64 = 1_700_000_000_000, v = 100.0
        for _ in 0 ..< 2000 {
            t += 10_000 + Int64(rng.next() % 200) - 100
            v += Double(Int64(rng.next() % 2001) - 1000) / 7.0
            samples.append(Sample(t: t, v: rng.next() % 10 == 0 ? v.rounded() : v))
        }
        try Self.assertRoundTrip(samples)
    }

    @Test func knownEncodingOfTwoSamples() {
        // Header 0x0002; ts0=1000 → zigzag 2000 → uvarint D0 0F; v0=1.0 → 3F F0 00..;
        // t1-t0=1000 → E8 07; v1 == v0 → single 0 bit, padded.
        let bytes = Self.encode([Sample(t: 1000, v: 1), Sample(t: 2000, v: 1)])
        #expect(bytes == [0x00, 0x02, 0xD0, 0x0F, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xE8, 0x07, 0x00])
    }

    /// A head snapshot stores the appender's state; a sample count no chunk can hold (its header
    /// is 16 bits) is an error on load, not a trap in the 16-bit field.
    @Test func appenderStateRoundTripsAndRefusesACountNoChunkHolds() throws {
        var app = XORAppender()
        var bytes = XORChunk.newBytes()
        for i in 0 ..< 30 { app.append(t: Int64(i) * 15_000, v: Double(i) * 0.5, to: &bytes) }
        var state: [UInt8] = []
        app.encodeState(into: &state)
        var back = try state.withUnsafeBytes { buf in
            var r = ByteReader(buf)
            return try XORAppender(decodingState: &r)
        }
        #expect(back.count == 30)
        var copy = bytes
        back.append(t: 30 * 15_000, v: 15, to: &copy)
        app.append(t: 30 * 15_000, v: 15, to: &bytes)
        #expect(copy == bytes)

        var hostile: [UInt8] = []
        Varint.appendUvarint(&hostile, 70_000)
        hostile += state.dropFirst()   // 30 is a one-byte uvarint; the rest of the state as written
        hostile.withUnsafeBytes { buf in
            var r = ByteReader(buf)
            #expect(throws: DecodeError.self) { try XORAppender(decodingState: &r) }
        }
    }

    @Test func resumedAppenderContinuesLikePrometheus() throws {
        // A resumed appender starts with the decoder's window, so continuing a chunk decodes correctly.
        var samples: [Sample] = (0 ..< 50).map { Sample(t: Int64($0) * 1000, v: Double($0 % 7) * 1.5) }
        var bytes = Self.encode(samples)
        var app = try XORAppender(resuming: bytes)
        #expect(app.count == 50)
        for i in 50 ..< 80 {
            let s = Sample(t: Int64(i) * 1000 + (i == 60 ? 77 : 0), v: Double(i) / 3)
            app.append(t: s.t, v: s.v, to: &bytes)
            samples.append(s)
        }
        let back = try XORDecoder.samples(bytes)
        #expect(back == samples)
    }

    @Test func truncatedChunkIsAnError() {
        var bytes = Self.encode((0 ..< 20).map { Sample(t: Int64($0) * 1000, v: Double($0) * 1.1) })
        bytes.removeLast(bytes.count / 2)
        #expect(throws: DecodeChunkError.self) { try XORDecoder.samples(bytes) }
    }
}

/// A literal transcription of Prometheus' `bstream` (writeBit / writeByte / writeBits), as the
/// reference the fast writer must match byte for byte.
struct ReferenceBStream {
    var stream: [UInt8] = []
    var count: UInt8 = 0

    mutating func writeBit(_ bit: Bool) {
        if count == 0 { stream.append(0); count = 8 }
        let i = stream.count - 1
        if bit { stream[i] |= 1 << (count - 1) }
        count -= 1
    }

    mutating func writeByte(_ byt: UInt8) {
        if count == 0 { stream.append(0); count = 8 }
        let i = stream.count - 1
        stream[i] |= byt >> (8 - count)
        stream.append(count == 8 ? 0 : byt << count)
    }

    mutating func writeBits(_ v: UInt64, _ nbits: Int) {
        var u = v << UInt64(64 - nbits)
        var n = nbits
        while n >= 8 { writeByte(UInt8(u >> 56)); u <<= 8; n -= 8 }
        while n > 0 { writeBit(u >> 63 == 1); u <<= 1; n -= 1 }
    }
}

@Suite struct BitWriterTests {
    @Test func matchesPrometheusBStreamOnRandomWrites() {
        var rng = SplitMix(seed: 11)
        for _ in 0 ..< 300 {
            var ref = ReferenceBStream()
            var ours: [UInt8] = []
            var w = BitWriter(freeBits: 0)
            for _ in 0 ..< Int(rng.next() % 60) {
                switch rng.next() % 4 {
                case 0:
                    let bit = rng.next() % 2 == 0
                    ref.writeBit(bit); w.writeBit(bit, &ours)
                case 1:
                    let b = UInt8(truncatingIfNeeded: rng.next())
                    ref.writeByte(b); w.writeByte(b, &ours)
                case 2:
                    let n = Int(rng.next() % 64) + 1
                    let v = rng.next()
                    ref.writeBits(v, n); w.writeBits(v, n, &ours)
                default:
                    // Single control bits, then a field: one write of ours, c + 1 calls of bstream.
                    let c = Int(rng.next() % 17)
                    let prefix = rng.next() & 0xffff   // bits above c must be ignored
                    let n = Int(rng.next() % 64) + 1
                    let v = rng.next()
                    for i in stride(from: c - 1, through: 0, by: -1) { ref.writeBit(prefix >> UInt64(i) & 1 == 1) }
                    ref.writeBits(v, n)
                    w.writeBits(prefix: prefix, prefixBits: c, v, n, &ours)
                }
                #expect(ours == ref.stream)
                #expect(w.freeBits == Int(ref.count))
            }
        }
    }
}
