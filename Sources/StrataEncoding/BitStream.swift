/// MSB-first bit writer over a byte array, byte-compatible with Prometheus' `bstream`.
///
/// `freeBits` (0...8) is how many low bits of the last byte are still unwritten. Like `bstream`,
/// writing a whole byte at a byte boundary leaves an empty trailing byte (`freeBits == 8`), so a
/// chunk that ends that way carries one zero byte more than its bits need. Chunks must match
/// Prometheus' byte for byte, so the writer keeps that quirk.
public struct BitWriter: Sendable {
    /// One byte, so an XOR appender's state packs into 29 bytes inside its series.
    @usableFromInline var _freeBits: UInt8

    public var freeBits: Int {
        @inlinable @inline(__always) get { Int(_freeBits) }
        @inlinable @inline(__always) set { _freeBits = UInt8(truncatingIfNeeded: newValue) }
    }

    @inlinable public init(freeBits: Int = 0) { self._freeBits = UInt8(truncatingIfNeeded: freeBits) }

    @inlinable @inline(__always)
    public mutating func writeBit(_ bit: Bool, _ out: inout [UInt8]) {
        if freeBits == 0 { out.append(0); freeBits = 8 }
        freeBits -= 1
        if bit { out[out.count - 1] |= UInt8(1) << UInt8(freeBits) }
    }

    @inlinable @inline(__always)
    public mutating func writeByte(_ b: UInt8, _ out: inout [UInt8]) { writeBits(UInt64(b), 8, &out) }

    /// Writes the low `n` bits of `value` (1...64), most significant first.
    ///
    /// Byte-for-byte what `bstream.writeBits` produces (whole bytes through `writeByte`, then single
    /// bits), computed in one step: the free bits afterwards follow bstream's rules, and the bits
    /// are OR-ed into zeroed bytes through one buffer access instead of one array append per byte.
    @inlinable @inline(__always)
    public mutating func writeBits(_ value: UInt64, _ n: Int, _ out: inout [UInt8]) {
        writeBits(prefix: 0, prefixBits: 0, value, n, &out)
    }

    /// The low `c` (0...16) bits of `prefix` as `c` calls of `writeBit`, then `writeBits(value, n)`,
    /// as one write: an XOR sample's control bits (which Prometheus writes as single bits and
    /// fields of 5 and 6 bits, so bit by bit too) and its payload cost one array access instead of
    /// three to five.
    @inlinable
    public mutating func writeBits(prefix: UInt64, prefixBits c: Int, _ value: UInt64, _ n: Int, _ out: inout [UInt8]) {
        let f = freeBits
        // Single bits: a byte is added whenever none is free.
        var g = f >= c ? f &- c : (f &- c) & 7
        if n >= 8 && g == 0 { g = 8 }         // writeByte at a boundary leaves an empty byte
        let r = n & 7
        g = g >= r ? g &- r : (g &- r) & 7
        let len = out.count
        let p = len &* 8 &- f                  // index of the first bit to write
        let total = c &+ n
        let newLen = (p &+ total &+ g) >> 3
        if newLen > len { for _ in len ..< newLen { out.append(0) } }   // at most 11 bytes: no generic path
        freeBits = g
        let payload = n == 64 ? value : value & ((1 << UInt64(n)) &- 1)
        out.withUnsafeMutableBufferPointer { buf in
            if total <= 64 {
                Self.or(c == 0 ? payload : prefix << UInt64(n) | payload, total, at: p, buf)
            } else {
                Self.or(prefix, c, at: p, buf)
                Self.or(payload, n, at: p &+ c, buf)
            }
        }
    }

    /// ORs the low `n` bits of `value` (1...64) into zeroed bytes from bit `p` on.
    @inlinable @inline(__always)
    static func or(_ value: UInt64, _ n: Int, at p: Int, _ buf: UnsafeMutableBufferPointer<UInt8>) {
        var u = n == 64 ? value : value << UInt64(64 - n) // left-aligned, bits above n dropped
        var idx = p >> 3
        let off = p & 7
        buf[idx] |= UInt8(truncatingIfNeeded: u >> UInt64(56 + off))
        var remaining = n - (8 - off)
        if remaining <= 0 { return }
        u <<= UInt64(8 - off)
        idx += 1
        while remaining > 0 {
            buf[idx] |= UInt8(truncatingIfNeeded: u >> 56)
            u <<= 8
            idx += 1
            remaining -= 8
        }
    }
}

/// MSB-first bit reader with a 64-bit refill buffer.
public struct BitReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var bytePos: Int     // next byte to load into `buffer`
    @usableFromInline var buffer: UInt64 = 0 // valid bits are the top `valid` bits
    @usableFromInline var valid: Int = 0

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, byteOffset: Int = 0) {
        self.bytes = bytes
        self.bytePos = byteOffset
    }

    @inlinable @inline(__always)
    mutating func refill() {
        // Fast path: load eight bytes at once and keep the whole bytes that fit.
        if bytePos + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: bytePos, as: UInt64.self).bigEndian
            let take = (64 - valid) >> 3
            let filled = valid + (take << 3)
            buffer |= word >> UInt64(valid)
            buffer &= ~(UInt64.max >> UInt64(filled)) // drop the bits of partial bytes
            bytePos += take
            valid = filled
            return
        }
        while valid <= 56 && bytePos < bytes.count {
            buffer |= UInt64(bytes[bytePos]) << UInt64(56 - valid)
            bytePos += 1
            valid += 8
        }
    }

    @inlinable @inline(__always)
    public mutating func readBit() throws(DecodeChunkError) -> Bool {
        if valid == 0 { refill(); if valid == 0 { throw .truncated } }
        let bit = buffer >> 63 == 1
        buffer <<= 1
        valid -= 1
        return bit
    }

    /// Reads `n` bits (1...64) as an unsigned integer.
    @inlinable @inline(__always)
    public mutating func readBits(_ n: Int) throws(DecodeChunkError) -> UInt64 {
        if n > valid { refill() }
        if n <= valid {
            let v = buffer >> UInt64(64 - n)
            buffer = buffer << UInt64(n) // a smart shift: 64 gives 0
            valid -= n
            return v
        }
        return try readBitsSplit(n)
    }

    /// `n` > 56 and the buffer could not hold it all: two steps.
    @inlinable
    mutating func readBitsSplit(_ n: Int) throws(DecodeChunkError) -> UInt64 {
        let hiCount = valid
        guard hiCount > 0 else { throw .truncated }
        let hi = buffer >> UInt64(64 - hiCount)
        buffer = 0
        valid = 0
        let loCount = n - hiCount
        refill()
        guard loCount <= valid else { throw .truncated }
        let lo = buffer >> UInt64(64 - loCount)
        buffer = buffer << UInt64(loCount)
        valid -= loCount
        return (hi << UInt64(loCount)) | lo
    }

    @inlinable
    public mutating func readByte() throws(DecodeChunkError) -> UInt8 { UInt8(try readBits(8)) }
}

public enum DecodeChunkError: Error, Equatable, Sendable {
    case truncated
    case invalid
}

extension BitReader {
    /// Bits consumed from the start of the buffer.
    @inlinable public var bitsConsumed: Int { bytePos * 8 - valid }
}
