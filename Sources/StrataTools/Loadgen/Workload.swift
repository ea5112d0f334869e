import Foundation
import StrataEncoding
import StrataModel

/// A profile expanded into series: `targets` copies of the per-target template, cut at `count`
/// series, plus the churn schedule that replaces targets over time. Immutable and shared by the
/// shards; everything that changes while sending lives in `ShardSeries`.
public struct Workload: Sendable {
    /// One series of the per-target template and how its value moves.
    struct Template: Sendable {
        var labels: [(String, String)]   // name and labels other than job and the target label
        var model: ValueModel
        var start: Double
        /// The histogram (within a target) this series is part of, else nil.
        var histogram: Int?
        /// How the series' buckets are laid out when it is a native histogram.
        var native: NativeHistogramLayout?
    }

    public let profile: WorkloadProfile
    let templates: [Template]
    private let encodedTemplates: [([UInt8], [UInt8])]
    public let count: Int
    public let targets: Int
    /// Replace `churnTargets` targets every `churnIntervalMs` of sample time (0: never).
    public let churnIntervalMs: Int64
    public let churnTargets: Int
    public let intervalMs: Int64
    /// Profile histograms go out as native histograms (`TimeSeries.histograms`), one series each,
    /// instead of classic `_bucket`/`_sum`/`_count` series.
    public let nativeHistograms: Bool

    public var seriesPerTarget: Int { templates.count }

    public init(profile: WorkloadProfile, series: Int, intervalMs: Int64, churnIntervalMs: Int64 = 0, churnFraction: Double = 0,
                nativeHistograms: Bool = false) {
        self.profile = profile
        self.nativeHistograms = nativeHistograms
        var templates: [Template] = []
        var histograms = 0
        for m in profile.metrics {
            // Every combination of label values, first label slowest.
            var combos: [[(String, String)]] = [[]]
            for l in m.labels {
                combos = combos.flatMap { c in l.values.map { c + [(l.name, $0)] } }
            }
            for combo in combos {
                let series = [("__name__", m.name)] + combo
                // Counters and gauges move in ticks of the metric's resolution, written as
                // ticks × unit (or ticks / divisor when the resolution is 1/divisor, so 0.01 s
                // steps print as the decimals an exporter writes).
                let r = m.resolution
                let (mul, div): (Double, Double) = r <= 0 ? (1, 1) : (r < 1 && (1 / r).rounded() == 1 / r ? (1, 1 / r) : (r, 1))
                let unit = mul / div
                switch m.kind {
                case .counter:
                    templates.append(Template(labels: series, model: ValueModel(kind: .counter, a: m.rate / unit, mul: mul, div: div,
                                                                                quantized: r > 0),
                                              start: (m.value / unit).rounded()))
                case .gauge:
                    templates.append(Template(labels: series,
                                              model: ValueModel(kind: .gauge, a: m.rate / unit, lo: (m.min / unit).rounded(.up),
                                                                hi: (m.max / unit).rounded(.down), mul: mul, div: div, quantized: r > 0),
                                              start: (min(max(m.value, m.min), m.max) / unit).rounded()))
                case .constant:
                    templates.append(Template(labels: series, model: ValueModel(kind: .constant), start: m.value))
                case .histogram where nativeHistograms:
                    let layout = NativeHistogramLayout(schema: m.schema, bounds: m.buckets)
                    templates.append(Template(labels: series,
                                              model: ValueModel(kind: .nativeHistogram, a: layout.mean, observationsPerSecond: m.rate),
                                              start: 0, histogram: histograms, native: layout))
                    histograms += 1
                case .histogram:
                    // Observations spread as an exponential distribution whose mean is the middle
                    // bound: every bucket moves, cumulative counts stay ordered.
                    let mean = m.buckets[m.buckets.count / 2]
                    let h = histograms
                    histograms += 1
                    func add(_ suffix: String, _ extra: [(String, String)], _ kind: ValueModel.Kind, _ a: Double) {
                        templates.append(Template(labels: [("__name__", m.name + suffix)] + combo + extra,
                                                  model: ValueModel(kind: kind, a: a, observationsPerSecond: m.rate),
                                                  start: 0, histogram: h))
                    }
                    for b in m.buckets { add("_bucket", [("le", GoFloat.format(b))], .bucket, 1 - exp(-b / mean)) }
                    add("_bucket", [("le", "+Inf")], .bucket, 1)
                    add("_sum", [], .histogramSum, mean)
                    add("_count", [], .histogramCount, 0)
                }
            }
        }
        self.templates = templates
        self.encodedTemplates = Self.encodeTemplates(templates, job: profile.job, targetLabel: profile.targetLabel)
        self.count = series
        self.targets = templates.isEmpty ? 0 : (series + templates.count - 1) / templates.count
        self.intervalMs = intervalMs
        self.churnIntervalMs = churnFraction > 0 ? churnIntervalMs : 0
        self.churnTargets = self.churnIntervalMs > 0 ? max(1, Int((churnFraction * Double(targets)).rounded())) : 0
    }

    // MARK: Identity

    /// How many times target `target` has been replaced by churn epoch `epoch`. Churn walks the
    /// targets round-robin, `churnTargets` per epoch, so every shard derives the same answer from
    /// a sample's timestamp alone, without talking to the others.
    public func generation(target: Int, epoch: Int64) -> UInt32 {
        guard churnTargets > 0, epoch > 0 else { return 0 }
        let replaced = epoch * Int64(churnTargets)
        let t = Int64(target)
        return replaced > t ? UInt32((replaced - t + Int64(targets) - 1) / Int64(targets)) : 0
    }

    /// The label pairs of series `series` in generation `generation`, sorted by name.
    public func labels(series: Int, generation: UInt32) -> [(String, String)] {
        let target = series / templates.count
        let id = target + Int(generation) * targets
        var pairs = templates[series % templates.count].labels
        pairs.append(("job", profile.job))
        pairs.append((profile.targetLabel, profile.targetValue(id)))
        pairs.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return pairs
    }

    /// `TimeSeries.labels` fields of the series, protobuf-encoded once and copied into every request:
    /// the template's encoded labels before and after the target label, around the target's value.
    func encodedLabels(series: Int, generation: UInt32) -> [UInt8] {
        let (before, after) = encodedTemplates[series % templates.count]
        let value = profile.targetValue(series / templates.count + Int(generation) * targets)
        return before + ProtoBytes.label(profile.targetLabel, value) + after
    }

    /// Per template: the encoded `Label` fields that sort before the target label and after it.
    private static func encodeTemplates(_ templates: [Template], job: String, targetLabel: String) -> [([UInt8], [UInt8])] {
        templates.map { t in
            var pairs = t.labels + [("job", job)]
            pairs.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            var before: [UInt8] = [], after: [UInt8] = []
            for (n, v) in pairs {
                if n.utf8.lexicographicallyPrecedes(targetLabel.utf8) { before += ProtoBytes.label(n, v) } else { after += ProtoBytes.label(n, v) }
            }
            return (before, after)
        }
    }

    /// The series split into `count` shards, pinned by a hash of their first generation's labels as
    /// Prometheus pins by fingerprint: churn keeps a slot on its shard, so samples of one series stay
    /// in order.
    func makeShards(_ count: Int) -> [ShardSeries] {
        var members = [[Int]](repeating: [], count: count)
        var labels = [[[UInt8]]](repeating: [], count: count)
        for s in 0 ..< self.count {
            let l = encodedLabels(series: s, generation: 0)
            let i = Int(XXH64.hash(l) % UInt64(count))
            members[i].append(s)
            labels[i].append(l)
        }
        return (0 ..< count).map { ShardSeries(workload: self, series: members[$0], labels: labels[$0]) }
    }

    /// Metric families for `MetricMetadata`: (family name, type, help, unit), each once.
    var metadata: [(name: String, type: WorkloadProfile.Kind, help: String, unit: String)] {
        var seen = Set<String>()
        return profile.metrics.filter { seen.insert($0.name).inserted }.map { ($0.name, $0.kind, $0.help, $0.unit) }
    }

    // MARK: Values

    /// A series' noise seed: a histogram's series share their histogram's, so their buckets, sum
    /// and count agree; other series have their own. The same in every shard and run.
    func seed(series: Int, generation: UInt32) -> UInt64 {
        let target = UInt64(series / templates.count)
        if let h = templates[series % templates.count].histogram {
            return mix(target &* 0xD6E8_FEB8_6659_FD93 ^ UInt64(h) << 24 ^ UInt64(generation) << 48 ^ 0x5151)
        }
        return mix(UInt64(series) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(generation) << 40)
    }

    /// A series' first state: counters start between half and 1.5 times the profile's value,
    /// so targets differ as real ones do.
    func startState(series: Int, seed: UInt64) -> Double {
        let t = templates[series % templates.count]
        guard t.model.kind == .counter else { return t.start }
        let jittered = t.start * (0.5 + Double(mix(seed ^ 0x5EED) >> 11) / Double(1 << 53))
        return t.model.quantized ? jittered.rounded() : jittered
    }

    func model(series: Int) -> ValueModel { templates[series % templates.count].model }

    func nativeLayout(series: Int) -> NativeHistogramLayout? { templates[series % templates.count].native }
}

/// How one series' value moves from scrape to scrape, flat for the per-sample loop.
struct ValueModel: Sendable {
    enum Kind: UInt8, Sendable { case constant, counter, gauge, bucket, histogramSum, histogramCount, nativeHistogram }
    var kind: Kind
    /// Counter: mean increase per second. Gauge: random-walk step per 15 s. Bucket: the share of
    /// observations at or below its bound. Histogram sum and native histogram: the mean observation. Counters and
    /// gauges count in ticks: their state, `a`, `lo` and `hi` are in ticks of `mul / div`.
    var a = 0.0
    var lo = 0.0, hi = 0.0
    var mul = 1.0, div = 1.0
    /// Whole ticks only.
    var quantized = false
    /// Observations per second of the histogram the series belongs to.
    var observationsPerSecond = 0.0

    /// The state after one more scrape `round` of `seconds`, from the previous one.
    @inline(__always)
    func next(_ previous: Double, seed: UInt64, round: Int64, seconds: Double) -> Double {
        switch kind {
        case .constant:
            return previous
        case .counter:
            let inc = a * seconds * (1 + 0.3 * noise(seed, round))
            return previous + max(0, quantized ? inc.rounded() : inc)
        case .gauge:
            let step = a * noise(seed, round) * (seconds / 15).squareRoot()
            return min(max(previous + (quantized ? step.rounded() : step), lo), hi)
        case .bucket:
            return previous + (observations(seed, round, seconds) * a).rounded(.down)
        case .histogramSum:
            return previous + observations(seed, round, seconds) * a
        case .histogramCount:
            return previous + observations(seed, round, seconds)
        case .nativeHistogram:
            preconditionFailure("native histograms advance through ShardSeries, bucket by bucket")
        }
    }

    /// The value a state is sent as.
    @inline(__always)
    func value(_ state: Double) -> Double { state * mul / div }

    /// Whole observations in one scrape of a histogram, the same for all its series.
    @inline(__always)
    func observations(_ seed: UInt64, _ round: Int64, _ seconds: Double) -> Double {
        max(0, (observationsPerSecond * seconds * (1 + 0.3 * noise(seed, round))).rounded())
    }
}

/// About N(0, 1) from a hash of (seed, round): four 16-bit uniforms summed (Irwin–Hall), scaled to
/// unit variance. Deterministic, so shards and runs agree without sharing a generator.
@inline(__always)
func noise(_ seed: UInt64, _ round: Int64) -> Double {
    let h = mix(seed ^ UInt64(bitPattern: round) &* 0x94D0_49BB_1331_11EB)
    let s = Double(h & 0xFFFF) + Double((h >> 16) & 0xFFFF) + Double((h >> 32) & 0xFFFF) + Double(h >> 48)
    return (s / 65535 - 2) * 1.7320508075688772
}

@inline(__always)
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Protobuf field helpers for the few messages built once (labels, metadata); the per-sample
/// path writes through `ProtoWriter`.
enum ProtoBytes {
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    /// A length-delimited field (wire type 2).
    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        [UInt8(number << 3 | 2)] + varint(UInt64(payload.count)) + payload
    }

    /// `TimeSeries.labels` field: `Label { string name = 1; string value = 2; }`.
    static func label(_ name: String, _ value: String) -> [UInt8] {
        field(1, field(1, Array(name.utf8)) + field(2, Array(value.utf8)))
    }

    /// A varint field (wire type 0).
    static func varintField(_ number: Int, _ v: UInt64) -> [UInt8] {
        [UInt8(number << 3)] + varint(v)
    }
}
