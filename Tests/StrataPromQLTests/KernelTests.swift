import Testing
@testable import StrataPromQL
import StrataModel

// Expected values come from the Prometheus conformance corpus (functions.test, histograms.test)
// where it has a case, otherwise they are worked out by hand in the comments.

// MARK: - Helpers

private let minute: Int64 = 60_000

/// Samples as a `load <step>` line writes them: values[i] at i·step; nil is a gap (`_`).
private func series(_ values: [Double?], step: Int64 = 5 * minute) -> [Sample] {
    values.enumerated().compactMap { i, v in v.map { Sample(t: Int64(i) * step, v: $0) } }
}

/// `a+bxN` of the corpus: N+1 values a, a+b, …
private func ramp(_ a: Double, _ b: Double, _ n: Int) -> [Double?] {
    (0...n).map { a + Double($0) * b }
}

/// The window of `metric[range] offset …` evaluated at `t`: samples in (t−offset−range, t−offset].
private func window(_ s: [Sample], at t: Int64, range: Int64, offset: Int64 = 0) -> RangeWindow {
    let end = t - offset, start = end - range
    let lo = s.firstIndex { $0.t > start } ?? s.count
    let hi = s.firstIndex { $0.t > end } ?? s.count
    return RangeWindow(samples: s[lo..<hi], rangeStart: start, rangeEnd: end)
}

/// Relative closeness as the corpus checks it (1e-6), or both NaN.
private func close(_ a: Double?, _ b: Double, _ eps: Double = 1e-6) -> Bool {
    guard let a else { return false }
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    return abs(a - b) <= eps * max(abs(a), abs(b))
}

// MARK: - KahanSum

@Suite struct KahanSumKernelTests {
    @Test func compensatesCancellation() {
        var k = KahanSum()
        for v in [1, 1e100, 1, -1e100] { k.add(v) }
        #expect(k.value == 2)  // sum_over_time(metric[2m]) in functions.test
    }

    @Test func infinityStaysInfinite() {
        var k = KahanSum()
        k.add(1e308); k.add(1e308)
        #expect(k.compensation == 0)
        #expect(k.value == .infinity)
        k.add(1)
        #expect(k.value == .infinity)
    }

    @Test func oppositeInfinitiesAreNaN() {
        var k = KahanSum()
        k.add(.infinity); k.add(-.infinity)
        #expect(k.value.isNaN)
    }
}

// MARK: - rate, increase, delta

@Suite struct ExtrapolatedRateKernelTests {
    @Test func increaseWithoutExtrapolationPastZero() {
        let foo = series(ramp(0, 10, 10))
        let bar = series(ramp(0, 18, 5) + ramp(0, 18, 5))
        let dings = series(ramp(10, 10, 10))
        let bumms = series(ramp(1, 10, 10))
        let at = 50 * minute
        #expect(close(RangeKernels.extrapolatedRate(window(foo, at: at, range: 50 * minute), isCounter: true, isRate: false), 100))
        #expect(close(RangeKernels.extrapolatedRate(window(bar, at: at, range: 50 * minute), isCounter: true, isRate: false), 160))
        #expect(close(RangeKernels.extrapolatedRate(window(dings, at: at, range: 50 * minute), isCounter: true, isRate: false), 100))
        #expect(close(RangeKernels.extrapolatedRate(window(bumms, at: at, range: 50 * minute), isCounter: true, isRate: false), 100))
        // Over 100m the zero point limits left extrapolation for "bumms" (30s) but not "dings".
        #expect(close(RangeKernels.extrapolatedRate(window(foo, at: at, range: 100 * minute), isCounter: true, isRate: false), 100))
        #expect(close(RangeKernels.extrapolatedRate(window(bar, at: at, range: 100 * minute), isCounter: true, isRate: false), 162))
        #expect(close(RangeKernels.extrapolatedRate(window(dings, at: at, range: 100 * minute), isCounter: true, isRate: false), 105))
        #expect(close(RangeKernels.extrapolatedRate(window(bumms, at: at, range: 100 * minute), isCounter: true, isRate: false), 101))
    }

    @Test func increaseAcrossReset() {
        let s = series([0, 1, 2, 3, 2, 3, 4])
        #expect(close(RangeKernels.extrapolatedRate(window(s, at: 30 * minute, range: 30 * minute), isCounter: true, isRate: false), 7))
    }

    @Test func rateWithResets() {
        let middle = series(ramp(0, 27, 4) + ramp(0, 27, 5))
        #expect(close(RangeKernels.extrapolatedRate(window(middle, at: 50 * minute, range: 50 * minute), isCounter: true, isRate: true), 0.08))

        let end = series(ramp(0, 10, 9) + [0, 10])
        // One sample in the window: no result.
        #expect(RangeKernels.extrapolatedRate(window(end, at: 50 * minute, range: 5 * minute), isCounter: true, isRate: true) == nil)
        #expect(RangeKernels.extrapolatedRate(window(end, at: 50 * minute, range: 6 * minute), isCounter: true, isRate: true) == 0)
    }

    @Test func ratePerSecondAndOffset() {
        let w = series(ramp(0, 80, 10))
        // Go's float operations give 0.2666666666666667, within the corpus' tolerance.
        #expect(RangeKernels.extrapolatedRate(window(w, at: 50 * minute, range: 50 * minute), isCounter: true, isRate: true) == 0.2666666666666667)
        let a = series(ramp(0, 10, 10)), b = series(ramp(0, 20, 10))
        #expect(close(RangeKernels.extrapolatedRate(window(a, at: 50 * minute, range: 10 * minute, offset: 5 * minute), isCounter: true, isRate: true), 0.03333333333333333))
        #expect(close(RangeKernels.extrapolatedRate(window(b, at: 50 * minute, range: 10 * minute, offset: 5 * minute), isCounter: true, isRate: true), 0.06666666666666667))
    }

    @Test func zeroCutoff() {
        let expected10m: [Double] = [0.5, 0.55, 0.6, 0.6, 0.6, 0.6]
        for (i, want) in expected10m.enumerated() {
            let s = series(ramp(Double(i) * 60, 240, 10), step: 4 * minute)
            #expect(close(RangeKernels.extrapolatedRate(window(s, at: 10 * minute, range: 20 * minute), isCounter: true, isRate: true), want))
            #expect(close(RangeKernels.extrapolatedRate(window(s, at: 50 * minute, range: 20 * minute), isCounter: true, isRate: true), 0.6))
        }
    }

    @Test func deltaIsNotClampedAtZero() {
        let up = series([0, 50, 100, 150, 200]), down = series([200, 150, 100, 50, 0])
        #expect(close(RangeKernels.extrapolatedRate(window(up, at: 20 * minute, range: 20 * minute), isCounter: false, isRate: false), 200))
        #expect(close(RangeKernels.extrapolatedRate(window(down, at: 20 * minute, range: 20 * minute), isCounter: false, isRate: false), -200))
    }

    @Test func emptyAndSingleSampleWindows() {
        let s = series([1, 2, 3])
        #expect(RangeKernels.extrapolatedRate(window(s, at: 60 * minute, range: minute), isCounter: true, isRate: true) == nil)
        #expect(RangeKernels.extrapolatedRate(window(s, at: 10 * minute, range: minute), isCounter: true, isRate: true) == nil)
    }

    @Test func rangeSecondsRoundsLikeGoDuration() {
        let w = RangeWindow(samples: [], rangeStart: 0, rangeEnd: 1001)
        #expect(w.rangeSeconds == 1.0 + 1_000_000.0 / 1e9)
    }
}

// MARK: - anchored / smoothed

@Suite struct ExtendedRateKernelTests {
    // Samples every 5m: 0 10 20 30 40 (at 0..20m); window at 15m over [10m] is (5m, 15m].
    private let s = series([0, 10, 20, 30, 40])

    @Test func anchoredUsesLastSampleAtOrBeforeStart() {
        // Anchor at 5m (10), last sample in range at 15m (30): increase 20, no extrapolation.
        let w = window(s, at: 15 * minute, range: 15 * minute)  // (0, 15m]: lookback part included
        let anchored = RangeWindow(samples: w.samples, rangeStart: 5 * minute, rangeEnd: 15 * minute)
        #expect(RangeKernels.extendedRate(anchored, isCounter: true, isRate: false, smoothed: false) == 20)
        #expect(RangeKernels.extendedRate(anchored, isCounter: true, isRate: true, smoothed: false) == 20.0 / 600)
    }

    @Test func smoothedInterpolatesBothEnds() {
        // (7.5m, 12.5m] nominal; values interpolate to 15 and 25.
        let all = RangeWindow(samples: s[...], rangeStart: 7 * minute + 30_000, rangeEnd: 12 * minute + 30_000)
        #expect(RangeKernels.extendedRate(all, isCounter: false, isRate: false, smoothed: true) == 10)
    }

    @Test func smoothedCounterResetAcrossBoundary() {
        // 0 10 2 12 at 0,5,10,15m; range (2.5m, 12.5m]. Left: 5, right: 7 (2→12 halfway).
        // Reset at 10m adds the 10 it lost: 7 − 5 + 10 = 12.
        let c = series([0, 10, 2, 12])
        let w = RangeWindow(samples: c[...], rangeStart: 2 * minute + 30_000, rangeEnd: 12 * minute + 30_000)
        #expect(RangeKernels.extendedRate(w, isCounter: true, isRate: false, smoothed: true) == 12)
    }

    @Test func nothingAfterStart() {
        let w = RangeWindow(samples: s[0..<2], rangeStart: 10 * minute, rangeEnd: 20 * minute)
        #expect(RangeKernels.extendedRate(w, isCounter: true, isRate: false, smoothed: false) == nil)
        #expect(RangeKernels.changes(w, anchored: true) == nil)
    }
}

// MARK: - irate, idelta

@Suite struct InstantValueKernelTests {
    @Test func irate() {
        let foo = series(ramp(0, 10, 10)), bar = series(ramp(0, 10, 5) + ramp(0, 10, 5))
        #expect(close(RangeKernels.instantValue(window(foo, at: 50 * minute, range: 50 * minute), isRate: true), 0.03333333333333333))
        // Counter reset between the last two samples: the new value counts from zero.
        #expect(RangeKernels.instantValue(window(bar, at: 30 * minute, range: 50 * minute), isRate: true) == 0)
    }

    @Test func nanValues() {
        let s = series([1, .nan, .nan, 5, 11])
        let range = 15 * minute + 1000
        #expect(RangeKernels.instantValue(window(s, at: 0, range: range), isRate: true) == nil)
        #expect(RangeKernels.instantValue(window(s, at: 5 * minute, range: range), isRate: true)!.isNaN)
        #expect(RangeKernels.instantValue(window(s, at: 15 * minute, range: range), isRate: true)!.isNaN)
        #expect(close(RangeKernels.instantValue(window(s, at: 20 * minute, range: range), isRate: true), 0.02))
        #expect(RangeKernels.instantValue(window(s, at: 20 * minute, range: range), isRate: false) == 6)
    }

    @Test func idelta() {
        let foo = series([0, 50, 100, 150]), bar = series([0, 50, 100, 50])
        #expect(RangeKernels.instantValue(window(foo, at: 20 * minute, range: 20 * minute), isRate: false) == 50)
        #expect(RangeKernels.instantValue(window(bar, at: 20 * minute, range: 20 * minute), isRate: false) == -50)
    }

    @Test func equalTimestampsGiveNothing() {
        let s: [Sample] = [Sample(t: 1000, v: 1), Sample(t: 1000, v: 2)]
        #expect(RangeKernels.instantValue(RangeWindow(samples: s[...], rangeStart: 0, rangeEnd: 1000), isRate: true) == nil)
    }
}

// MARK: - changes, resets

@Suite struct ChangesResetsKernelTests {
    private let foo = series([1, 2, 3, 0, 1, 0, 0, 1, 2, 0])
    private let bar = series([1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    private let biz = series([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    private let at = 50 * minute

    @Test func resets() {
        #expect(RangeKernels.resets(window(foo, at: at, range: 5 * minute)) == nil)
        #expect(RangeKernels.resets(window(foo, at: at, range: 10 * minute)) == 0)
        #expect(RangeKernels.resets(window(foo, at: at, range: 20 * minute)) == 1)
        #expect(RangeKernels.resets(window(foo, at: at, range: 32 * minute)) == 2)
        #expect(RangeKernels.resets(window(bar, at: at, range: 32 * minute)) == 1)
        #expect(RangeKernels.resets(window(foo, at: at, range: 50 * minute)) == 3)
        #expect(RangeKernels.resets(window(biz, at: at, range: 50 * minute)) == 0)
    }

    @Test func changes() {
        #expect(RangeKernels.changes(window(foo, at: at, range: 6 * minute)) == 0)
        #expect(RangeKernels.changes(window(foo, at: at, range: 20 * minute)) == 2)
        #expect(RangeKernels.changes(window(bar, at: at, range: 30 * minute)) == 4)
        #expect(RangeKernels.changes(window(foo, at: at, range: 50 * minute)) == 7)
        #expect(RangeKernels.changes(window(bar, at: at, range: 50 * minute)) == 8)
        #expect(RangeKernels.changes(window(biz, at: at, range: 50 * minute)) == 1)
    }

    @Test func nanToNanIsNoChange() {
        let b = series([.nan, .nan, .nan]), c = series([0, .nan, 0])
        #expect(RangeKernels.changes(window(b, at: 15 * minute, range: 20 * minute)) == 0)
        #expect(RangeKernels.changes(window(c, at: 15 * minute, range: 20 * minute)) == 2)
    }

    @Test func anchoredStartsAtTheAnchor() {
        // Samples in (15m, 35m]: 1 (20m) 0 (25m) 0 (30m) 1 (35m). Anchored over (25m, 35m],
        // counting starts at the 25m sample: 0→0→1.
        let w = window(foo, at: 35 * minute, range: 20 * minute)
        let anchored = RangeWindow(samples: w.samples, rangeStart: 25 * minute, rangeEnd: 35 * minute)
        #expect(RangeKernels.changes(anchored, anchored: true) == 1)
        #expect(RangeKernels.resets(anchored, anchored: true) == 0)
        #expect(RangeKernels.changes(anchored) == 2)
        #expect(RangeKernels.resets(anchored) == 1)
        // No sample at or before the start: count from the first one.
        let late = RangeWindow(samples: w.samples, rangeStart: 16 * minute, rangeEnd: 35 * minute)
        #expect(RangeKernels.changes(late, anchored: true) == 2)
    }
}

// MARK: - deriv, predict_linear

@Suite struct RegressionKernelTests {
    private let resetMiddle = series(ramp(0, 10, 4) + ramp(0, 10, 5))

    @Test func deriv() {
        let s = series(ramp(0, 80, 10))
        #expect(close(RangeKernels.deriv(window(s, at: 50 * minute, range: 50 * minute)), 0.26666666666666666))
        #expect(close(RangeKernels.deriv(window(resetMiddle, at: 50 * minute, range: 100 * minute)), 0.010606060606060607))
    }

    @Test func predictLinear() {
        #expect(close(RangeKernels.predictLinear(window(resetMiddle, at: 50 * minute, range: 50 * minute), duration: 3600, evalTime: 50 * minute), 70))
        // `[55m] @ 3000` evaluated at 10m: the window and intercept time are both 3000s.
        let at = 3_000_000 as Int64
        #expect(close(RangeKernels.predictLinear(window(resetMiddle, at: at, range: 55 * minute), duration: 3600, evalTime: at), 76.81818181818181))
        // Evaluated at 10m and 70m: the intercept is at the step time, not at the @ time.
        #expect(close(RangeKernels.predictLinear(window(resetMiddle, at: at, range: 55 * minute), duration: 3600, evalTime: 10 * minute), 51.36363636363637))
        #expect(close(RangeKernels.predictLinear(window(resetMiddle, at: at, range: 55 * minute), duration: 3600, evalTime: 70 * minute), 89.54545454545455))
    }

    @Test func infiniteValuesGiveNaN() {
        let s = series([-.infinity] + ramp(0, 80, 10) + [.infinity])
        #expect(RangeKernels.deriv(window(s, at: 100 * minute, range: 100 * minute))!.isNaN)
        let constInf = series([.infinity, .infinity])
        #expect(RangeKernels.deriv(window(constInf, at: 5 * minute, range: 10 * minute))!.isNaN)
    }

    @Test func constantSeriesHasZeroSlope() {
        let s = series([3, 3, 3])
        #expect(RangeKernels.deriv(window(s, at: 10 * minute, range: 20 * minute)) == 0)
        #expect(RangeKernels.predictLinear(window(s, at: 10 * minute, range: 20 * minute), duration: 100, evalTime: 10 * minute) == 3)
    }

    @Test func needsTwoSamples() {
        let s = series([3])
        #expect(RangeKernels.deriv(window(s, at: 0, range: minute)) == nil)
        #expect(RangeKernels.predictLinear(window(s, at: 0, range: minute), duration: 1, evalTime: 0) == nil)
    }
}

// MARK: - *_over_time

@Suite struct OverTimeKernelTests {
    private func over(_ values: [Double?], at: Int64 = 55_000, range: Int64 = minute, step: Int64 = 10_000) -> RangeWindow {
        window(series(values, step: step), at: at, range: range)
    }

    @Test func avgSpecialValues() {
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, 4, 5], range: 10_000)) == nil)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, 4, 5], range: 20_000)) == 5)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, 4, 5])) == 3)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, 4, .infinity])) == .infinity)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, 4, -.infinity])) == -.infinity)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, .infinity, -.infinity]))!.isNaN)
        #expect(RangeKernels.avgOverTime(over([.infinity, 0, .infinity])) == .infinity)
        #expect(RangeKernels.avgOverTime(over([.infinity, .infinity, .infinity, -.infinity]))!.isNaN)
        #expect(RangeKernels.avgOverTime(over([-.infinity, 0, -.infinity])) == -.infinity)
        #expect(RangeKernels.avgOverTime(over([1, 2, -.infinity, -.infinity, .infinity]))!.isNaN)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, .nan, .nan]))!.isNaN)
        #expect(RangeKernels.avgOverTime(over([1, 2, 3, .nan, .nan], at: 20_000)) == 2)
    }

    @Test func avgSwitchesToIncrementalMeanOnOverflow() {
        let big = 9.988465674311579e+307
        #expect(RangeKernels.avgOverTime(over([big, big])) == big)
        #expect(RangeKernels.avgOverTime(over([-big, -big, -big])) == -big)
        #expect(RangeKernels.avgOverTime(over([-big, big])) == 0)
        #expect(RangeKernels.sumOverTime(over([big, big])) == .infinity)
    }

    @Test func avgExtremeMagnitudes() {
        func at55(_ v: [Double?]) -> Double? { over(v, step: 5000).samples.isEmpty ? nil : RangeKernels.avgOverTime(over(v, step: 5000)) }
        #expect(close(at55([1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6]), 1.6666666666666675e+09))
        #expect(close(at55([5.30921651659898, 0.961118537914768, 1.62091361305318, 0.865089463758091, 0.323055185914577, 0.951811357687154]), 1.67186744582113))
        #expect(close(at55([1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154]), 3.56528E+49))
        #expect(close(at55([1.78264E+50, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, 458.90154]), 3.76333333333333E+219))
        #expect(close(at55([-1.78264E+215, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, 1.78264E+215, -458.90154]), 3.225714285714286e+219))
        #expect(close(at55([-1.78264E+219, 0.76342771, 1.9592258, 2.3757689E+217, -2.3757689E+217, 2.258E+220, 7.69805412, 1.78264E+219, -458.90154]), 2.5088888888888888e+219))
        #expect(at55([-2.258E+220, -1.78264E+219, 0.76342771, 1.9592258, 2.3757689E+217, -2.3757689E+217, 2.258E+220, 7.69805412, 1.78264E+219, -458.90154]) == 0)
    }

    @Test func avgOfConstantIsExact() {
        let s = series(Array(repeating: 52, count: 101), step: 10_000)
        for r: Int64 in [100_000, 110_000, 120_000, 130_000] {
            #expect(RangeKernels.avgOverTime(window(s, at: 10 * minute, range: r)) == 52)
        }
    }

    @Test func sumAndCount() {
        let w = over([1, 1e100, 1, -1e100], at: minute, range: 2 * minute)
        #expect(RangeKernels.sumOverTime(w) == 2)
        #expect(RangeKernels.avgOverTime(w) == 0.5)
        #expect(RangeKernels.countOverTime(w) == 4)
        #expect(RangeKernels.countOverTime(over([1], at: 0, range: minute, step: 10_000)) == 1)
        #expect(RangeKernels.countOverTime(over([1], at: 5 * minute)) == nil)
        let dense = series(Array(repeating: 1, count: 4001), step: 1)
        #expect(RangeKernels.sumOverTime(window(dense, at: 4000, range: 1003)) == 1003)
    }

    @Test func minMaxSkipNaN() {
        let w = over([.nan, 3, .nan, 1, 5, .nan])
        #expect(RangeKernels.minOverTime(w) == 1)
        #expect(RangeKernels.maxOverTime(w) == 5)
        #expect(RangeKernels.minOverTime(over([.nan, .nan]))!.isNaN)
        #expect(RangeKernels.maxOverTime(over([-.infinity, .nan])) == -.infinity)
        #expect(RangeKernels.minOverTime(over([])) == nil)
    }

    @Test func tsOfMinMax() {
        let s = series([1, 2, 3, 0, 5, 6, 2, 1, 4], step: 10_053)
        let w = window(s, at: 90_000, range: 90_000)
        #expect(RangeKernels.tsOfMinOverTime(w) == 30.159)
        #expect(RangeKernels.tsOfMaxOverTime(w) == 50.265)
        // Ties pick the latest occurrence.
        let tie = series([2, 1, 2, 1], step: 1000)
        let tw = window(tie, at: 3000, range: 10_000)
        #expect(RangeKernels.tsOfMinOverTime(tw) == 3)
        #expect(RangeKernels.tsOfMaxOverTime(tw) == 2)
        #expect(RangeKernels.minOverTime(tw) == 1)
    }

    @Test func firstLastAndTheirTimestamps() {
        let s = series([nil, nil, 1, 2, 3, nil, nil], step: 10_053)
        let w = window(s, at: 90_000, range: 90_000)
        #expect(RangeKernels.tsOfFirstOverTime(w) == 20.106)
        #expect(RangeKernels.tsOfLastOverTime(w) == 40.212)
        #expect(RangeKernels.firstOverTime(w) == 1)
        #expect(RangeKernels.lastOverTime(w) == 3)
        #expect(RangeKernels.presentOverTime(w) == 1)
        #expect(RangeKernels.tsOfFirstOverTime(window(s, at: 15_000, range: 90_000)) == nil)
        #expect(RangeKernels.presentOverTime(window(s, at: 15_000, range: 90_000)) == nil)
        // Go compares against a zero "last histogram" timestamp.
        let before1970 = RangeWindow(samples: [Sample(t: -5000, v: 1)], rangeStart: -10_000, rangeEnd: 0)
        #expect(RangeKernels.tsOfLastOverTime(before1970) == 0)
        #expect(RangeKernels.tsOfFirstOverTime(before1970) == -5)
    }

    @Test func stddevStdvar() {
        let w = over([0, 8, 8, 2, 3], at: minute, range: 2 * minute)
        #expect(close(RangeKernels.stdvarOverTime(w), 10.56))
        #expect(close(RangeKernels.stddevOverTime(w), 3.249615))
        let constant = over([1.5990505637277868, 1.5990505637277868, 1.5990505637277868])
        #expect(RangeKernels.stdvarOverTime(constant) == 0)
        #expect(RangeKernels.stddevOverTime(constant) == 0)
        #expect(RangeKernels.stddevOverTime(over([7], at: 0, range: minute)) == 0)
    }

    @Test func quantileOverTime() {
        var scratch: [Double] = []
        let two = over([0, 1], at: minute, range: 2 * minute)
        let three = over([0, 1, 2], at: minute, range: 2 * minute)
        let uneven = over([0, 1, 4], at: minute, range: 2 * minute)
        let cases: [(Double, [Double])] = [
            (0, [0, 0, 0]), (0.5, [0.5, 1, 1]), (0.75, [0.75, 1.5, 2.5]),
            (0.8, [0.8, 1.6, 2.8]), (1, [1, 2, 4]),
            (-1, [-.infinity, -.infinity, -.infinity]), (2, [.infinity, .infinity, .infinity]),
        ]
        for (phi, want) in cases {
            #expect(close(RangeKernels.quantileOverTime(two, phi: phi, scratch: &scratch), want[0]))
            #expect(close(RangeKernels.quantileOverTime(three, phi: phi, scratch: &scratch), want[1]))
            #expect(close(RangeKernels.quantileOverTime(uneven, phi: phi, scratch: &scratch), want[2]))
        }
        #expect(RangeKernels.quantileOverTime(two, phi: .nan, scratch: &scratch)!.isNaN)
        #expect(RangeKernels.quantileOverTime(over([]), phi: 0.5, scratch: &scratch) == nil)
    }

    @Test func madOverTime() {
        var scratch: [Double] = []
        #expect(RangeKernels.madOverTime(over([4, 6, 2, 1, 999, 1, 2], at: 70_000, range: 70_000), scratch: &scratch) == 1)
        #expect(RangeKernels.madOverTime(over([1, 2, 3, 4, 5], at: 40_000, range: 50_000), scratch: &scratch) == 1)
        #expect(RangeKernels.madOverTime(over([7, 7, 7, 7, 7], at: 40_000, range: 50_000), scratch: &scratch) == 0)
        #expect(RangeKernels.madOverTime(over([5], at: 0, range: 10_000), scratch: &scratch) == 0)
        #expect(RangeKernels.madOverTime(over([1, 2, .nan, 4], at: 30_000, range: 40_000), scratch: &scratch)!.isNaN)
    }
}

// MARK: - double_exponential_smoothing

@Suite struct SmoothingKernelTests {
    private func at8000(_ values: [Double?]) -> Double? {
        let w = window(series(values, step: 10_000), at: 8_000_000, range: minute)
        return RangeKernels.doubleExponentialSmoothing(w, smoothing: 0.01, trend: 0.1)
    }

    @Test func linearTrendsAreFollowed() {
        #expect(close(at8000(ramp(0, 10, 1000) + ramp(100, 30, 1000)), 8000))
        #expect(close(at8000(ramp(0, 20, 1000) + ramp(200, 30, 1000)), 16000))
        #expect(close(at8000(ramp(0, 40, 2000)), 32000))
        #expect(close(at8000(ramp(8000, -10, 1000)), 0))
        #expect(close(at8000(ramp(0, -20, 1000)), -16000))
        #expect(close(at8000(ramp(0, -40, 1000) + ramp(0, 40, 1000)), -32000))
    }

    @Test func handComputed() {
        // s1 = 1, b = 2; i=1: 0.5·3 + 0.5·(1+2) = 3; i=2: b = 0.5·(3−1) + 0.5·2 = 2,
        // s = 0.5·4 + 0.5·(3+2) = 4.5.
        let w = window(series([1, 3, 4], step: 1000), at: 2000, range: 10_000)
        #expect(RangeKernels.doubleExponentialSmoothing(w, smoothing: 0.5, trend: 0.5) == 4.5)
        #expect(RangeKernels.doubleExponentialSmoothing(window(series([1]), at: 0, range: 1000), smoothing: 0.5, trend: 0.5) == nil)
    }

    @Test func parameterChecks() {
        #expect(RangeKernels.smoothingParameterError(smoothing: 0, trend: 0.5) == .smoothing)
        #expect(RangeKernels.smoothingParameterError(smoothing: 1, trend: 5) == .smoothing)
        #expect(RangeKernels.smoothingParameterError(smoothing: 0.5, trend: 1) == .trend)
        #expect(RangeKernels.smoothingParameterError(smoothing: 0.5, trend: 0.5) == nil)
        #expect(RangeKernels.smoothingParameterError(smoothing: .nan, trend: .nan) == nil)  // Go lets NaN through
    }
}

// MARK: - histogram_quantile, quantile

@Suite struct HistogramQuantileKernelTests {
    private func buckets(_ pairs: [(Double, Double)]) -> [ClassicBucket] {
        pairs.map { ClassicBucket(upperBound: $0.0, count: $0.1) }
    }

    // testhistogram_bucket at 50m in histograms.test (counts ×10).
    private let positive: [(Double, Double)] = [(0.1, 50), (0.2, 70), (1, 110), (.infinity, 120)]
    private let negative: [(Double, Double)] = [(-0.2, 10), (-0.1, 20), (0.3, 20), (.infinity, 30)]

    private func q(_ q: Double, _ pairs: [(Double, Double)]) -> Double {
        var b = buckets(pairs)
        return HistogramQuantile.bucketQuantile(q, &b).value
    }

    @Test func corpusValues() {
        #expect(close(q(0, positive), 0)); #expect(close(q(0, negative), -0.2))
        #expect(close(q(1, positive), 1)); #expect(close(q(1, negative), 0.3))
        #expect(close(q(0.2, positive), 0.048)); #expect(close(q(0.2, negative), -0.2))
        #expect(close(q(0.5, positive), 0.15)); #expect(close(q(0.5, negative), -0.15))
        #expect(close(q(0.8, positive), 0.72)); #expect(close(q(0.8, negative), 0.3))
        let h2: [(Double, Double)] = [(0, 0), (2, 1), (4, 2), (6, 3), (.infinity, 3)]
        #expect(close(q(1.0 / 6, h2), 1)); #expect(close(q(0.5, h2), 3)); #expect(close(q(5.0 / 6, h2), 5))
    }

    @Test func outOfRangeQuantiles() {
        #expect(q(-0.1, positive) == -.infinity)
        #expect(q(1.01, positive) == .infinity)
        #expect(q(.nan, positive).isNaN)
        // q is checked before the buckets: even an invalid histogram gives ±Inf.
        #expect(q(-1, [(1, 1)]) == -.infinity)
    }

    @Test func unsortedInputIsSorted() {
        #expect(close(q(0.5, positive.reversed()), 0.15))
    }

    @Test func missingInfBucketOrTooFew() {
        #expect(q(0.5, [(0.1, 1), (1, 2)]).isNaN)
        #expect(q(0.5, [(.infinity, 5)]).isNaN)
        #expect(q(0.5, []).isNaN)
        #expect(q(0.5, [(0.1, 0), (.infinity, 0)]).isNaN)  // no observations
    }

    @Test func quantileInInfBucketReturnsSecondHighestBound() {
        #expect(q(0.99, [(1, 1), (2, 2), (.infinity, 10)]) == 2)
    }

    @Test func equalBoundsAreCoalesced() {
        // mixed_bucket: le 0.1, 0.2, 2e-1, 2.0e-1, +Inf with rates 1,1,1,1,4 → 0.2 bucket holds 3.
        let mixed: [(Double, Double)] = [(0.1, 1), (0.2, 1), (0.2, 1), (0.2, 1), (.infinity, 4)]
        #expect(close(q(0.5, mixed), 0.15))
        #expect(close(q(0.75, mixed), 0.2))
        #expect(close(q(1, mixed), 0.2))
        #expect(q(0.5, [(.infinity, 0), (.infinity, 0)]).isNaN)
    }

    @Test func nonMonotonicBucketsAreFixed() {
        let nm: [(Double, Double)] = [(0.1, 20), (1, 10), (10, 50), (100, 40), (1000, 90), (.infinity, 80)]
        var b = buckets(nm)
        let r = HistogramQuantile.bucketQuantileDetails(0.01, &b)
        #expect(close(r.value, 0.0045))
        #expect(r.forcedMonotonicity && !r.fixedPrecision)
        #expect(r.minForcedBound == 1 && r.maxForcedBound == .infinity && r.maxForcedDiff == 10)
        #expect(close(q(0.5, nm), 8.5))
        #expect(close(q(0.99, nm), 979.75))
    }

    @Test func tinyDeltasAreIgnoredSilently() {
        var b = buckets([(1, 10), (2, 10 * (1 - 1e-14)), (.infinity, 20)])
        let r = HistogramQuantile.bucketQuantile(0.25, &b)
        #expect(r.fixedPrecision && !r.forcedMonotonicity)
        #expect(close(r.value, 0.5))
    }

    @Test func plainQuantile() {
        var v: [Double] = [3, 1, 2]
        #expect(HistogramQuantile.quantile(0.5, &v) == 2)
        v = [1, .nan, 3]
        #expect(HistogramQuantile.quantile(0, &v).isNaN)  // NaN sorts first
        v = [1, .nan, 3]
        #expect(HistogramQuantile.quantile(1, &v) == 3)
        v = [1, .nan, 3]
        #expect(HistogramQuantile.quantile(0.75, &v) == 2)  // between 1 and 3
        v = []
        #expect(HistogramQuantile.quantile(0.5, &v).isNaN)
        v = [5]
        #expect(HistogramQuantile.quantile(0.3, &v) == 5)
    }

    @Test func almostEqual() {
        #expect(HistogramQuantile.almostEqual(.nan, .nan, tolerance: 1e-12))
        #expect(!HistogramQuantile.almostEqual(StaleNaN.value, .nan, tolerance: 1e-12))
        #expect(HistogramQuantile.almostEqual(1, 1 + 1e-13, tolerance: 1e-12))
        #expect(!HistogramQuantile.almostEqual(0, 1e-300, tolerance: 1e-12))
    }
}

// MARK: - Elementwise

@Suite struct ElementwiseKernelTests {
    private func f(_ name: String, _ x: Double) -> Double { ElementwiseKernels.unary[name]!(x) }

    @Test func allNamesPresent() {
        for name in ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "deg", "rad",
                     "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                     "asinh", "acosh", "atanh"] {
            #expect(ElementwiseKernels.unary[name] != nil, "\(name)")
        }
    }

    @Test func goEdgeCases() {
        #expect(f("ln", -1).isNaN)
        #expect(f("ln", 0) == -.infinity)
        #expect(f("log2", 0) == -.infinity)
        #expect(f("log10", -0.0) == -.infinity)
        #expect(f("log2", .infinity) == .infinity)
        #expect(f("log2", -8).isNaN)
        #expect(f("acosh", 0.5).isNaN)
        #expect(f("acosh", 1) == 0)
        #expect(f("atanh", 1) == .infinity)
        #expect(f("atanh", -1) == -.infinity)
        #expect(f("atanh", 2).isNaN)
        #expect(f("asin", 2).isNaN)
        #expect(f("sqrt", -1).isNaN)
        #expect(f("sqrt", -0.0).sign == .minus)
        #expect(f("exp", 1000) == .infinity)
        #expect(f("sin", .infinity).isNaN)
    }

    @Test func goLogarithms() {
        #expect(f("log2", 8) == 3)
        #expect(f("log2", 0.5) == -1)
        #expect(f("log2", 0x1p-1074) == -1074)  // subnormal power of two
        // Go's Log(x)·(1/Ln10), not libm's log10.
        #expect(f("log10", 1e15) == 14.999999999999998)
        #expect(f("log10", 3) == 0.4771212547196625)
        #expect(f("log10", 1000) == 3)
        #expect(f("log10", 100) == 2)
        #expect(close(f("log2", 10), 3.321928094887362))
    }

    @Test func sgnDegRad() {
        #expect(f("sgn", -3) == -1)
        #expect(f("sgn", 2) == 1)
        #expect(f("sgn", -0.0).sign == .minus)
        #expect(f("sgn", .nan).isNaN)
        #expect(f("deg", .pi) == 180)
        #expect(f("rad", 180) == .pi)
        #expect(f("abs", -2) == 2)
        #expect(f("ceil", 1.2) == 2)
        #expect(f("floor", -1.2) == -2)
    }

    @Test func round() {
        #expect(ElementwiseKernels.round(2.5, toNearest: 1) == 3)
        #expect(ElementwiseKernels.round(-2.5, toNearest: 1) == -2)  // ties go up
        #expect(ElementwiseKernels.round(1.2345, toNearest: 0.01) == 1.23)
        #expect(ElementwiseKernels.round(7, toNearest: 5) == 5)
        #expect(ElementwiseKernels.round(8, toNearest: 5) == 10)
        #expect(ElementwiseKernels.round(.nan, toNearest: 1).isNaN)
        #expect(ElementwiseKernels.round(.infinity, toNearest: 1) == .infinity)
    }

    @Test func clamp() {
        #expect(ElementwiseKernels.clampMax(100, max: 75) == 75)
        #expect(ElementwiseKernels.clampMax(-50, max: 75) == -50)
        #expect(ElementwiseKernels.clampMin(-50, min: -25) == -25)
        #expect(ElementwiseKernels.clamp(100, min: -25, max: 75) == 75)
        #expect(ElementwiseKernels.clamp(0, min: -25, max: 75) == 0)
        #expect(ElementwiseKernels.clamp(5, min: 0, max: .nan)!.isNaN)
        #expect(ElementwiseKernels.clamp(5, min: .nan, max: 0)!.isNaN)
        #expect(ElementwiseKernels.clamp(5, min: 5, max: -5) == nil)
        #expect(ElementwiseKernels.clamp(.nan, min: 0, max: 1)!.isNaN)
        #expect(ElementwiseKernels.clampMin(.nan, min: .infinity) == .infinity)  // Go's Max: +Inf beats NaN
        #expect(ElementwiseKernels.clampMax(.nan, max: -.infinity) == -.infinity)
        #expect(ElementwiseKernels.clamp(-0.0, min: 0, max: 1)!.sign == .plus)
    }

    @Test func goMinMax() {
        #expect(ElementwiseKernels.goMax(.nan, 1).isNaN)
        #expect(ElementwiseKernels.goMax(.nan, .infinity) == .infinity)
        #expect(ElementwiseKernels.goMin(.nan, -.infinity) == -.infinity)
        #expect(ElementwiseKernels.goMin(0, -0.0).sign == .minus)
        #expect(ElementwiseKernels.goMax(-0.0, 0).sign == .plus)
    }
}

// MARK: - Date functions

@Suite struct DateKernelTests {
    private func d(_ name: String, _ s: Double) -> Double { ElementwiseKernels.dateComponent(name, seconds: s) }

    @Test func corpusTimestamps() {
        // 2006-01-02 22:04:05 UTC, a Monday.
        let t = 1136239445.0
        #expect(d("year", t) == 2006)
        #expect(d("month", t) == 1)
        #expect(d("day_of_month", t) == 2)
        #expect(d("day_of_year", t) == 2)
        #expect(d("day_of_week", t) == 1)
        #expect(d("hour", t) == 22)
        #expect(d("minute", t) == 4)
        #expect(d("days_in_month", t) == 31)
        #expect(d("day_of_week", 0) == 4)  // 1970-01-01 was a Thursday
        #expect(d("year", 0) == 1970)
    }

    @Test func leapYears() {
        #expect(d("day_of_year", 1483191420) == 366)  // 2016-12-31
        #expect(d("day_of_year", 1672493820) == 365)  // 2022-12-31
        #expect(d("days_in_month", 1454284800) == 29)  // 2016-02-01
        #expect(d("days_in_month", 1485907200) == 28)  // 2017-02-01
        #expect(d("day_of_year", 1456704000) == 60)  // 2016-02-29
        #expect(d("day_of_month", 1456704000) == 29)
        #expect(d("days_in_month", 951782400) == 29)  // 2000-02-29: divisible by 400
        let march1900 = -2203891200.0
        #expect(d("day_of_year", march1900) == 60)  // 1900 is not a leap year
        #expect(d("days_in_month", march1900 - 86400) == 28)
        #expect(d("month", march1900) == 3)
    }

    @Test func negativeTimesTruncateTowardZero() {
        #expect(d("year", -1) == 1969)
        #expect(d("month", -1) == 12)
        #expect(d("day_of_month", -1) == 31)
        #expect(d("day_of_year", -1) == 365)
        #expect(d("day_of_week", -1) == 3)
        #expect(d("hour", -1) == 23)
        #expect(d("minute", -1) == 59)
        #expect(d("year", -0.5) == 1970)  // int64(-0.5) == 0
        #expect(d("hour", -1.9) == 23)
        #expect(d("year", -62135596800) == 1)  // 0001-01-01, a Monday
        #expect(d("day_of_week", -62135596800) == 1)
        #expect(d("year", 253402300799) == 9999)
        #expect(d("day_of_week", 253402300799) == 5)
    }

    @Test func nonFiniteValuesFollowGoOnAmd64() {
        // int64(NaN) is Int64.min on amd64; Go then shows 292277026596-12-04 15:30:08 UTC.
        for v in [Double.nan, .infinity, -.infinity, 1e300] {
            #expect(d("year", v) == 292277026596)
            #expect(d("month", v) == 12)
            #expect(d("day_of_month", v) == 4)
            #expect(d("hour", v) == 15)
            #expect(d("minute", v) == 30)
            #expect(d("day_of_year", v) == 339)
            #expect(d("day_of_week", v) == 0)
        }
        #expect(ElementwiseKernels.dateComponent(.year, unixSeconds: .max) == 292277026596)
        #expect(d("no_such_function", 0).isNaN)
    }

    @Test func argumentlessFormUsesEvalSeconds() {
        #expect(ElementwiseKernels.dateComponent(.hour, unixSeconds: 3000) == 0)
        #expect(ElementwiseKernels.dateComponent(.minute, unixSeconds: 3000) == 50)
        #expect(ElementwiseKernels.goInt64(-1.9) == -1)
        #expect(ElementwiseKernels.goInt64(9.3e18) == .min)
        #expect(ElementwiseKernels.goInt64(-9_223_372_036_854_775_808.0) == .min)
    }
}
