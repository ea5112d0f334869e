import StrataEncoding
import StrataModel
import StrataStorage

/// Why a remote-write body was refused as a whole (nothing from it was stored).
public enum RemoteWriteError: Error, Equatable, Sendable {
    case snappy(String)
    case tooLarge(decodedBytes: Int, limit: Int)
    case protobuf(String)
    /// More series (time series entries) or float samples than `WriteCountLimits` allow.
    case tooManySeries(count: Int, limit: Int)
    case tooManySamples(count: Int, limit: Int)

    public var message: String {
        switch self {
        case .snappy(let m): return "snappy decode: \(m)"
        case .tooLarge(let n, let limit): return "decoded request is \(n) bytes, larger than the limit of \(limit) bytes"
        case .protobuf(let m): return "decode protobuf: \(m)"
        case .tooManySeries(let n, let limit): return "too many timeseries: \(n) in the request, the limit is \(limit)"
        case .tooManySamples(let n, let limit): return "too many samples: \(n) in the request, the limit is \(limit)"
        }
    }
}

/// Per-request limits on what one write may hold (Thanos Receive's `series_limit` and
/// `samples_limit`; nil or 0: none). Checked once the body is parsed, before anything is appended.
public struct WriteCountLimits: Sendable, Equatable {
    public var series: Int?
    /// Float samples only, as Thanos counts them.
    public var samples: Int?
    public init(series: Int? = nil, samples: Int? = nil) { self.series = series; self.samples = samples }
}

/// What happened to a decoded write request.
public struct WriteSummary: Sendable, Equatable {
    public var series = 0
    public var samplesAccepted = 0
    public var samplesRejected = 0
    public var seriesRejected = 0
    public var histogramsRejected = 0
    public var exemplarsIgnored = 0
    public var metadata = 0
    /// The first offending series (printed labels) and why.
    public var firstFailure: (labels: String, failure: AppendFailure)?

    public init() {}

    public static func == (a: WriteSummary, b: WriteSummary) -> Bool {
        a.series == b.series && a.samplesAccepted == b.samplesAccepted && a.samplesRejected == b.samplesRejected
            && a.seriesRejected == b.seriesRejected && a.histogramsRejected == b.histogramsRejected
            && a.firstFailure?.labels == b.firstFailure?.labels && a.firstFailure?.failure == b.firstFailure?.failure
    }

    public var hasFailures: Bool { firstFailure != nil }
}

/// Decodes remote-write 1.0 requests (snappy block + `prometheus.WriteRequest`) straight into an
/// `Appender`, reusing its buffers from one request to the next.
///
/// Labels are never turned into Strings: each series' labels are copied from the decompressed body
/// into one scratch buffer in `Labels` blob layout, and the head looks series up by hashing and
/// comparing those bytes. The whole body is decoded before anything is appended, so a malformed
/// body stores nothing.
public final class WriteRequestDecoder {
    private var body: [UInt8] = []
    /// The request's label blobs, written through a pointer. A body's blobs never outgrow the body
    /// (each label's blob is its message less the two field tags), so the buffer is sized once per
    /// request and a label costs two copies instead of four array appends, each with its own
    /// capacity and uniqueness checks (a tenth of the ingest profile).
    private var labelBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var labelCount = 0
    private var samples: [Sample] = []
    private var series: [SeriesEntry] = []
    private var metadata: [MetricMetadata] = []

    /// Offsets into `labelBytes` and `samples`: full `Int`s, since a body may be as large as
    /// `--receive.max-request-bytes` allows (2 GiB would trap 32-bit offsets).
    struct SeriesEntry {
        var labelStart: Int, labelEnd: Int
        var sampleStart: Int, sampleEnd: Int
        var histograms: Int
    }

    public init() {}

    deinit { labelBuffer.deallocate() }

    /// Decompresses and decodes `compressed`, then appends every series to `appender`.
    /// `maxDecodedBytes` bounds the decompressed size (checked before decompressing).
    public func decode(snappyBody compressed: UnsafeRawBufferPointer, maxDecodedBytes: Int,
                       limits: WriteCountLimits = WriteCountLimits(),
                       into appender: any Appender) throws(RemoteWriteError) -> WriteSummary {
        do {
            try Snappy.decompress(compressed, into: &body, limit: maxDecodedBytes)
        } catch .tooLarge(let n, let limit) {
            throw .tooLarge(decodedBytes: n, limit: limit)
        } catch {
            throw .snappy("corrupt input")
        }
        return try decode(protobuf: nil, limits: limits, into: appender)
    }

    /// Decodes an uncompressed `WriteRequest` (used by tests and benchmarks, and after decompression).
    public func decode(protobuf raw: [UInt8]?, limits: WriteCountLimits = WriteCountLimits(),
                       into appender: any Appender) throws(RemoteWriteError) -> WriteSummary {
        if let raw { body = raw }
        labelCount = 0
        if labelBuffer.count < body.count {
            labelBuffer.deallocate()
            labelBuffer = .allocate(byteCount: body.count, alignment: 16)
        }
        samples.removeAll(keepingCapacity: true)
        series.removeAll(keepingCapacity: true)
        metadata.removeAll(keepingCapacity: true)
        var summary = WriteSummary()
        var failure: RemoteWriteError?
        body.withUnsafeBytes { buf in
            do throws(DecodeError) { try parseWriteRequest(buf, &summary) }
            catch { failure = .protobuf(Self.describe(error)) }
        }
        if let failure { throw failure }
        if let limit = limits.series, limit > 0, series.count > limit { throw .tooManySeries(count: series.count, limit: limit) }
        if let limit = limits.samples, limit > 0, samples.count > limit { throw .tooManySamples(count: samples.count, limit: limit) }
        append(into: appender, &summary)
        return summary
    }

    static func describe(_ e: DecodeError) -> String {
        switch e {
        case .truncated: return "unexpected end of message"
        case .overflow: return "varint overflow"
        case .invalid(let m): return m
        }
    }

    // MARK: protobuf walk

    private func parseWriteRequest(_ buf: UnsafeRawBufferPointer, _ summary: inout WriteSummary) throws(DecodeError) {
        var r = ByteReader(buf)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            if field == 1 || field == 3 { try Proto.expect(wire, 2, field, "WriteRequest") }
            if field == 1 {
                let msg = try r.bytes(try Proto.length(&r))
                try parseTimeSeries(msg, &summary)
            } else if field == 3 {
                let msg = try r.bytes(try Proto.length(&r))
                metadata.append(try parseMetadata(msg))
            } else {
                try Proto.skip(&r, wire)
            }
        }
    }

    @inline(__always)
    private func parseTimeSeries(_ buf: UnsafeRawBufferPointer, _ summary: inout WriteSummary) throws(DecodeError) {
        var r = ByteReader(buf)
        var entry = SeriesEntry(labelStart: labelCount, labelEnd: 0,
                                sampleStart: samples.count, sampleEnd: 0, histograms: 0)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            if field <= 4 { try Proto.expect(wire, 2, field, "TimeSeries") }
            switch (field, wire) {
            case (1, 2):
                let label = try r.bytes(try Proto.length(&r))
                try parseLabel(label)
            case (2, 2):
                let sample = try r.bytes(try Proto.length(&r))
                samples.append(try parseSample(sample))
            case (3, 2):
                _ = try r.bytes(try Proto.length(&r))
                summary.exemplarsIgnored += 1
            case (4, 2):
                _ = try r.bytes(try Proto.length(&r))
                entry.histograms += 1
            default:
                try Proto.skip(&r, wire)
            }
        }
        entry.labelEnd = labelCount
        entry.sampleEnd = samples.count
        series.append(entry)
    }

    /// Copies one label into the scratch blob as `uvarint len | name | uvarint len | value`.
    /// Labels with an empty value are dropped, as Prometheus treats them as absent.
    @inline(__always)
    private func parseLabel(_ buf: UnsafeRawBufferPointer) throws(DecodeError) {
        // As every client encodes it: `0x0a len name 0x12 len value`, lengths below 128. Its blob
        // is the message without the two tags: two copies, no field loop.
        let n = buf.count
        if n >= 4, buf[0] == 0x0A, buf[1] < 0x80 {
            let nameLength = Int(buf[1])
            if 4 + nameLength <= n, buf[2 + nameLength] == 0x12, buf[3 + nameLength] < 0x80,
               4 + nameLength + Int(buf[3 + nameLength]) == n {
                if n == 4 + nameLength { return }   // empty value: absent
                guard labelCount + n - 2 <= labelBuffer.count else { throw .invalid("label blob larger than the request") }
                let dst = labelBuffer.baseAddress! + labelCount
                dst.copyMemory(from: buf.baseAddress! + 1, byteCount: 1 + nameLength)
                (dst + 1 + nameLength).copyMemory(from: buf.baseAddress! + 3 + nameLength, byteCount: n - 3 - nameLength)
                labelCount += n - 2
                return
            }
        }
        var r = ByteReader(buf)
        var name = UnsafeRawBufferPointer(start: nil, count: 0)
        var value = UnsafeRawBufferPointer(start: nil, count: 0)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            if field <= 2 { try Proto.expect(wire, 2, field, "Label") }
            if wire == 2 && field == 1 { name = try r.bytes(try Proto.length(&r)) }
            else if wire == 2 && field == 2 { value = try r.bytes(try Proto.length(&r)) }
            else { try Proto.skip(&r, wire) }
        }
        if value.isEmpty { return }
        // Never true (see `labelBuffer`); checked so that a mistake there is an error, not a
        // write past the buffer.
        let size = Self.uvarintSize(name.count) + name.count + Self.uvarintSize(value.count) + value.count
        guard labelCount + size <= labelBuffer.count else {
            throw .invalid("label blob larger than the request")
        }
        var p = labelBuffer.baseAddress! + labelCount
        p = Self.put(name, at: p)
        p = Self.put(value, at: p)
        labelCount = p - labelBuffer.baseAddress!
    }

    @inline(__always)
    private static func uvarintSize(_ n: Int) -> Int { (70 - (UInt(n) | 1).leadingZeroBitCount) / 7 }

    /// Writes `uvarint len | bytes` at `p` and returns the position after it.
    @inline(__always)
    private static func put(_ bytes: UnsafeRawBufferPointer, at p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var p = p
        var n = UInt(bytes.count)
        while n >= 0x80 { p.storeBytes(of: UInt8(truncatingIfNeeded: n) | 0x80, as: UInt8.self); p += 1; n >>= 7 }
        p.storeBytes(of: UInt8(n), as: UInt8.self)
        p += 1
        if let base = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: base, byteCount: bytes.count) }
        return p + bytes.count
    }

    @inline(__always)
    private func parseSample(_ buf: UnsafeRawBufferPointer) throws(DecodeError) -> Sample {
        var r = ByteReader(buf)
        var s = Sample(t: 0, v: 0)
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            // A value or timestamp of another wire type is a broken client, not a zero.
            if field == 1 { try Proto.expect(wire, 1, field, "Sample") }
            else if field == 2 { try Proto.expect(wire, 0, field, "Sample") }
            if field == 1 && wire == 1 { s.v = Double(bitPattern: try r.le64()) }
            else if field == 2 && wire == 0 { s.t = Int64(bitPattern: try r.uvarint()) }
            else { try Proto.skip(&r, wire) }
        }
        return s
    }

    private func parseMetadata(_ buf: UnsafeRawBufferPointer) throws(DecodeError) -> MetricMetadata {
        var r = ByteReader(buf)
        var m = MetricMetadata(metricFamilyName: "", type: .unknown, help: "", unit: "")
        while !r.isAtEnd {
            let (field, wire) = try Proto.tag(&r)
            switch (field, wire) {
            case (1, 0): m.type = MetricMetadata.MetricType(rawValue: UInt8(truncatingIfNeeded: try r.uvarint())) ?? .unknown
            case (2, 2): m.metricFamilyName = String(decoding: try r.bytes(try Proto.length(&r)), as: UTF8.self)
            case (4, 2): m.help = String(decoding: try r.bytes(try Proto.length(&r)), as: UTF8.self)
            case (5, 2): m.unit = String(decoding: try r.bytes(try Proto.length(&r)), as: UTF8.self)
            default: try Proto.skip(&r, wire)
            }
        }
        return m
    }

    // MARK: append

    private func append(into appender: any Appender, _ summary: inout WriteSummary) {
        summary.series = series.count
        do {
            let lb = UnsafeRawBufferPointer(labelBuffer)
            samples.withUnsafeBufferPointer { sb in
                for e in series {
                    let labels = UnsafeRawBufferPointer(rebasing: lb[e.labelStart ..< e.labelEnd])
                    if e.histograms > 0 {
                        summary.histogramsRejected += e.histograms
                        summary.seriesRejected += 1
                        if summary.firstFailure == nil {
                            summary.firstFailure = (Self.printLabels(labels),
                                                    .unsupported("native histograms are not supported yet"))
                        }
                    }
                    if e.sampleEnd == e.sampleStart { continue }
                    let s = UnsafeBufferPointer(rebasing: sb[e.sampleStart ..< e.sampleEnd])
                    let res = appender.append(labels: labels, samples: s)
                    summary.samplesAccepted += res.accepted
                    summary.samplesRejected += res.rejected
                    if let f = res.firstFailure {
                        if e.histograms == 0 { summary.seriesRejected += 1 }
                        if summary.firstFailure == nil { summary.firstFailure = (Self.printLabels(labels), f.failure) }
                    }
                }
            }
        }
        for m in metadata where !m.metricFamilyName.isEmpty { appender.appendMetadata(m) }
        summary.metadata = metadata.count
    }

    /// `{a="b", ...}` for an error message, tolerant of malformed blobs.
    static func printLabels(_ blob: UnsafeRawBufferPointer) -> String {
        var parts: [String] = []
        var i = 0
        func readLen() -> Int? { LabelBlob.readUvarintChecked(blob, &i) }
        while i < blob.count {
            guard let nl = readLen(), i + nl <= blob.count else { break }
            let n = String(decoding: UnsafeRawBufferPointer(rebasing: blob[i ..< i + nl]), as: UTF8.self); i += nl
            guard let vl = readLen(), i + vl <= blob.count else { break }
            let v = String(decoding: UnsafeRawBufferPointer(rebasing: blob[i ..< i + vl]), as: UTF8.self); i += vl
            parts.append(n + "=" + goQuote(v))
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}

/// Protobuf wire-format primitives.
enum Proto {
    @inline(__always)
    static func tag(_ r: inout ByteReader) throws(DecodeError) -> (field: UInt64, wire: UInt64) {
        let t = try r.uvarint()
        let field = t >> 3
        if field == 0 { throw .invalid("illegal tag 0") }
        return (field, t & 7)
    }

    @inline(__always)
    static func length(_ r: inout ByteReader) throws(DecodeError) -> Int {
        let n = try r.uvarint()
        guard n <= UInt64(r.remaining) else { throw .truncated }
        return Int(n)
    }

    /// Known fields must come with their declared wire type, as generated Go decoders insist
    /// ("proto: wrong wireType = 0 for field 1 in Sample").
    @inline(__always)
    static func expect(_ wire: UInt64, _ declared: UInt64, _ field: UInt64, _ message: StaticString) throws(DecodeError) {
        if wire != declared { throw .invalid("wrong wireType = \(wire) for field \(field) in \(message)") }
    }

    static func skip(_ r: inout ByteReader, _ wire: UInt64) throws(DecodeError) {
        switch wire {
        case 0: _ = try r.uvarint()
        case 1: _ = try r.bytes(8)
        case 2: _ = try r.bytes(try length(&r))
        case 5: _ = try r.bytes(4)
        default: throw .invalid("unsupported wire type \(wire)")
        }
    }
}
