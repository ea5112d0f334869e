/// Go-compatible varints: `uvarint` is LEB128, `varint` is zigzag then LEB128 (`binary.PutVarint`).
public enum Varint {
    @inlinable @inline(__always)
    public static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v &<< 1) ^ (v >> 63)) }

    @inlinable @inline(__always)
    public static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    @inlinable
    public static func appendUvarint(_ out: inout [UInt8], _ v: UInt64) {
        var x = v
        while x >= 0x80 { out.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        out.append(UInt8(x))
    }

    @inlinable
    public static func appendVarint(_ out: inout [UInt8], _ v: Int64) { appendUvarint(&out, zigzag(v)) }

    @inlinable
    public static func appendBE16(_ out: inout [UInt8], _ v: UInt16) {
        out.append(UInt8(v >> 8)); out.append(UInt8(truncatingIfNeeded: v))
    }

    @inlinable
    public static func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(v >> 24)); out.append(UInt8(truncatingIfNeeded: v >> 16))
        out.append(UInt8(truncatingIfNeeded: v >> 8)); out.append(UInt8(truncatingIfNeeded: v))
    }

    @inlinable
    public static func appendBE64(_ out: inout [UInt8], _ v: UInt64) {
        appendBE32(&out, UInt32(v >> 32)); appendBE32(&out, UInt32(truncatingIfNeeded: v))
    }
}

public enum DecodeError: Error, Equatable, Sendable {
    case truncated
    case overflow
    case invalid(String)
}

/// A forward reader over raw bytes; the caller keeps the memory alive for the reader's lifetime.
public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public var offset: Int

    @inlinable
    public init(_ base: UnsafeRawBufferPointer, offset: Int = 0) { self.base = base; self.offset = offset }

    @inlinable public var remaining: Int { base.count - offset }
    @inlinable public var isAtEnd: Bool { offset >= base.count }

    @inlinable
    public mutating func uvarint() throws(DecodeError) -> UInt64 {
        var p = offset
        let end = base.count
        guard p < end else { throw .truncated }
        let first = base[p]
        if first < 0x80 { offset = p + 1; return UInt64(first) }
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard p < end else { throw .truncated }
            let b = base[p]; p += 1
            if shift == 63 && b > 1 { throw .overflow }
            result |= UInt64(b & 0x7f) &<< shift
            if b < 0x80 { break }
            shift += 7
            if shift > 63 { throw .overflow }
        }
        offset = p
        return result
    }

    @inlinable
    public mutating func varint() throws(DecodeError) -> Int64 { Varint.unzigzag(try uvarint()) }

    @inlinable
    public mutating func byte() throws(DecodeError) -> UInt8 {
        guard offset < base.count else { throw .truncated }
        defer { offset += 1 }
        return base[offset]
    }

    @inlinable
    public mutating func be16() throws(DecodeError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated }
        defer { offset += 2 }
        return UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public mutating func be32() throws(DecodeError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        defer { offset += 4 }
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    public mutating func be64() throws(DecodeError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated }
        defer { offset += 8 }
        return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable
    public mutating func le64() throws(DecodeError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated }
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable
    public mutating func le32() throws(DecodeError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// A uvarint used as a length or count: refused (not trapped on) when it does not fit an Int.
    @inlinable
    public mutating func uvarintInt() throws(DecodeError) -> Int {
        let v = try uvarint()
        guard v <= UInt64(Int.max) else { throw .overflow }
        return Int(v)
    }

    /// A big-endian 64-bit length, count or segment number: refused when it does not fit an Int.
    @inlinable
    public mutating func be64Int() throws(DecodeError) -> Int {
        let v = try be64()
        guard v <= UInt64(Int.max) else { throw .overflow }
        return Int(v)
    }

    /// The next `n` bytes as a slice of the underlying memory (no copy).
    @inlinable
    public mutating func bytes(_ n: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw .truncated }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset ..< offset + n])
    }
}
