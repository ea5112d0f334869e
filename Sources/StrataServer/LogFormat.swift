#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import StrataModel

/// `--log.format`: Prometheus' two log formats, one line per event on standard error.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=2026-12-06T01:23:21.123Z level=info source=StrataServer msg="WAL closed" key=value`:
    /// go-kit's logfmt as Prometheus writes it, values quoted only when they need it.
    case logfmt
    /// `{"ts":"…","level":"info","source":"…","msg":"…","key":"value"}`.
    case json
}

/// A swift-log handler writing `LogFormat` lines to standard error. The line is built whole and
/// written with one call, so lines from different threads never interleave.
public struct StrataLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let format: LogFormat

    public init(format: LogFormat, level: Logger.Level) {
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        if let error = event.error, merged["err"] == nil { merged["err"] = "\(error)" }
        let text = Self.line(format: format, time: Self.timestamp(), level: event.level, source: event.source,
                             message: "\(event.message)", fields: merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") })
        // One write(2): a line up to the pipe buffer's size reaches the reader whole.
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }

    /// One formatted line, newline included.
    static func line(format: LogFormat, time: String, level: Logger.Level, source: String, message: String,
                     fields: [(String, String)]) -> String {
        let all = [("ts", time), ("level", "\(level)"), ("source", source), ("msg", message)] + fields
        switch format {
        case .logfmt:
            return all.map { "\(logfmtKey($0.0))=\(logfmtValue($0.1))" }.joined(separator: " ") + "\n"
        case .json:
            return "{" + all.map { "\(JSONQuote.quote($0.0)):\(JSONQuote.quote($0.1))" }.joined(separator: ",") + "}\n"
        }
    }

    /// go-logfmt: a value is quoted when empty or when it holds a space, `=`, `"` or a control
    /// character; inside quotes `"` and `\` are escaped, and newlines, tabs and returns too.
    static func logfmtValue(_ v: String) -> String {
        let needsQuotes = v.isEmpty || v.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 || $0.value == 0x7F }
        guard needsQuotes else { return v }
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += "\\u" + hex4(u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Keys cannot be quoted in logfmt: characters that would break the line become `_`.
    static func logfmtKey(_ k: String) -> String {
        String(k.unicodeScalars.map { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x21 ? "_" : Character($0) })
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// RFC 3339 UTC with milliseconds, as Prometheus' logs.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
