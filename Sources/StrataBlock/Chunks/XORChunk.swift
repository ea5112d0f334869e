import StrataEncoding
import StrataModel
import StrataStorage

/// Prometheus' XOR float chunk (encoding 1), bit for bit: see docs/format/chunks.md.
///
/// Layout: `num_samples BE16 | ts0 varint | v0 64 bits | (t1-t0) uvarint | xor(v1) | {dod, xor}*`.
public enum XORChunk {
    public static let encoding: UInt8 = 1

    /// A fresh chunk: two zero bytes of sample count.
    public static func newBytes(capacity: Int = 128) -> [UInt8] {
        var b = [UInt8](); b.reserveCapacity(capacity); b.append(0); b.append(0)
        return b
    }

    @inlinable
    public static func sampleCount(_ bytes: [UInt8]) -> Int { bytes.count < 2 ? 0 : Int(bytes[0]) << 8 | Int(bytes[1]) }

    /// The first sample's timestamp (the varint after the count); nil when the chunk has no
    /// sample or its varint is cut short.
    public static func firstTimestamp(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count > 2, bytes[0] | bytes[1] != 0 else { return nil }
        var r = ByteReader(bytes, offset: 2)
        return try? r.varint()
    }

    public static func firstTimestamp(_ bytes: [UInt8]) -> Int64? { bytes.withUnsafeBytes { firstTimestamp($0) } }
}

/// Appends samples to an XOR chunk held by the caller. The state is kept out of the byte array so
/// a series stores it inline, without another object: 29 bytes (the 8-byte fields first, then a
/// 16-bit count, as the chunk header holds it, and the bytes), so the series' own small fields fit
/// in its tail.
public struct XORAppender: Sendable {
    @usableFromInline var t: Int64 = 0
    @usableFromInline var vBits: UInt64 = 0
    @usableFromInline var tDelta: UInt64 = 0
    @usableFromInline var _count: UInt16 = 0
    public var count: Int { Int(_count) }
    @usableFromInline var leading: UInt8 = 0xff
    @usableFromInline var trailing: UInt8 = 0
    @usableFromInline var writer = BitWriter(freeBits: 0)

    public init() {}

    /// An appender with no chunk yet whose last sample is (`lastT`, `lastValueBits`): a head
    /// series keeps its newest sample here instead of in fields of its own.
    public init(lastT: Int64, lastValueBits: UInt64 = 0) { t = lastT; vBits = lastValueBits }

    /// The newest sample appended (or given at init); `restart()` keeps it.
    public var lastT: Int64 {
        get { t }
        set { t = newValue }
    }
    public var lastValueBits: UInt64 {
        get { vBits }
        set { vBits = newValue }
    }

    /// Empties the state for a new chunk, keeping the last sample (a first sample does not read it).
    public mutating func restart() {
        tDelta = 0; _count = 0; leading = 0xff; trailing = 0; writer = BitWriter(freeBits: 0)
    }

    /// Appends the appender's state (for a head snapshot): `count uvarint | t varint |
    /// vBits BE64 | tDelta BE64 | leading | trailing | freeBits`, 22–33 bytes.
    public func encodeState(into b: inout [UInt8]) {
        Varint.appendUvarint(&b, UInt64(_count))
        Varint.appendVarint(&b, t)
        Varint.appendBE64(&b, vBits)
        Varint.appendBE64(&b, tDelta)
        b.append(leading); b.append(trailing); b.append(UInt8(writer.freeBits))
    }

    /// Reads a state `encodeState` wrote.
    public init(decodingState r: inout ByteReader) throws(DecodeError) {
        let count = try r.uvarintInt()
        guard count < Int(UInt16.max) else { throw .invalid("sample count \(count) does not fit a chunk") }
        _count = UInt16(count)
        t = try r.varint()
        vBits = try r.be64()
        tDelta = try r.be64()
        leading = try r.byte(); trailing = try r.byte()
        let free = Int(try r.byte())
        guard free <= 8 else { throw .invalid("free bits \(free) > 8") }
        writer = BitWriter(freeBits: free)
    }

    /// Recovers the appender state of an existing chunk by decoding it (for chunks read back from disk).
    public init(resuming bytes: [UInt8]) throws(DecodeChunkError) {
        var failure: DecodeChunkError?
        var st = XORDecodeState()
        bytes.withUnsafeBytes { buf in
            do throws(DecodeChunkError) { st = try XORDecoder.decode(buf) { _, _ in true } } catch { failure = error }
        }
        if let failure { throw failure }
        _count = UInt16(st.count)   // read from the chunk's 16-bit header
        guard _count > 0 else { return }
        t = st.t; vBits = st.vBits; tDelta = st.tDelta
        // As Prometheus' XORChunk.Appender(): the decoder's window (0/0 if none was set yet).
        leading = st.leading
        trailing = st.trailing
        // An appender leaves at most one empty byte after its last bit (`BitWriter`'s quirk).
        // Bytes beyond that are not a chunk an appender wrote: resuming would write into the
        // wrong bits (or trap on a shift of more than 255).
        let free = bytes.count * 8 - st.bitsConsumed
        guard free <= 8 else { throw .invalid }
        writer = BitWriter(freeBits: free)
    }

    @inlinable
    public mutating func append(t newT: Int64, v: Double, to out: inout [UInt8]) {
        precondition(count < Int(UInt16.max), "XOR chunk is full")
        let bits = v.bitPattern
        switch count {
        case 0:
            var u = UInt64(bitPattern: (newT &<< 1) ^ (newT >> 63))
            while u >= 0x80 { writer.writeByte(UInt8(truncatingIfNeeded: u) | 0x80, &out); u >>= 7 }
            writer.writeByte(UInt8(u), &out)
            writer.writeBits(bits, 64, &out)
            tDelta = 0
        case 1:
            let d = UInt64(bitPattern: newT &- t)
            var u = d
            while u >= 0x80 { writer.writeByte(UInt8(truncatingIfNeeded: u) | 0x80, &out); u >>= 7 }
            writer.writeByte(UInt8(u), &out)
            writeValue(bits, &out)
            tDelta = d
        default:
            let d = UInt64(bitPattern: newT &- t)
            let dod = Int64(bitPattern: d &- tDelta)
            if dod == 0 {
                writeValue(bits, &out, after: 0, 1)     // the '0' of an unchanged delta goes with the value
            } else {
                let u = UInt64(bitPattern: dod)
                if Self.bitRange(dod, 14) {
                    writer.writeBits(prefix: 0b10, prefixBits: 2, u, 14, &out)
                } else if Self.bitRange(dod, 17) {
                    writer.writeBits(prefix: 0b110, prefixBits: 3, u, 17, &out)
                } else if Self.bitRange(dod, 20) {
                    writer.writeBits(prefix: 0b1110, prefixBits: 4, u, 20, &out)
                } else {
                    writer.writeBits(prefix: 0b1111, prefixBits: 4, u, 64, &out)
                }
                writeValue(bits, &out)
            }
            tDelta = d
        }
        t = newT
        vBits = bits
        _count += 1
        let n = _count
        out.withUnsafeMutableBufferPointer { header in
            header[0] = UInt8(truncatingIfNeeded: n >> 8)
            header[1] = UInt8(truncatingIfNeeded: n)
        }
    }

    @inlinable @inline(__always)
    static func bitRange(_ x: Int64, _ n: Int64) -> Bool {
        -((Int64(1) << (n - 1)) - 1) <= x && x <= Int64(1) << (n - 1)
    }

    /// Writes the value's XOR with the previous one, after `c` (0...1) bits of `prefix` still to
    /// write; control bits and payload go out in one `writeBits` (leading ≤ 31 and the bit count
    /// fit the 16-bit prefix).
    @inlinable
    mutating func writeValue(_ bits: UInt64, _ out: inout [UInt8], after prefix: UInt64 = 0, _ c: Int = 0) {
        let delta = bits ^ vBits
        if delta == 0 { writer.writeBits(prefix << 1, c + 1, &out); return }
        var newLeading = UInt8(delta.leadingZeroBitCount)
        let newTrailing = UInt8(delta.trailingZeroBitCount)
        if newLeading >= 32 { newLeading = 31 }
        if leading != 0xff && newLeading >= leading && newTrailing >= trailing {
            writer.writeBits(prefix: prefix << 2 | 0b10, prefixBits: c + 2,
                             delta >> UInt64(trailing), 64 - Int(leading) - Int(trailing), &out)
            return
        }
        leading = newLeading
        trailing = newTrailing
        let sigbits = 64 - Int(newLeading) - Int(newTrailing)
        // '11', 5 bits of leading zeros, 6 bits of significant bits (64 is written as 0).
        let control = prefix << 13 | 0b11 << 11 | UInt64(newLeading) << 6 | UInt64(sigbits & 63)
        writer.writeBits(prefix: control, prefixBits: c + 13, delta >> UInt64(newTrailing), sigbits, &out)
    }
}

/// Final decoder state after a full pass, enough to resume appending.
public struct XORDecodeState: Sendable {
    @inlinable public init() {}
    public var count = 0
    public var t: Int64 = 0
    public var vBits: UInt64 = 0
    public var tDelta: UInt64 = 0
    public var leading: UInt8 = 0
    public var trailing: UInt8 = 0
    public var bitsConsumed = 16
}

public enum XORDecoder {
    /// Decodes every sample of a chunk in one pass, calling `body(t, v)` for each; `body` returns
    /// false to stop early. One bit reader for the whole chunk, no allocation.
    @inlinable
    public static func decode(_ buf: UnsafeRawBufferPointer,
                              _ body: (Int64, Double) -> Bool) throws(DecodeChunkError) -> XORDecodeState {
        var st = XORDecodeState()
        guard buf.count >= 2 else { if buf.isEmpty { return st }; throw .truncated }
        let total = Int(buf[0]) << 8 | Int(buf[1])
        var r = BitReader(buf, byteOffset: 2)
        var t: Int64 = 0, v: UInt64 = 0, tDelta: UInt64 = 0
        var leading: UInt8 = 0, trailing: UInt8 = 0
        var n = 0
        while n < total {
            if n == 0 {
                t = Varint.unzigzag(try readUvarint(&r))
                v = try r.readBits(64)
            } else {
                if n == 1 {
                    tDelta = try readUvarint(&r)
                } else {
                    var d = 0
                    for _ in 0 ..< 4 {
                        d <<= 1
                        if !(try r.readBit()) { break }
                        d |= 1
                    }
                    var dod: Int64 = 0
                    var sz = 0
                    switch d {
                    case 0b0: break
                    case 0b10: sz = 14
                    case 0b110: sz = 17
                    case 0b1110: sz = 20
                    default: dod = Int64(bitPattern: try r.readBits(64))
                    }
                    if sz != 0 {
                        var bits = try r.readBits(sz)
                        if bits > UInt64(1) << UInt64(sz - 1) { bits = bits &- (UInt64(1) << UInt64(sz)) }
                        dod = Int64(bitPattern: bits)
                    }
                    tDelta = UInt64(bitPattern: Int64(bitPattern: tDelta) &+ dod)
                }
                t = t &+ Int64(bitPattern: tDelta)
                if try r.readBit() {
                    var mbits: Int
                    if !(try r.readBit()) {
                        mbits = 64 - Int(leading) - Int(trailing)
                    } else {
                        leading = UInt8(try r.readBits(5))
                        mbits = Int(try r.readBits(6))
                        if mbits == 0 { mbits = 64 }
                        let tr = 64 - Int(leading) - mbits
                        guard tr >= 0 else { throw .invalid }
                        trailing = UInt8(tr)
                    }
                    let bits = try r.readBits(mbits)
                    v ^= bits << UInt64(64 - Int(leading) - mbits)
                }
            }
            n += 1
            if !body(t, Double(bitPattern: v)) { break }
        }
        st.count = n; st.t = t; st.vBits = v; st.tDelta = tDelta
        st.leading = leading; st.trailing = trailing
        st.bitsConsumed = r.bitsConsumed
        return st
    }

    @inlinable @inline(__always)
    static func readUvarint(_ r: inout BitReader) throws(DecodeChunkError) -> UInt64 {
        var u: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try r.readByte()
            if shift == 63 && b > 1 { throw .invalid }
            u |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return u }
            shift += 7
            if shift > 63 { throw .invalid }
        }
    }

    /// Appends the samples with `mint <= t <= maxt` to `out`.
    public static func samples(_ bytes: [UInt8], mint: Int64 = .min, maxt: Int64 = .max,
                               into out: inout [Sample]) throws(DecodeChunkError) {
        var failure: DecodeChunkError?
        bytes.withUnsafeBytes { buf in
            do throws(DecodeChunkError) {
                _ = try decode(buf) { t, v in
                    if t > maxt { return false }
                    if t >= mint { out.append(Sample(t: t, v: v)) }
                    return true
                }
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public static func samples(_ bytes: [UInt8]) throws(DecodeChunkError) -> [Sample] {
        var out: [Sample] = []
        try samples(bytes, into: &out)
        return out
    }
}

extension XORChunk {
    /// Encodes time-ordered samples into chunks of at most `perChunk` samples.
    public static func encodeChunks(_ samples: [Sample], perChunk: Int = 120) -> [EncodedChunk] {
        var out: [EncodedChunk] = []
        var i = 0
        while i < samples.count {
            let end = min(i + perChunk, samples.count)
            var bytes = newBytes()
            var a = XORAppender()
            for s in samples[i ..< end] { a.append(t: s.t, v: s.v, to: &bytes) }
            out.append(EncodedChunk(encoding: encoding, minTime: samples[i].t, maxTime: samples[end - 1].t, bytes: bytes))
            i = end
        }
        return out
    }
}
