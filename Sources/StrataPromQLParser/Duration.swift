/// Whether a duration literal (seconds) overflows Go's `time.Duration`, as Prometheus'
/// `durationLiteralOutOfRange`.
func durationLiteralOutOfRange(_ seconds: Double) -> Bool {
    seconds > 9_223_372_036.854775807 || seconds < -9_223_372_036.854775808
}

/// Seconds to milliseconds the way Prometheus gets there: rounded to whole nanoseconds, then
/// truncated to milliseconds.
func secondsToMilliseconds(_ seconds: Double) -> Int64 {
    let nanos = (seconds * 1e9).rounded()
    if nanos.isNaN { return 0 }
    if nanos >= 9.223372036854775807e18 { return Int64.max / 1_000_000 }
    if nanos <= -9.223372036854775808e18 { return Int64.min / 1_000_000 }
    return Int64(nanos) / 1_000_000
}
