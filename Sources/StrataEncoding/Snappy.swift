import CSnappy

/// Snappy block format (not framed) through libsnappy, as remote write and the WAL use it.
public enum Snappy {
    public enum Error: Swift.Error, Equatable, Sendable {
        case corrupt
        case tooLarge(decodedBytes: Int, limit: Int)
    }

    /// Decoded length announced by a compressed block, without decoding it.
    public static func decodedLength(_ src: UnsafeRawBufferPointer) throws(Error) -> Int {
        guard let p = src.baseAddress else { throw .corrupt }
        var n = 0
        guard snappy_uncompressed_length(p.assumingMemoryBound(to: CChar.self), src.count, &n) == SNAPPY_OK else {
            throw .corrupt
        }
        return n
    }

    /// The most bytes a block of `compressedCount` bytes can decode to: its densest element, a
    /// copy with a 2-byte offset, is 3 bytes for at most 64 (a header or a remainder decodes to
    /// less than another 64).
    @inlinable
    public static func maxDecodedLength(compressedCount: Int) -> Int { (compressedCount / 3 + 1) * 64 }

    /// Decompresses into `out` (replacing its contents, reusing its capacity). Refuses blocks whose
    /// decoded size exceeds `limit`, or that announce more than their bytes can decode to, before
    /// allocating for them (a 30-byte block may announce 4 GiB).
    public static func decompress(_ src: UnsafeRawBufferPointer, into out: inout [UInt8], limit: Int = .max) throws(Error) {
        let n = try decodedLength(src)
        if n > limit { throw .tooLarge(decodedBytes: n, limit: limit) }
        if n > maxDecodedLength(compressedCount: src.count) { throw .corrupt }
        // Resize without clearing: a reused buffer is overwritten in place, only growth is zero-filled.
        if out.count > n { out.removeLast(out.count - n) }
        else if out.count < n { out.append(contentsOf: repeatElement(0, count: n - out.count)) }
        if n == 0 { return }
        var ok = false
        out.withUnsafeMutableBytes { dst in
            var outLen = n
            ok = snappy_uncompress(src.baseAddress!.assumingMemoryBound(to: CChar.self), src.count,
                                   dst.baseAddress!.assumingMemoryBound(to: CChar.self), &outLen) == SNAPPY_OK
                && outLen == n
        }
        if !ok { throw .corrupt }
    }

    public static func decompress(_ src: [UInt8], limit: Int = .max) throws(Error) -> [UInt8] {
        var out: [UInt8] = []
        var failure: Error?
        src.withUnsafeBytes { s in
            do throws(Error) { try decompress(s, into: &out, limit: limit) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    public static func compress(_ src: UnsafeRawBufferPointer) -> [UInt8] {
        let cap = snappy_max_compressed_length(src.count)
        var out = [UInt8](repeating: 0, count: cap)
        var outLen = cap
        out.withUnsafeMutableBytes { dst in
            let s = src.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
            _ = snappy_compress(s ?? UnsafePointer<CChar>(bitPattern: 1)!, src.count,
                                dst.baseAddress!.assumingMemoryBound(to: CChar.self), &outLen)
        }
        out.removeLast(cap - outLen)
        return out
    }

    public static func compress(_ src: [UInt8]) -> [UInt8] { src.withUnsafeBytes { compress($0) } }

    /// The most bytes `compress` can write for `count` input bytes.
    public static func maxCompressedLength(_ count: Int) -> Int { snappy_max_compressed_length(count) }

    /// Compresses into caller-owned memory of at least `maxCompressedLength(src.count)` bytes and
    /// returns the length written: no allocation, for senders that fill a network buffer directly.
    public static func compress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Int {
        precondition(dst.count >= snappy_max_compressed_length(src.count), "snappy output buffer too small")
        var outLen = dst.count
        let s = src.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
        _ = snappy_compress(s ?? UnsafePointer<CChar>(bitPattern: 1)!, src.count,
                            dst.baseAddress!.assumingMemoryBound(to: CChar.self), &outLen)
        return outLen
    }
}
