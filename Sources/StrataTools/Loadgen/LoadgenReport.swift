import Foundation

/// The load generator's words: the live progress line and the final report.
public enum LoadgenReport {
    /// One progress line: time, the accepted rate since the previous line, totals, errors by
    /// status, latency quantiles and the time left.
    public static func progressLine(_ c: LoadgenCounters, elapsed: Double, eta: Double?,
                                    previous: (accepted: UInt64, elapsed: Double)) -> String {
        let dt = max(elapsed - previous.elapsed, 1e-9)
        let rate = Double(c.samplesAccepted - min(previous.accepted, c.samplesAccepted)) / dt
        var errors = c.responses.filter { $0.key / 100 != 2 }.sorted { $0.key < $1.key }.map { "\($0.key):\(human($0.value))" }
        if c.transportErrors > 0 { errors.append("net:\(human(c.transportErrors))") }
        var line = String(format: "%6.1fs  ", elapsed) + "\(human(rate)) samples/s  accepted \(human(Double(c.samplesAccepted)))  "
            + "errors \(errors.isEmpty ? "0" : errors.joined(separator: " "))  "
            + "p50 \(ms(c.latency.quantile(0.5))) p99 \(ms(c.latency.quantile(0.99)))"
        if c.retries > 0 { line += "  retries \(human(c.retries))" }
        if let eta { line += String(format: "  ETA %.0fs", eta) }
        return line
    }

    /// The final report as a table.
    public static func table(_ r: LoadgenResult) -> String {
        var rows: [(String, String)] = [
            ("target", r.url),
            ("duration", String(format: "%.2f s", r.wallSeconds)),
            ("series", "\(r.series) configured, \(r.seriesSent) with accepted samples"),
            ("samples sent", "\(r.samplesSent)"),
            ("samples accepted", "\(r.samplesAccepted) (\(human(r.acceptedPerSecond))/s)"),
        ]
        for (status, n) in r.samplesRefusedByStatus.sorted(by: { $0.key < $1.key }) {
            rows.append(("samples refused \(status)", "\(n)"))
        }
        if r.samplesAbandoned > 0 { rows.append(("samples abandoned", "\(r.samplesAbandoned) (still failing at the end)")) }
        let statuses = r.responsesByStatus.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        rows.append(("requests", "\(r.requests) (\(statuses.joined(separator: ", "))\(r.transportErrors > 0 ? ", no response: \(r.transportErrors)" : ""))"))
        rows.append(("retries", "\(r.retries)"))
        rows.append(("latency", String(format: "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
                                       r.latencyMs["p50"] ?? 0, r.latencyMs["p90"] ?? 0, r.latencyMs["p99"] ?? 0, r.latencyMs["max"] ?? 0)))
        rows.append(("wire bytes", human(Double(r.wireBytes)) + String(format: " (%.2f per sample)",
                                                                       r.samplesSent > 0 ? Double(r.wireBytes) / Double(r.samplesSent) : 0)))
        rows.append(("generator CPU", String(format: "%.2f s sending (%.3f s per million samples, %.0f%% of one core)",
                                             r.generatorCPUSeconds, r.generatorCPUSecondsPerMillionSamples,
                                             r.wallSeconds > 0 ? 100 * r.generatorCPUSeconds / r.wallSeconds : 0)))
        if let wall = r.preEncodeSeconds, let cpu = r.preEncodeCPUSeconds {
            rows.append(("pre-encoding", String(format: "%.2f s (%.2f s CPU) before sending", wall, cpu)))
        }
        if let status = r.metadataStatus { rows.append(("metadata", "HTTP \(status)")) }
        if let steps = r.ramp {
            for (i, s) in steps.enumerated() {
                rows.append(("ramp step \(i + 1)", "target \(human(s.targetRate))/s, accepted \(human(s.acceptedRate))/s, "
                             + String(format: "lag %.2f s, errors %.1f%%, p99 %.1f ms: ", s.lagSeconds, 100 * s.errorRatio, s.p99Ms)
                             + (s.held ? "held" : "not held")))
            }
            rows.append(("capacity", r.capacity.map { "\(human($0)) samples/s" } ?? "no step held"))
        }
        if let v = r.verify {
            if let e = v.error {
                rows.append(("verify", "failed: \(e)"))
            } else {
                rows.append(("verify", "\(v.samplesHeld) of \(v.samplesExpected) accepted samples held in \(v.series) series; "
                             + "lost \(v.samplesLost) (\(v.seriesWithLoss) series, \(v.seriesMissing) missing)"
                             + (v.samplesExtra > 0 ? "; \(v.samplesExtra) held beyond the accepted" : "")))
                for e in v.examples { rows.append(("", e)) }
            }
        }
        for e in r.firstErrors { rows.append(("error", e)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }

    static func human(_ v: UInt64) -> String { human(Double(v)) }

    static func human(_ v: Double) -> String {
        switch abs(v) {
        case 1e9...: return String(format: "%.2fG", v / 1e9)
        case 1e6...: return String(format: "%.2fM", v / 1e6)
        case 1e4...: return String(format: "%.1fk", v / 1e3)
        default: return String(format: "%.0f", v)
        }
    }

    private static func ms(_ micros: UInt64) -> String { String(format: "%.1fms", Double(micros) / 1000) }
}
