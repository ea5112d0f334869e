import Foundation
import StrataEncoding

/// How a profile histogram is sent as a native histogram (`--native-histograms`): one span of
/// consecutive exponential buckets of `schema` (each bound the previous times 2^(2^-schema), 1 a
/// bound, as Prometheus' native histograms are) from the bucket holding the profile's smallest
/// positive bound to the one holding its largest. Observations follow the same exponential
/// distribution as the classic buckets (mean: the middle bound); those below the first bucket are
/// counted in it, those above the last in the last, so no observation falls outside the span.
struct NativeHistogramLayout: Sendable {
    let schema: Int32
    /// Index of the first bucket: bucket `i` holds (2^((i-1)·2^-schema), 2^(i·2^-schema)].
    let firstIndex: Int32
    /// Each bucket's share of the observations; they sum to 1.
    let shares: [Double]
    /// The bucket with the largest share: it takes what rounding each bucket down leaves, so the
    /// buckets always add up to the count.
    let largest: Int
    /// Mean observation (the histogram's sum grows by it per observation).
    let mean: Double

    /// The Go client's default zero bucket width (2^-128); its count stays 0 here.
    static let zeroThreshold = 2.938735877055719e-39

    init(schema: Int, bounds: [Double]) {
        let positive = bounds.filter { $0 > 0 }
        let lo = positive.first ?? 1, hi = positive.last ?? 1
        let mean = positive.isEmpty ? 1 : positive[positive.count / 2]
        self.mean = mean
        self.schema = Int32(schema)
        firstIndex = Self.index(of: lo, schema: schema)
        let last = Self.index(of: hi, schema: schema)
        let cdf = { (x: Double) in 1 - exp(-x / mean) }
        var shares: [Double] = []
        var below = 0.0
        for i in firstIndex ... last {
            let f = i == last ? 1 : cdf(Self.upperBound(i, schema: schema))
            shares.append(f - below)
            below = f
        }
        self.shares = shares
        largest = shares.indices.max { shares[$0] < shares[$1] } ?? 0
    }

    var bucketCount: Int { shares.count }

    /// The index of the bucket holding `v` (> 0).
    static func index(of v: Double, schema: Int) -> Int32 {
        var i = Int32((log2(v) * exp2(Double(schema))).rounded(.up))
        // log2 of an exact bound can land a hair above it.
        if i > Int32.min && upperBound(i - 1, schema: schema) >= v { i -= 1 }
        return i
    }

    static func upperBound(_ i: Int32, schema: Int) -> Double { exp2(Double(i) * exp2(-Double(schema))) }

    /// Adds one scrape's `observations` to `buckets` (one count per bucket, cumulative since the
    /// series started, as a native histogram's are) and returns how many were added in all.
    @inline(__always)
    func observe(_ observations: Double, into buckets: UnsafeMutableBufferPointer<UInt64>) -> UInt64 {
        let total = UInt64(observations)
        var placed: UInt64 = 0
        for i in shares.indices {
            let n = UInt64((observations * shares[i]).rounded(.down))
            buckets[i] &+= n
            placed &+= n
        }
        buckets[largest] &+= total - placed
        return total
    }

    /// The most bytes `encode` writes besides the labels.
    var maxEncodedBytes: Int { 100 + 10 * bucketCount }

    /// Writes `TimeSeries { labels = 1; histograms = 4 }` at `out`, the histogram with integer
    /// counts (remote write 1.0's `prompb.Histogram`: count, sum, schema, zero bucket, one positive
    /// span and its bucket deltas, timestamp). Returns the byte after it.
    func encode(at out: UnsafeMutableRawPointer, labels: UnsafeRawBufferPointer, buckets: UnsafeBufferPointer<UInt64>,
                count: UInt64, sum: Double, timestamp: UInt64) -> UnsafeMutableRawPointer {
        typealias W = ProtoWriter
        // sint32 and sint64 zigzag agree on every 32-bit value.
        let schemaZigzag = Varint.zigzag(Int64(schema))
        let offsetZigzag = Varint.zigzag(Int64(firstIndex))
        var deltasLen = 0
        var previous: UInt64 = 0
        for c in buckets {
            deltasLen += W.varintLength(Varint.zigzag(Int64(bitPattern: c &- previous)))
            previous = c
        }
        let spanLen = 1 + W.varintLength(offsetZigzag) + 1 + W.varintLength(UInt64(buckets.count))
        let histogramLen = 1 + W.varintLength(count) + 9 + 1 + W.varintLength(schemaZigzag) + 9 + 2
            + 1 + W.varintLength(UInt64(spanLen)) + spanLen
            + 1 + W.varintLength(UInt64(deltasLen)) + deltasLen
            + 1 + W.varintLength(timestamp)
        let seriesLen = labels.count + 1 + W.varintLength(UInt64(histogramLen)) + histogramLen

        var p = out
        func byte(_ b: UInt8) { p.storeBytes(of: b, as: UInt8.self); p += 1 }
        func double(_ d: Double) { p.storeBytes(of: d.bitPattern.littleEndian, toByteOffset: 0, as: UInt64.self); p += 8 }
        byte(0x0A); p = W.putVarint(p, UInt64(seriesLen))
        p.copyMemory(from: labels.baseAddress!, byteCount: labels.count); p += labels.count
        byte(0x22); p = W.putVarint(p, UInt64(histogramLen))
        byte(0x08); p = W.putVarint(p, count)                      // count_int
        byte(0x19); double(sum)                                    // sum
        byte(0x20); p = W.putVarint(p, schemaZigzag)               // schema (sint32)
        byte(0x29); double(Self.zeroThreshold)                     // zero_threshold
        byte(0x30); byte(0)                                        // zero_count_int
        byte(0x5A); p = W.putVarint(p, UInt64(spanLen))            // positive_spans
        byte(0x08); p = W.putVarint(p, offsetZigzag)
        byte(0x10); p = W.putVarint(p, UInt64(buckets.count))
        byte(0x62); p = W.putVarint(p, UInt64(deltasLen))          // positive_deltas (packed sint64)
        previous = 0
        for c in buckets {
            p = W.putVarint(p, Varint.zigzag(Int64(bitPattern: c &- previous)))
            previous = c
        }
        byte(0x78); p = W.putVarint(p, timestamp)                  // timestamp
        return p
    }
}
