import StrataEncoding
import StrataModel
import StrataStorage

/// Remote read 1.0 (`prompb/remote.proto`): the request, and both response types.
public struct ReadRequest: Sendable {
    public struct Query: Sendable {
        public var start: Int64
        public var end: Int64
        public var matchers: [LabelMatcher]
    }

    public enum ResponseType: UInt64, Sendable { case samples = 0, streamedXORChunks = 1 }

    public var queries: [Query] = []
    public var acceptedResponseTypes: [ResponseType] = []

    /// The response type to send: the first the client lists (both are supported), SAMPLES when
    /// it lists none, as Prometheus' read handler chooses.
    public var preferredResponse: ResponseType { acceptedResponseTypes.first ?? .samples }

    /// Decodes a snappy-compressed `ReadRequest`.
    public static func decode(snappyBody: UnsafeRawBufferPointer, maxDecodedBytes: Int) throws(RemoteWriteError) -> ReadRequest {
        var raw: [UInt8] = []
        do { try Snappy.decompress(snappyBody, into: &raw, limit: maxDecodedBytes) } catch {
            if case .tooLarge(let n, let limit) = error { throw .tooLarge(decodedBytes: n, limit: limit) }
            throw .snappy("corrupt input")
        }
        do {
            return try raw.withUnsafeBytes { b in try parse(b) }
        } catch let e as DecodeError {
            throw .protobuf("read request: \(WriteRequestDecoder.describe(e))")
        } catch let e as RemoteWriteError {
            throw e
        } catch {
            throw .protobuf("read request: \(error)")
        }
    }

    static func parse(_ buf: UnsafeRawBufferPointer) throws -> ReadRequest {
        var req = ReadRequest()
        var r = ByteReader(buf)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            switch (field, wire) {
            case (1, 2): req.queries.append(try parseQuery(try r.bytes(try Proto.length(&r))))
            case (2, 0): req.acceptedResponseTypes += [ResponseType(rawValue: try r.uvarint())].compactMap { $0 }
            case (2, 2): // packed
                var p = ByteReader(try r.bytes(try Proto.length(&r)))
                while !p.isAtEnd { if let t = ResponseType(rawValue: try p.uvarint()) { req.acceptedResponseTypes.append(t) } }
            default: try Proto.skip(&r, wire)
            }
        }
        return req
    }

    static func parseQuery(_ buf: UnsafeRawBufferPointer) throws -> Query {
        var q = Query(start: 0, end: 0, matchers: [])
        var r = ByteReader(buf)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            switch (field, wire) {
            case (1, 0): q.start = Int64(bitPattern: try r.uvarint())
            case (2, 0): q.end = Int64(bitPattern: try r.uvarint())
            case (3, 2): q.matchers.append(try parseMatcher(try r.bytes(try Proto.length(&r))))
            default: try Proto.skip(&r, wire) // hints: Strata reads raw data either way
            }
        }
        return q
    }

    static func parseMatcher(_ buf: UnsafeRawBufferPointer) throws -> LabelMatcher {
        var type: UInt64 = 0, name = "", value = ""
        var r = ByteReader(buf)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            switch (field, wire) {
            case (1, 0): type = try r.uvarint()
            case (2, 2): name = String(decoding: try r.bytes(try Proto.length(&r)), as: UTF8.self)
            case (3, 2): value = String(decoding: try r.bytes(try Proto.length(&r)), as: UTF8.self)
            default: try Proto.skip(&r, wire)
            }
        }
        let kind: LabelMatcher.Kind
        switch type {
        case 0: kind = .equal
        case 1: kind = .notEqual
        case 2: kind = .regexMatch
        case 3: kind = .regexNoMatch
        default: throw RemoteWriteError.protobuf("read request: unknown matcher type \(type)")
        }
        do { return try LabelMatcher(kind, name, value) } catch {
            throw RemoteWriteError.protobuf("read request: \(error)")
        }
    }
}

/// Protobuf writing for the read responses: length-delimited fields are written by reserving
/// the length after the fact (messages are small enough to move once).
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func tag(_ field: UInt64, _ wire: UInt64) { Varint.appendUvarint(&bytes, field << 3 | wire) }

    mutating func uvarintField(_ field: UInt64, _ v: UInt64) { tag(field, 0); Varint.appendUvarint(&bytes, v) }

    mutating func doubleField(_ field: UInt64, _ v: Double) {
        tag(field, 1)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytesField(_ field: UInt64, _ b: some Collection<UInt8>) {
        tag(field, 2); Varint.appendUvarint(&bytes, UInt64(b.count)); bytes.append(contentsOf: b)
    }

    /// A nested message written by `body`.
    mutating func message(_ field: UInt64, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytesField(field, inner.bytes)
    }

    mutating func labels(_ field: UInt64, _ l: Labels) {
        l.forEachRaw { n, v in
            message(field) { m in m.bytesField(1, n); m.bytesField(2, v) }
        }
    }
}

public enum ReadResponseEncoder {
    /// SAMPLES: `ReadResponse{results: [QueryResult{timeseries}]}`, one result per query, snappy
    /// compressed by the caller. Staleness markers are sent as stored.
    public static func samples(_ results: [[(Labels, [Sample])]]) -> [UInt8] {
        var w = ProtoWriter()
        for series in results {
            w.message(1) { qr in
                for (labels, samples) in series {
                    qr.message(1) { ts in
                        ts.labels(1, labels)
                        for s in samples {
                            ts.message(2) { m in m.doubleField(1, s.v); m.uvarintField(2, UInt64(bitPattern: s.t)) }
                        }
                    }
                }
            }
        }
        return w.bytes
    }

    /// Prometheus' `DefaultChunkedReadLimit` companion: frames are cut at about 1 MiB of chunk data.
    public static let maxFrameBytes = 1 << 20

    /// The STREAMED_XOR_CHUNKS frames of one series: its chunks split into frames of about
    /// `maxFrameBytes`, as Prometheus splits them.
    public static func chunkedFrames(queryIndex: Int, labels: Labels, chunks: [EncodedChunk],
                                     maxFrameBytes: Int = ReadResponseEncoder.maxFrameBytes) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var batch: [EncodedChunk] = []
        var bytes = 0
        for c in chunks {
            batch.append(c)
            bytes += c.bytes.count
            if bytes >= maxFrameBytes {
                frames.append(chunkedFrame(queryIndex: queryIndex, labels: labels, chunks: batch))
                batch.removeAll(keepingCapacity: true); bytes = 0
            }
        }
        if !batch.isEmpty { frames.append(chunkedFrame(queryIndex: queryIndex, labels: labels, chunks: batch)) }
        return frames
    }

    /// One STREAMED_XOR_CHUNKS frame: `uvarint len | CRC32C (big-endian) | ChunkedReadResponse`
    /// holding chunks of one series of query `queryIndex`.
    public static func chunkedFrame(queryIndex: Int, labels: Labels, chunks: [EncodedChunk]) -> [UInt8] {
        var w = ProtoWriter()
        w.message(1) { cs in
            cs.labels(1, labels)
            for c in chunks {
                cs.message(2) { m in
                    m.uvarintField(1, UInt64(bitPattern: c.minTime))
                    m.uvarintField(2, UInt64(bitPattern: c.maxTime))
                    m.uvarintField(3, UInt64(c.encoding))
                    m.bytesField(4, c.bytes)
                }
            }
        }
        if queryIndex != 0 { w.uvarintField(2, UInt64(queryIndex)) }
        var frame: [UInt8] = []
        frame.reserveCapacity(w.bytes.count + 14)
        Varint.appendUvarint(&frame, UInt64(w.bytes.count))
        Varint.appendBE32(&frame, CRC32C.checksum(w.bytes))
        frame += w.bytes
        return frame
    }
}
