import StrataModel

/// One series' samples inside a range-selector window at one step: t in (rangeStart, rangeEnd].
///
/// `rangeStart`/`rangeEnd` are always the nominal boundaries (`step − offset − range`,
/// `step − offset`); only `extendedRate` and the `anchored:` variants expect samples beyond them.
struct RangeWindow {
    var samples: ArraySlice<Sample>
    var rangeStart: Int64  // ms, exclusive
    var rangeEnd: Int64    // ms, inclusive

    init(samples: ArraySlice<Sample>, rangeStart: Int64, rangeEnd: Int64) {
        self.samples = samples
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
    }

    /// The selector range in seconds, rounded as Go's `time.Duration.Seconds()` rounds it
    /// (whole seconds plus the nanosecond remainder / 1e9), so per-second rates match bit for bit.
    var rangeSeconds: Double {
        let ms = rangeEnd - rangeStart
        return Double(ms / 1000) + Double((ms % 1000) * 1_000_000) / 1e9
    }
}

/// Float kernels of the PromQL range-vector functions, one series and one step per call, as
/// Prometheus 3.x `promql/functions.go` computes them. Every function returns nil where
/// Prometheus emits no sample (including for an empty window). Native histograms and the
/// annotations are the caller's business; start timestamps (Prometheus' experimental
/// `useStartTimestamps` reset detection) are not supported.
enum RangeKernels {

    // MARK: rate, increase, delta

    /// `rate` (counter, per second), `increase` (counter) and `delta` (gauge), with Prometheus'
    /// extrapolation: towards each boundary by the gap to it if that gap is below 1.1 × the
    /// average sample interval, else by half an interval; counters never extrapolate below zero.
    /// Needs at least two samples.
    ///
    /// Caller annotation (Prometheus emits it in the engine, once per series that produced
    /// float output): rate/increase on a metric name not ending in `_total`/`_sum`/`_count`/
    /// `_bucket` → "metric might not be a counter, name does not end in …" info.
    static func extrapolatedRate(_ w: RangeWindow, isCounter: Bool, isRate: Bool) -> Double? {
        let s = w.samples
        guard s.count >= 2, let first = s.first, let last = s.last else { return nil }

        var result = last.v - first.v
        if isCounter {
            // After a reset the counter restarts at zero, so the value before it was lost.
            var prev = first.v
            for x in s.dropFirst() {
                if x.v < prev { result += prev }
                prev = x.v
            }
        }

        var durationToStart = Double(first.t - w.rangeStart) / 1000
        var durationToEnd = Double(w.rangeEnd - last.t) / 1000
        let sampledInterval = Double(last.t - first.t) / 1000
        let averageInterval = sampledInterval / Double(s.count - 1)
        let extrapolationThreshold = averageInterval * 1.1

        if durationToStart >= extrapolationThreshold {
            durationToStart = averageInterval / 2
        }
        if isCounter {
            // Where the straight line through the samples would reach zero; never go past it.
            var durationToZero = durationToStart
            if result > 0 && first.v >= 0 {
                durationToZero = sampledInterval * (first.v / result)
            }
            if durationToZero < durationToStart {
                durationToStart = durationToZero
            }
        }
        if durationToEnd >= extrapolationThreshold {
            durationToEnd = averageInterval / 2
        }

        var factor = 1.0
        if sampledInterval != 0 {
            factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
        }
        if isRate {
            factor /= w.rangeSeconds
        }
        return result * factor
    }

    /// `rate`/`increase`/`delta` over an `anchored` or `smoothed` selector (Prometheus 3.x
    /// experimental modifiers): no extrapolation; the value at each boundary is the last sample
    /// at or before it (anchored) or linearly interpolated between the samples around it
    /// (smoothed).
    ///
    /// `w.samples` must hold the raw samples in (rangeStart − lookbackDelta, rangeEnd] for
    /// anchored and (rangeStart − lookbackDelta, rangeEnd + lookbackDelta] for smoothed, with
    /// `w.rangeStart`/`w.rangeEnd` the nominal boundaries.
    static func extendedRate(_ w: RangeWindow, isCounter: Bool, isRate: Bool, smoothed: Bool) -> Double? {
        let s = w.samples
        guard !s.isEmpty else { return nil }
        let base = s.startIndex
        var last = s.endIndex - 1
        // The last sample at or before rangeStart is the left anchor (the first sample if none).
        var first = max(base, partitionPoint(s, base, last) { $0.t > w.rangeStart } - 1)
        if smoothed {
            last = partitionPoint(s, base, last) { $0.t >= w.rangeEnd }
        }
        if s[last].t <= w.rangeStart { return nil }
        if smoothed && s[first].t > w.rangeEnd { return nil }

        var left = s[first].v
        if smoothed && s[first].t < w.rangeStart {
            left = interpolate(s[first], s[first + 1], at: w.rangeStart, isCounter: isCounter)
        }
        var right = s[last].v
        if smoothed && last > base && s[last].t > w.rangeEnd {
            right = interpolate(s[last - 1], s[last], at: w.rangeEnd, isCounter: isCounter)
        }

        var result = right - left
        if isCounter {
            // Resets across the boundary samples are already inside the interpolation; only
            // samples strictly inside the range still need checking.
            if s[first].t <= w.rangeStart { first += 1 }
            if s[last].t >= w.rangeEnd { last -= 1 }
            var correction = 0.0
            var prev = left
            if first <= last {
                for x in s[first...last] {
                    if x.v < prev { correction += prev }
                    prev = x.v
                }
            }
            if right < prev { correction += prev }
            result += correction
        }
        if isRate {
            result /= w.rangeSeconds
        }
        return result
    }

    /// The value at `t` on the line between two samples; for counters a drop between them counts
    /// as a reset, so the line starts from zero.
    private static func interpolate(_ p1: Sample, _ p2: Sample, at t: Int64, isCounter: Bool) -> Double {
        var y1 = p1.v
        let y2 = p2.v
        if isCounter && y2 < y1 { y1 = 0 }
        return y1 + (y2 - y1) * Double(t - p1.t) / Double(p2.t - p1.t)
    }

    /// First index in `lo..<hi` whose sample satisfies `isAfter` (samples are sorted, so the
    /// predicate flips once), or `hi` if none does; Go's `sort.Search`.
    @inline(__always)
    private static func partitionPoint(
        _ s: ArraySlice<Sample>, _ lo: Int, _ hi: Int, _ isAfter: (Sample) -> Bool
    ) -> Int {
        var lo = lo, hi = hi
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if isAfter(s[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    // MARK: irate, idelta

    /// `irate` (isRate, per second, a drop counts as a reset to zero) and `idelta` from the last
    /// two samples. Nil with fewer than two samples or when both share a timestamp.
    static func instantValue(_ w: RangeWindow, isRate: Bool) -> Double? {
        let s = w.samples
        guard s.count >= 2 else { return nil }
        let previous = s[s.endIndex - 2]
        let last = s[s.endIndex - 1]
        let sampledInterval = last.t - previous.t
        if sampledInterval == 0 { return nil }

        var result = last.v
        if !isRate || !(last.v < previous.v) {
            result = last.v - previous.v  // gauge, or counter without reset (NaN included)
        }
        if isRate {
            result /= Double(sampledInterval) / 1000
        }
        return result
    }

    // MARK: changes, resets

    /// `changes`: how often the value changed (NaN → NaN is no change).
    /// With `anchored`, the window must also hold the samples of the lookback before
    /// rangeStart; counting then starts at the last sample at or before rangeStart.
    static func changes(_ w: RangeWindow, anchored: Bool = false) -> Double? {
        guard let start = firstCountedIndex(w, anchored: anchored) else { return nil }
        let s = w.samples
        var count = 0
        var prev = s[start].v
        for x in s[(start + 1)...] {
            if x.v != prev && !(x.v.isNaN && prev.isNaN) { count += 1 }
            prev = x.v
        }
        return Double(count)
    }

    /// `resets`: how often the value dropped. `anchored` as for `changes`.
    static func resets(_ w: RangeWindow, anchored: Bool = false) -> Double? {
        guard let start = firstCountedIndex(w, anchored: anchored) else { return nil }
        let s = w.samples
        var count = 0
        var prev = s[start].v
        for x in s[(start + 1)...] {
            if x.v < prev { count += 1 }
            prev = x.v
        }
        return Double(count)
    }

    /// Where `changes`/`resets` start: the first sample, or for anchored selectors the last
    /// sample at or before rangeStart. Nil when nothing lies after rangeStart.
    private static func firstCountedIndex(_ w: RangeWindow, anchored: Bool) -> Int? {
        let s = w.samples
        guard !s.isEmpty else { return nil }
        guard anchored else { return s.startIndex }
        let firstAfter = partitionPoint(s, s.startIndex, s.endIndex) { $0.t > w.rangeStart }
        if firstAfter == s.endIndex { return nil }
        return max(s.startIndex, firstAfter - 1)
    }

    // MARK: deriv, predict_linear

    /// `deriv`: least-squares slope per second. Needs two samples.
    static func deriv(_ w: RangeWindow) -> Double? {
        guard w.samples.count >= 2, let first = w.samples.first else { return nil }
        // x relative to a nearby time keeps x² small enough for float precision.
        return linearRegression(w.samples, interceptTime: first.t).slope
    }

    /// `predict_linear(v[range], duration)`: the regression line's value `duration` seconds
    /// after `evalTime` (ms): the evaluation step itself, shifted neither by `offset` nor by
    /// `@` (Prometheus uses `enh.Ts`; functions.test checks `[55m] @ 3000` at 10m and 70m).
    static func predictLinear(_ w: RangeWindow, duration: Double, evalTime: Int64) -> Double? {
        guard w.samples.count >= 2 else { return nil }
        let (slope, intercept) = linearRegression(w.samples, interceptTime: evalTime)
        return slope * duration + intercept
    }

    /// Least squares over (seconds since interceptTime, value), with Kahan sums as Prometheus.
    /// A constant series has slope 0 (NaN if the constant is infinite).
    static func linearRegression(
        _ samples: ArraySlice<Sample>, interceptTime: Int64
    ) -> (slope: Double, intercept: Double) {
        var n = 0.0
        var sumX = KahanSum(), sumY = KahanSum(), sumXY = KahanSum(), sumX2 = KahanSum()
        let initY = samples[samples.startIndex].v
        var constY = true
        for (i, s) in zip(samples.indices, samples) {
            if constY && i > samples.startIndex && s.v != initY { constY = false }
            n += 1
            let x = Double(s.t - interceptTime) / 1e3
            sumX.add(x)
            sumY.add(s.v)
            sumXY.add(x * s.v)
            sumX2.add(x * x)
        }
        if constY {
            if initY.isInfinite { return (.nan, .nan) }
            return (0, initY)
        }
        // Prometheus folds in the compensation unconditionally (no infinity special case).
        let x = sumX.sum + sumX.compensation
        let y = sumY.sum + sumY.compensation
        let xy = sumXY.sum + sumXY.compensation
        let x2 = sumX2.sum + sumX2.compensation
        let covXY = xy - x * y / n
        let varX = x2 - x * x / n
        let slope = covXY / varX
        return (slope, y / n - slope * x / n)
    }
}

// MARK: - *_over_time

extension RangeKernels {

    /// `avg_over_time`: Kahan-summed mean; switches to an incremental mean only once the plain
    /// sum would overflow, as Prometheus does (direct means are usually more accurate).
    static func avgOverTime(_ w: RangeWindow) -> Double? {
        let s = w.samples
        guard let first = s.first else { return nil }
        var sum = KahanSum(sum: first.v)
        var count = 1.0
        var incremental = false
        var mean = KahanSum()
        for x in s.dropFirst() {
            count += 1
            if !incremental {
                var next = sum
                next.add(x.v)
                if !next.sum.isInfinite {
                    sum = next
                    continue
                }
                incremental = true
                mean = KahanSum(sum: sum.sum / (count - 1), compensation: sum.compensation / (count - 1))
            }
            let q = (count - 1) / count
            mean = KahanSum(sum: q * mean.sum, compensation: q * mean.compensation)
            mean.add(x.v / count)
        }
        if incremental {
            return mean.sum + mean.compensation
        }
        return sum.sum / count + sum.compensation / count
    }

    /// `sum_over_time` (Kahan).
    static func sumOverTime(_ w: RangeWindow) -> Double? {
        guard !w.samples.isEmpty else { return nil }
        var sum = KahanSum()
        for x in w.samples { sum.add(x.v) }
        return sum.value
    }

    /// `min_over_time`: NaN only if every value is NaN.
    static func minOverTime(_ w: RangeWindow) -> Double? {
        extremum(w, replaces: { cur, best in cur < best || best.isNaN }).map(\.v)
    }

    /// `max_over_time`: NaN only if every value is NaN.
    static func maxOverTime(_ w: RangeWindow) -> Double? {
        extremum(w, replaces: { cur, best in cur > best || best.isNaN }).map(\.v)
    }

    /// `ts_of_min_over_time`: timestamp (s) of the last occurrence of the minimum.
    static func tsOfMinOverTime(_ w: RangeWindow) -> Double? {
        extremum(w, replaces: { cur, best in cur <= best || best.isNaN }).map { Double($0.t) / 1000 }
    }

    /// `ts_of_max_over_time`: timestamp (s) of the last occurrence of the maximum.
    static func tsOfMaxOverTime(_ w: RangeWindow) -> Double? {
        extremum(w, replaces: { cur, best in cur >= best || best.isNaN }).map { Double($0.t) / 1000 }
    }

    /// Prometheus' `compareOverTime`: scan from the first sample, replacing the best so far
    /// whenever `replaces(current, best)`.
    @inline(__always)
    private static func extremum(_ w: RangeWindow, replaces: (Double, Double) -> Bool) -> Sample? {
        guard var best = w.samples.first else { return nil }
        for x in w.samples where replaces(x.v, best.v) { best = x }
        return best
    }

    static func countOverTime(_ w: RangeWindow) -> Double? {
        w.samples.isEmpty ? nil : Double(w.samples.count)
    }

    static func lastOverTime(_ w: RangeWindow) -> Double? { w.samples.last?.v }

    static func firstOverTime(_ w: RangeWindow) -> Double? { w.samples.first?.v }

    static func presentOverTime(_ w: RangeWindow) -> Double? { w.samples.isEmpty ? nil : 1 }

    /// `ts_of_first_over_time`, seconds.
    static func tsOfFirstOverTime(_ w: RangeWindow) -> Double? { w.samples.first.map { Double($0.t) / 1000 } }

    /// `ts_of_last_over_time`, seconds. Prometheus takes the later of the last float and the
    /// last histogram timestamp, with 0 standing in for "no histogram", so a window of floats
    /// before 1970 reports 0; kept for identical output.
    static func tsOfLastOverTime(_ w: RangeWindow) -> Double? {
        w.samples.last.map { Double(max($0.t, 0)) / 1000 }
    }

    /// `stdvar_over_time`: population variance by Welford's method with Kahan-compensated
    /// mean and sum of squares, as Prometheus.
    static func stdvarOverTime(_ w: RangeWindow) -> Double? {
        guard !w.samples.isEmpty else { return nil }
        var count = 0.0
        var mean = KahanSum()
        var aux = KahanSum()
        for x in w.samples {
            count += 1
            let delta = x.v - (mean.sum + mean.compensation)
            mean.add(delta / count)
            aux.add(delta * (x.v - (mean.sum + mean.compensation)))
        }
        return (aux.sum + aux.compensation) / count
    }

    /// `stddev_over_time`.
    static func stddevOverTime(_ w: RangeWindow) -> Double? {
        stdvarOverTime(w).map { $0.squareRoot() }
    }

    /// `quantile_over_time(phi, v[range])`. `scratch` is overwritten (reuse it across calls).
    ///
    /// Caller annotation: phi NaN, < 0 or > 1 → "quantile value should be between 0 and 1"
    /// warning (the value is still returned: NaN, -Inf or +Inf).
    static func quantileOverTime(_ w: RangeWindow, phi: Double, scratch: inout [Double]) -> Double? {
        guard !w.samples.isEmpty else { return nil }
        scratch.removeAll(keepingCapacity: true)
        for x in w.samples { scratch.append(x.v) }
        return HistogramQuantile.quantile(phi, &scratch)
    }

    /// `mad_over_time`: median absolute deviation from the median; NaN if any value is NaN.
    /// `scratch` is overwritten.
    static func madOverTime(_ w: RangeWindow, scratch: inout [Double]) -> Double? {
        guard !w.samples.isEmpty else { return nil }
        scratch.removeAll(keepingCapacity: true)
        for x in w.samples {
            if x.v.isNaN { return .nan }
            scratch.append(x.v)
        }
        let median = HistogramQuantile.quantile(0.5, &scratch)
        for i in scratch.indices { scratch[i] = (scratch[i] - median).magnitude }
        return HistogramQuantile.quantile(0.5, &scratch)
    }

    // MARK: double_exponential_smoothing

    /// `double_exponential_smoothing(v[range], sf, tf)` (Holt's linear method). Needs two
    /// samples. Returns nil for parameters outside (0, 1): Prometheus then fails the whole query
    /// (see `smoothingParameterError`), so the caller must check first.
    static func doubleExponentialSmoothing(_ w: RangeWindow, smoothing sf: Double, trend tf: Double) -> Double? {
        let s = w.samples
        guard smoothingParameterError(smoothing: sf, trend: tf) == nil, s.count >= 2 else { return nil }
        let base = s.startIndex
        var s0 = 0.0
        var s1 = s[base].v
        var b = s[base + 1].v - s[base].v
        for i in 1..<s.count {
            let x = sf * s[base + i].v
            // The first trend is the raw difference; later ones blend in the smoothed slope.
            if i > 1 {
                b = tf * (s1 - s0) + (1 - tf) * b
            }
            let y = (1 - sf) * (s1 + b)
            s0 = s1
            s1 = x + y
        }
        return s1
    }

    /// Prometheus fails the query (not an annotation) when a factor is outside (0, 1), checked
    /// per series before the sample count: "invalid smoothing factor. Expected: 0 < sf < 1, got:
    /// %f" resp. "invalid trend factor. Expected: 0 < tf < 1, got: %f" (Go `%f`: 6 decimals).
    /// Returns which one is wrong, smoothing first; nil when both are valid.
    static func smoothingParameterError(smoothing sf: Double, trend tf: Double) -> SmoothingParameter? {
        if sf <= 0 || sf >= 1 { return .smoothing }
        if tf <= 0 || tf >= 1 { return .trend }
        return nil
    }

    enum SmoothingParameter { case smoothing, trend }
}
