import StrataModel

/// Prometheus-style durations for flags (`5m`, `2h`, `1h30m`) → milliseconds, by the same parser
/// as the API and PromQL (`model.ParseDuration`'s rules).
public enum DurationFlag {
    public static func parse(_ s: String) -> Int64? { try? parsePrometheusDuration(s) }
}

/// Prometheus' byte sizes for flags (`512MB`, `10GB`, `1TiB`): powers of 1024, as
/// `--storage.tsdb.retention.size` reads them. A bare number is bytes.
public enum ByteSizeFlag {
    public static func parse(_ s: String) -> Int? {
        let digits = s.prefix { $0.isNumber }
        guard !digits.isEmpty, let n = Int(digits) else { return nil }
        let unit = s.dropFirst(digits.count).uppercased()
        let powers = ["": 0, "B": 0, "KB": 1, "KIB": 1, "MB": 2, "MIB": 2, "GB": 3, "GIB": 3, "TB": 4, "TIB": 4, "PB": 5, "PIB": 5, "EB": 6, "EIB": 6]
        guard let p = powers[unit] else { return nil }
        let (v, overflow) = n.multipliedReportingOverflow(by: 1 << (10 * p))
        return overflow ? nil : v
    }
}
