import StrataBlock
import StrataEncoding
import StrataModel

/// Prometheus WAL record payloads (`tsdb/record/record.go`), the types Strata writes:
/// series (1) and samples (2). See docs/format/wal.md.
public enum WALRecordType: UInt8, Sendable {
    case series = 1
    case samples = 2
    case tombstones = 3
    case exemplars = 4
    case mmapMarkers = 5
    case metadata = 6
}

/// A series as the WAL carries it: its head ref and its labels in `Labels` blob layout, which is
/// byte for byte the record's `(name, value) uvarint-str` list.
public struct WALSeries: Sendable, Equatable {
    public var ref: SeriesRef
    public var labels: Labels
    public init(ref: SeriesRef, labels: Labels) { self.ref = ref; self.labels = labels }
}

public struct WALSample: Sendable, Equatable {
    public var ref: SeriesRef
    public var t: Int64
    public var v: Double
    public init(ref: SeriesRef, t: Int64, v: Double) { self.ref = ref; self.t = t; self.v = v }

    public static func == (a: WALSample, b: WALSample) -> Bool {
        a.ref == b.ref && a.t == b.t && a.v.bitPattern == b.v.bitPattern
    }
}

public enum WALRecordEncoder {
    /// `1 | (ref BE64, #labels uvarint, (name, value) uvarint-str…)…`
    public static func series(ref: SeriesRef, labelsBlob: UnsafeRawBufferPointer, count: Int, into out: inout [UInt8]) {
        out.append(WALRecordType.series.rawValue)
        appendSeries(ref: ref, labelsBlob: labelsBlob, count: count, into: &out)
    }

    /// Appends one more series entry to a series record started with `series(...)`.
    public static func appendSeries(ref: SeriesRef, labelsBlob: UnsafeRawBufferPointer, count: Int, into out: inout [UInt8]) {
        Varint.appendBE64(&out, ref)
        Varint.appendUvarint(&out, UInt64(count))
        out.append(contentsOf: labelsBlob)
    }

    /// `2 | firstRef BE64 | firstT BE64 | (ref-firstRef varint, t-firstT varint, value BE64)…`
    public static func samples(_ samples: UnsafeBufferPointer<WALSample>, into out: inout [UInt8]) {
        guard let first = samples.first else { return }
        out.reserveCapacity(out.count + 17 + samples.count * 14)
        out.append(WALRecordType.samples.rawValue)
        Varint.appendBE64(&out, first.ref)
        Varint.appendBE64(&out, UInt64(bitPattern: first.t))
        for s in samples {
            Varint.appendVarint(&out, Int64(bitPattern: s.ref &- first.ref))
            Varint.appendVarint(&out, s.t &- first.t)
            Varint.appendBE64(&out, s.v.bitPattern)
        }
    }
}

/// A series record's entry as `WALRecordDecoder.seriesSpans` finds it: the label blob's byte range in the record.
public struct WALSeriesSpan: Sendable {
    public let ref: SeriesRef
    public let labels: Range<Int>
}

public enum WALRecordDecoder {
    public static func type(_ rec: UnsafeRawBufferPointer) -> WALRecordType? {
        rec.isEmpty ? nil : WALRecordType(rawValue: rec[0])
    }

    public static func series(_ rec: UnsafeRawBufferPointer, into out: inout [WALSeries]) throws(DecodeError) {
        var spans: [WALSeriesSpan] = []
        try seriesSpans(rec, into: &spans)
        for s in spans { out.append(WALSeries(ref: s.ref, labels: Labels(canonicalBytes: Array(rec[s.labels])))) }
    }

    /// The entries of a series record without copying their labels: each ref with where its
    /// label blob lies in `rec` (WAL replay hands the bytes to the head, which copies them once).
    public static func seriesSpans(_ rec: UnsafeRawBufferPointer, into out: inout [WALSeriesSpan]) throws(DecodeError) {
        var r = ByteReader(rec, offset: 1)
        while !r.isAtEnd {
            let ref = try r.be64()
            let n = try r.uvarint()
            let start = r.offset
            for _ in 0 ..< n {
                _ = try r.bytes(try r.uvarintInt())
                _ = try r.bytes(try r.uvarintInt())
            }
            out.append(WALSeriesSpan(ref: ref, labels: start ..< r.offset))
        }
    }

    public static func samples(_ rec: UnsafeRawBufferPointer, into out: inout [WALSample]) throws(DecodeError) {
        var r = ByteReader(rec, offset: 1)
        if r.isAtEnd { return }
        let baseRef = try r.be64()
        let baseT = Int64(bitPattern: try r.be64())
        while !r.isAtEnd {
            let dref = try r.varint()
            let dt = try r.varint()
            let v = Double(bitPattern: try r.be64())
            out.append(WALSample(ref: baseRef &+ UInt64(bitPattern: dref), t: baseT &+ dt, v: v))
        }
    }
}
