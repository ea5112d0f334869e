import StrataHTTPAPI

/// Prometheus-style durations for flags (`5m`, `2h`, `1h30m`) → milliseconds.
public enum DurationFlag {
    public static func parse(_ s: String) -> Int64? { APITime.parsePromDuration(s) }
}
