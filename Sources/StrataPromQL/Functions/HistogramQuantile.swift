/// One `le` bucket of a classic histogram: cumulative count of observations ≤ upperBound.
struct ClassicBucket {
    var upperBound: Double
    var count: Double
}

/// `histogram_quantile` over classic buckets and the plain sample quantile of `quantile` /
/// `quantile_over_time`, as Prometheus 3.x `promql/quantile.go`.
enum HistogramQuantile {

    /// Relative bucket-to-bucket differences below this are float noise (e.g. from sharded
    /// sums) and are flattened silently instead of being reported as non-monotonic.
    static let smallDeltaTolerance = 1e-12

    /// What `bucketQuantile` found besides the value; the caller turns `forcedMonotonicity`
    /// into Prometheus' info annotation "input to histogram_quantile needed to be fixed for
    /// monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)
    /// for metric name …", which in 3.x also names the affected bucket range and largest fix.
    struct Result {
        var value: Double
        var forcedMonotonicity = false
        var fixedPrecision = false
        /// Lowest and highest upper bound whose count had to be raised, and the largest raise
        /// (+Inf, -Inf and 0 when nothing was forced).
        var minForcedBound = Double.infinity
        var maxForcedBound = -Double.infinity
        var maxForcedDiff = 0.0
    }

    /// The q-quantile of a classic histogram. `buckets` is sorted and coalesced in place (its
    /// contents afterwards are scratch). Special cases, in Prometheus' order: q NaN → NaN,
    /// q < 0 → -Inf, q > 1 → +Inf, highest bound not +Inf → NaN, fewer than two buckets → NaN,
    /// no observations → NaN. A quantile in the +Inf bucket returns the second-highest bound;
    /// one in a lowest bucket with bound ≤ 0 returns that bound; otherwise linear interpolation
    /// (from 0 in the lowest bucket).
    ///
    /// Caller annotations: q outside [0, 1] or NaN → invalid-quantile warning; forced
    /// monotonicity → info (use `bucketQuantileDetails` for the bucket range it reports).
    static func bucketQuantile(
        _ q: Double, _ buckets: inout [ClassicBucket]
    ) -> (value: Double, forcedMonotonicity: Bool, fixedPrecision: Bool) {
        let r = bucketQuantileDetails(q, &buckets)
        return (r.value, r.forcedMonotonicity, r.fixedPrecision)
    }

    /// `bucketQuantile` with the monotonicity details Prometheus' annotation text uses.
    static func bucketQuantileDetails(_ q: Double, _ buckets: inout [ClassicBucket]) -> Result {
        if q.isNaN { return Result(value: .nan) }
        if q < 0 { return Result(value: -.infinity) }
        if q > 1 { return Result(value: .infinity) }
        guard !buckets.isEmpty else { return Result(value: .nan) }

        buckets.sort { $0.upperBound < $1.upperBound }
        guard buckets[buckets.count - 1].upperBound == .infinity else { return Result(value: .nan) }

        coalesce(&buckets)
        var result = Result(value: .nan)
        ensureMonotonic(&buckets, &result)

        let n = buckets.count
        if n < 2 { return result }
        let observations = buckets[n - 1].count
        if observations == 0 { return result }

        var rank = q * observations
        // First bucket (the +Inf one excluded) holding the rank; n - 1 if none does.
        var lo = 0, hi = n - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if buckets[mid].count >= rank { hi = mid } else { lo = mid + 1 }
        }
        let b = lo

        if b == n - 1 {
            result.value = buckets[n - 2].upperBound
        } else if b == 0 && buckets[0].upperBound <= 0 {
            result.value = buckets[0].upperBound
        } else {
            var bucketStart = 0.0
            let bucketEnd = buckets[b].upperBound
            var count = buckets[b].count
            if b > 0 {
                bucketStart = buckets[b - 1].upperBound
                count -= buckets[b - 1].count
                rank -= buckets[b - 1].count
            }
            result.value = bucketStart + (bucketEnd - bucketStart) * (rank / count)
        }
        return result
    }

    /// Merges buckets with equal upper bounds (e.g. `le="1"` and `le="1.0"`); input sorted.
    private static func coalesce(_ buckets: inout [ClassicBucket]) {
        var last = buckets[0]
        var out = 0
        for i in 1..<buckets.count {
            let b = buckets[i]
            if b.upperBound == last.upperBound {
                last.count += b.count
            } else {
                buckets[out] = last
                last = b
                out += 1
            }
        }
        buckets[out] = last
        buckets.removeLast(buckets.count - out - 1)
    }

    /// Cumulative counts must not decrease. Differences within `smallDeltaTolerance` are
    /// flattened in either direction; real decreases are raised to the previous count
    /// (the envelope), which the caller reports.
    private static func ensureMonotonic(_ buckets: inout [ClassicBucket], _ result: inout Result) {
        var prev = buckets[0].count
        for i in 1..<buckets.count {
            let curr = buckets[i].count
            if curr == prev { continue }
            if almostEqual(prev, curr, tolerance: smallDeltaTolerance) {
                // prev stays: the difference is ignored, not accumulated.
                buckets[i].count = prev
                result.fixedPrecision = true
                continue
            }
            if curr < prev {
                buckets[i].count = prev
                result.forcedMonotonicity = true
                let bound = buckets[i].upperBound
                if bound < result.minForcedBound { result.minForcedBound = bound }
                if bound > result.maxForcedBound { result.maxForcedBound = bound }
                if prev - curr > result.maxForcedDiff { result.maxForcedDiff = prev - curr }
                continue
            }
            prev = curr
        }
    }

    /// Prometheus' `almost.Equal`: relative difference below `tolerance`, with two NaNs equal
    /// (stale markers only to each other) and an absolute check near zero.
    static func almostEqual(_ a: Double, _ b: Double, tolerance: Double) -> Bool {
        let aStale = a.bitPattern == staleNaNBits, bStale = b.bitPattern == staleNaNBits
        if aStale || bStale { return aStale && bStale }
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        let minNormal = Double.leastNormalMagnitude
        let absSum = a.magnitude + b.magnitude
        let diff = (a - b).magnitude
        if a == 0 || b == 0 || absSum < minNormal {
            return diff < tolerance * minNormal
        }
        return diff / Swift.min(absSum, Double.greatestFiniteMagnitude) < tolerance
    }

    private static let staleNaNBits: UInt64 = 0x7ff0_0000_0000_0002

    /// The q-quantile of `values` with linear interpolation between closest ranks
    /// (`quantile` aggregation, `quantile_over_time`). `values` is sorted in place, NaNs first
    /// as Go's comparator puts them. Empty or q NaN → NaN; q < 0 → -Inf; q > 1 → +Inf.
    static func quantile(_ q: Double, _ values: inout [Double]) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        sortNaNsFirst(&values)

        let n = Double(values.count)
        let rank = q * (n - 1)
        let lowerIndex = Swift.max(0, rank.rounded(.down))
        let upperIndex = Swift.min(n - 1, lowerIndex + 1)
        let weight = rank - rank.rounded(.down)
        return values[Int(lowerIndex)] * (1 - weight) + values[Int(upperIndex)] * weight
    }

    /// Ascending sort with NaNs moved to the front, without a NaN check in every comparison.
    private static func sortNaNsFirst(_ values: inout [Double]) {
        var nanCount = 0
        for i in values.indices where values[i].isNaN {
            values.swapAt(i, nanCount)
            nanCount += 1
        }
        values[nanCount...].sort()
    }
}
