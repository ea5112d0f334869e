import CZlib

/// gzip (RFC 1952) through zlib, for `Accept-Encoding: gzip` responses.
public enum Gzip {
    public struct Error: Swift.Error, Sendable { public let code: Int32 }

    public static func compress(_ src: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws -> [UInt8] {
        var s = z_stream()
        guard deflateInit2_(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw Error(code: -1) }
        defer { deflateEnd(&s) }
        let bound = Int(deflateBound(&s, UInt(src.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var src = src
        let rc: Int32 = src.withUnsafeMutableBytes { inp in
            out.withUnsafeMutableBytes { o in
                s.next_in = inp.baseAddress?.assumingMemoryBound(to: Bytef.self)
                s.avail_in = uInt(inp.count)
                s.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                s.avail_out = uInt(o.count)
                return deflate(&s, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw Error(code: rc) }
        out.removeLast(bound - Int(s.total_out))
        return out
    }

    public static func decompress(_ src: [UInt8]) throws -> [UInt8] {
        var s = z_stream()
        guard inflateInit2_(&s, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Error(code: -1)
        }
        defer { inflateEnd(&s) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var src = src
        try src.withUnsafeMutableBytes { inp in
            s.next_in = inp.baseAddress?.assumingMemoryBound(to: Bytef.self)
            s.avail_in = uInt(inp.count)
            while true {
                let (rc, produced): (Int32, Int) = chunk.withUnsafeMutableBytes { c in
                    s.next_out = c.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    s.avail_out = uInt(c.count)
                    let rc = inflate(&s, Z_NO_FLUSH)
                    return (rc, c.count - Int(s.avail_out))
                }
                out.append(contentsOf: chunk[0 ..< produced])
                if rc == Z_STREAM_END { return }
                if rc != Z_OK { throw Error(code: rc) }
            }
        }
        return out
    }
}
