import StrataBlock
import StrataModel
import StrataStorage
import StrataTSDB

/// `strata tsdb import openmetrics`: writes blocks from an OpenMetrics text file the way
/// `promtool tsdb create-blocks-from openmetrics` does: one block per aligned `blockDuration`
/// window that has samples, its chunks cut as promtool's are (a head with twice the window as
/// chunk range), `minTime` = the first sample and `maxTime` = the last sample + 1.
/// The file is parsed once to check it and count each window's samples, then again for each
/// group of consecutive windows that together hold at most `samplesPerPass` samples (promtool
/// parses it once per window, which makes a file of many small windows quadratic), so memory
/// holds one group's samples at a time.
public enum OpenMetricsImport {
    public struct Result: Sendable {
        public var blocks: [BlockMeta] = []
        public var samples = 0
    }

    /// Imports the OpenMetrics text file at `path`.
    public static func run(file path: String, outputDir: String, blockDuration: Int64 = 2 * 3600 * 1000,
                           samplesPerPass: Int = 20_000_000) throws -> Result {
        let text = try FileSystem.withMappedFile(path) { String(decoding: $0, as: UTF8.self) }
        return try run(text: text, outputDir: outputDir, blockDuration: blockDuration, samplesPerPass: samplesPerPass)
    }

    public static func run(text: String, outputDir: String, blockDuration: Int64 = 2 * 3600 * 1000,
                           samplesPerPass: Int = 20_000_000) throws -> Result {
        try FileSystem.mkdirAll(outputDir)
        func window(_ t: Int64) -> Int64 {
            var w = (t / blockDuration) * blockDuration
            if t < 0 && t % blockDuration != 0 { w -= blockDuration }
            return w
        }
        // Pass 1: validate everything and count each window's samples, before writing anything.
        var windows: [Int64: Int] = [:]
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
            windows[window(s.t), default: 0] += 1
        }
        last = [:]
        // Consecutive windows grouped up to `samplesPerPass` samples (a larger window alone).
        var groups: [[Int64]] = []
        var inGroup = 0
        for w in windows.keys.sorted() {
            if groups.isEmpty || inGroup + windows[w]! > samplesPerPass && inGroup > 0 { groups.append([]); inGroup = 0 }
            groups[groups.count - 1].append(w)
            inGroup += windows[w]!
        }
        var result = Result()
        for group in groups {
            // A head per window, its chunks cut as promtool's are (twice the window as range).
            var heads: [Int64: (head: Head, appender: any Appender, staged: Int)] = [:]
            for w in group {
                var options = HeadOptions()
                options.chunkRange = 2 * blockDuration
                options.stripeCount = 64
                let head = Head(options: options)
                heads[w] = (head, head.appender(), 0)
            }
            let (lo, hi) = (group.first!, group.last! + blockDuration)
            var parser = OpenMetricsParser(text)
            while let s = try parser.next() {
                guard s.t >= lo && s.t < hi else { continue }
                let w = window(s.t)
                let r = heads[w]!.appender.append(s.labels, [StrataModel.Sample(t: s.t, v: s.v)])
                if let f = r.firstFailure {
                    throw StorageError(.invalid, "sample \(s.labels) at \(s.t): \(f.failure.message) (samples of a series must be in time order)")
                }
                heads[w]!.staged += 1
                // Staged samples are kept uncompressed until a commit: commit every so often.
                if heads[w]!.staged >= 1_000_000 {
                    try heads[w]!.appender.commit()
                    heads[w]!.appender = heads[w]!.head.appender()
                    heads[w]!.staged = 0
                }
            }
            for w in group {
                let (head, appender, _) = heads[w]!
                try appender.commit()
                if let meta = try head.writeBlock(parentDir: outputDir, mint: w, maxt: w + blockDuration,
                                                  blockMint: head.mint, blockMaxt: head.maxt + 1) {
                    result.blocks.append(meta)
                }
                result.samples += windows[w]!
                heads[w] = nil
            }
        }
        return result
    }
}
