/// Compensated (Kahan–Neumaier) running sum, step for step what Prometheus' `kahansum.Inc` does,
/// so sums, averages and regressions round the way Prometheus' do.
///
/// Swift never fuses `a * b + c` into an FMA unless asked, which is the property Prometheus
/// protects with explicit `float64(...)` casts around `Inc`.
struct KahanSum {
    /// The running sum without the compensation.
    var sum: Double = 0
    /// The accumulated rounding error; add it last (see `value`).
    var compensation: Double = 0

    init() {}

    init(sum: Double, compensation: Double = 0) {
        self.sum = sum
        self.compensation = compensation
    }

    @inline(__always)
    mutating func add(_ x: Double) {
        let t = sum + x
        if t.isInfinite {
            // Once the sum overflows the error term means nothing; keeping it would turn the
            // result into NaN (Inf - Inf) instead of Inf.
            compensation = 0
        } else if sum.magnitude >= x.magnitude {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    /// The compensated total (`sum_over_time` returns an infinite sum as is).
    var value: Double { sum.isInfinite ? sum : sum + compensation }
}
