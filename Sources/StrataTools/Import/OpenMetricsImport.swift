import StrataBlock
import StrataModel
import StrataStorage
import StrataTSDB

/// `strata tsdb import openmetrics`: writes blocks from an OpenMetrics text file the way
/// `promtool tsdb create-blocks-from openmetrics` does: one block per aligned `blockDuration`
/// window that has samples, its chunks cut as promtool's are (a head with twice the window as
/// chunk range), `minTime` = the first sample and `maxTime` = the last sample + 1.
/// Memory holds one window's samples at a time; the file is parsed once per window, as promtool does.
public enum OpenMetricsImport {
    public struct Result: Sendable {
        public var blocks: [BlockMeta] = []
        public var samples = 0
    }

    /// Imports the OpenMetrics text file at `path`.
    public static func run(file path: String, outputDir: String, blockDuration: Int64 = 2 * 3600 * 1000) throws -> Result {
        let text = try FileSystem.withMappedFile(path) { String(decoding: $0, as: UTF8.self) }
        return try run(text: text, outputDir: outputDir, blockDuration: blockDuration)
    }

    public static func run(text: String, outputDir: String, blockDuration: Int64 = 2 * 3600 * 1000) throws -> Result {
        try FileSystem.mkdirAll(outputDir)
        // Pass 1: validate everything and find the time range, before writing anything.
        var windows = Set<Int64>()
        var last: [Labels: (t: Int64, bits: UInt64)] = [:]
        var p = OpenMetricsParser(text)
        while let s = try p.next() {
            // Order within each series is checked here, so a bad file writes no block at all.
            if let prev = last[s.labels] {
                if s.t < prev.t || (s.t == prev.t && s.v.bitPattern != prev.bits) {
                    throw StorageError(.invalid, "line \(p.lineNumber): sample \(s.labels) at \(s.t): \(s.t < prev.t ? "out of order sample" : "duplicate sample for timestamp") (samples of a series must be in time order)")
                }
            }
            last[s.labels] = (s.t, s.v.bitPattern)
            var w = (s.t / blockDuration) * blockDuration
            if s.t < 0 && s.t % blockDuration != 0 { w -= blockDuration }
            windows.insert(w)
        }
        last = [:]
        var result = Result()
        for windowStart in windows.sorted() {
            let windowEnd = windowStart + blockDuration
            var options = HeadOptions()
            options.chunkRange = 2 * blockDuration
            options.stripeCount = 64
            let head = Head(options: options)
            let app = head.appender()
            var parser = OpenMetricsParser(text)
            var n = 0
            while let s = try parser.next() {
                guard s.t >= windowStart && s.t < windowEnd else { continue }
                let sample = StrataModel.Sample(t: s.t, v: s.v)
                let r = app.append(s.labels, [sample])
                if let f = r.firstFailure {
                    throw StorageError(.invalid, "sample \(s.labels) at \(s.t): \(f.failure.message) (samples of a series must be in time order)")
                }
                n += 1
            }
            try app.commit()
            if n > 0 {
                let series = try head.blockSeries(mint: windowStart, maxt: windowEnd)
                let meta = try BlockWriter.write(parentDir: outputDir, mint: head.mint, maxt: head.maxt + 1, series: series)
                result.blocks.append(meta)
                result.samples += n
            }
        }
        return result
    }
}
