import StrataEncoding
import StrataModel

/// Encodes remote-write 1.0 `WriteRequest` protobufs for tests and benchmarks, including the
/// malformed shapes a decoder must refuse. Independent of the decoder it tests.
public struct WriteRequestBuilder: Sendable {
    public struct Series: Sendable {
        public var labels: [(String, String)]
        public var samples: [Sample]
        public var histograms: Int = 0
        public var exemplars: Int = 0

        public init(labels: [(String, String)], samples: [Sample], histograms: Int = 0, exemplars: Int = 0) {
            self.labels = labels; self.samples = samples; self.histograms = histograms; self.exemplars = exemplars
        }
    }

    public var series: [Series] = []
    public var metadata: [MetricMetadata] = []

    public init(_ series: [Series] = [], metadata: [MetricMetadata] = []) {
        self.series = series; self.metadata = metadata
    }

    public mutating func add(_ labels: [(String, String)], _ samples: [(Int64, Double)]) {
        series.append(Series(labels: labels, samples: samples.map { Sample(t: $0.0, v: $0.1) }))
    }

    /// The protobuf bytes (uncompressed).
    public func protobuf() -> [UInt8] {
        var out: [UInt8] = []
        for s in series {
            var ts: [UInt8] = []
            for (n, v) in s.labels {
                var l: [UInt8] = []
                Proto.bytesField(&l, 1, Array(n.utf8))
                Proto.bytesField(&l, 2, Array(v.utf8))
                Proto.bytesField(&ts, 1, l)
            }
            for sample in s.samples {
                var m: [UInt8] = []
                if sample.v.bitPattern != 0 {
                    Proto.key(&m, 1, 1)
                    withUnsafeBytes(of: sample.v.bitPattern.littleEndian) { m.append(contentsOf: $0) }
                }
                if sample.t != 0 {
                    Proto.key(&m, 2, 0)
                    Varint.appendUvarint(&m, UInt64(bitPattern: sample.t))
                }
                Proto.bytesField(&ts, 2, m)
            }
            for _ in 0 ..< s.exemplars {
                var e: [UInt8] = []
                Proto.key(&e, 3, 0); Varint.appendUvarint(&e, 1000)
                Proto.bytesField(&ts, 3, e)
            }
            for _ in 0 ..< s.histograms {
                var h: [UInt8] = []
                Proto.key(&h, 1, 0); Varint.appendUvarint(&h, 3)  // count_int
                Proto.key(&h, 15, 0); Varint.appendUvarint(&h, 1000) // timestamp
                Proto.bytesField(&ts, 4, h)
            }
            Proto.bytesField(&out, 1, ts)
        }
        for m in metadata {
            var b: [UInt8] = []
            Proto.key(&b, 1, 0); Varint.appendUvarint(&b, UInt64(m.type.rawValue))
            Proto.bytesField(&b, 2, Array(m.metricFamilyName.utf8))
            Proto.bytesField(&b, 4, Array(m.help.utf8))
            Proto.bytesField(&b, 5, Array(m.unit.utf8))
            Proto.bytesField(&out, 3, b)
        }
        return out
    }

    /// The snappy-compressed body as senders POST it.
    public func snappyBody() -> [UInt8] { Snappy.compress(protobuf()) }

    enum Proto {
        static func key(_ out: inout [UInt8], _ field: UInt64, _ wire: UInt64) {
            Varint.appendUvarint(&out, field << 3 | wire)
        }
        static func bytesField(_ out: inout [UInt8], _ field: UInt64, _ bytes: [UInt8]) {
            key(&out, field, 2)
            Varint.appendUvarint(&out, UInt64(bytes.count))
            out += bytes
        }
    }
}
