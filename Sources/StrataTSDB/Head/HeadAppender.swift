import StrataBlock
import StrataEncoding
import StrataModel
import StrataStorage

/// Stages one request's samples and, at `commit`, logs them to the WAL and only then applies
/// them to the head (Prometheus' `headAppender`): a write the WAL refused is never readable, and
/// a reader never sees half of a request.
///
/// `append` checks every sample against its series (newest committed sample, samples other
/// appenders have staged, bounds) under the series' stripe lock, so the answer to the sender is
/// decided there; `commit` re-takes each lock once to apply.
final class HeadAppender: Appender {
    let head: Head
    /// Newest timestamp accepted: the wall clock at the start of the request plus the window.
    private let maxValidTime: Int64
    /// Staged samples in series order, as the WAL logs them.
    private var staged: [WALSample] = []
    /// Per staged series: its object, the end of its run in `staged`, and its newest staged time.
    private var stagedSeries: [(series: MemSeries, end: Int, lastT: Int64)] = []
    private var alreadyStored = 0
    /// Oldest sample time this appender may stage, announced to compaction (`pendingMinTimes`).
    private var announced = Int64.max
    // Time range of the staged samples.
    private var lo = Int64.max, hi = Int64.min
    private var failure: (any Error)?

    init(head: Head) {
        self.head = head
        let window = head.options.tooFarInFutureWindow
        maxValidTime = window > 0 ? WallClock.nowMillis() &+ window : .max
    }

    deinit { rollback() }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        if samples.isEmpty { return AppendResult() }
        var oldest = Int64.max, newest = Int64.min
        for i in 0 ..< samples.count {
            let t = samples[i].t
            if t < oldest { oldest = t }
            if t > newest { newest = t }
        }
        // Announce the oldest time before bounds are checked: a head compaction raises the
        // minimum valid time first and reads the announcements after, so either it sees this
        // one (and waits for the commit) or this append sees its new minimum.
        if oldest < announced {
            announced = oldest
            head.pendingMinTimes.withLock { $0[ObjectIdentifier(self)] = oldest }
        }
        let hash = head.labelHash(labels)
        let stripe = head.hashStripes[Int(truncatingIfNeeded: hash) & head.stripeMask]

        stripe.lock.lock()
        var series = Head.find(stripe, hash: hash, labels: labels)
        // Truncation may remove a series between its creation and this lock; then create it anew.
        while series == nil || series!.removed {
            stripe.lock.unlock()
            // A new series whose samples are all out of bounds is not created at all.
            if newest < head.minValidTime {
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .outOfBounds))
            }
            if oldest > maxValidTime {
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .tooFarInFuture))
            }
            if let why = LabelValidation.validate(labels) {
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .invalidLabels(why)))
            }
            do { series = try head.getOrCreate(hash: hash, labels: labels) } catch {
                failure = failure ?? error
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .unsupported("write-ahead log: \(error)")))
            }
            stripe.lock.lock()
        }
        let s = series!
        let minValid = head.minValidTime
        let maxValid = maxValidTime
        var result = AppendResult()
        // In order after the newest sample committed or staged (by this or another appender).
        let committedT = s.lastT, committedBits = s.lastValueBits
        var lastT = committedT, lastBits = committedBits
        if s.stagedT > lastT { lastT = s.stagedT; lastBits = s.stagedValueBits }
        let runStart = staged.count
        for i in 0 ..< samples.count {
            let t = samples[i].t, bits = samples[i].v.bitPattern
            let why: AppendFailure
            if t > maxValid { why = .tooFarInFuture }
            else if t < minValid { why = .outOfBounds }
            else if lastT == .min || t > lastT {
                staged.append(WALSample(ref: s.ref, t: t, v: samples[i].v))
                if t < lo { lo = t }
                lastT = t; lastBits = bits
                result.accepted += 1
                continue
            } else if t == lastT && bits == lastBits {
                // Exact duplicates are allowed (federation, retries). One already committed is
                // stored once; one only staged is staged again, in case its appender fails.
                if t == committedT && bits == committedBits { alreadyStored += 1 }
                else { staged.append(WALSample(ref: s.ref, t: t, v: samples[i].v)) }
                result.accepted += 1
                continue
            } else {
                why = t == lastT ? .duplicate : .outOfOrder
            }
            if result.firstFailure == nil { result.firstFailure = (i, why) }
            result.rejected += 1
        }
        if staged.count > runStart {
            if lastT > s.stagedT { s.stagedT = lastT; s.stagedValueBits = lastBits }
            stagedSeries.append((s, staged.count, lastT))
            if lastT > hi { hi = lastT }
        }
        stripe.lock.unlock()
        return result
    }

    func appendMetadata(_ metadata: MetricMetadata) { head.metadata.set(metadata) }

    /// Logs the staged samples to the WAL (in the kernel, and fsynced under the `always` policy),
    /// then applies them. If the WAL refuses them nothing is applied and the error is thrown.
    func commit() throws {
        if let failure { self.failure = nil; rollback(); throw failure }
        if staged.isEmpty { finish(); return }
        var records: [[UInt8]] = []
        if head.wal != nil {
            var start = 0
            // Keep records modest so replay works through them with bounded buffers.
            while start < staged.count {
                let end = min(start + 10_000, staged.count)
                var rec: [UInt8] = []
                staged.withUnsafeBufferPointer { WALRecordEncoder.samples(UnsafeBufferPointer(rebasing: $0[start ..< end]), into: &rec) }
                records.append(rec)
                start = end
            }
        }
        // Logged and applied with no WAL rotation in between (see `Head.commitsInFlight`).
        head.commitsInFlight.lockShared()
        defer { head.commitsInFlight.unlock() }
        if let wal = head.wal {
            do { try wal.log(records) } catch { rollback(); throw error }
        }
        let range = head.options.chunkRange
        let perChunk = head.options.samplesPerChunk
        var applied = 0
        var start = 0
        head.visibility.withReadLock {
            staged.withUnsafeBufferPointer { smp in
                for (s, end, last) in stagedSeries {
                    let stripe = head.stripe(of: s)
                    stripe.lock.lock()
                    for i in start ..< end where s.lastT == .min || smp[i].t > s.lastT {
                        s.append(t: smp[i].t, v: smp[i].v, chunkRange: range, samplesPerChunk: perChunk)
                        applied += 1
                    }
                    if s.stagedT == last { s.stagedT = .min }
                    stripe.lock.unlock()
                    start = end
                }
            }
        }
        if hi != .min {
            head.noteTimes(min: lo, max: hi)
            head.options.onCommit?(lo, hi)
        }
        head.samplesAppended.add(applied + alreadyStored, ordering: .relaxed)
        finish()
    }

    /// Discards everything staged.
    func rollback() {
        for (s, _, last) in stagedSeries {
            let stripe = head.stripe(of: s)
            stripe.lock.withLock { if s.stagedT == last { s.stagedT = .min } }
        }
        finish()
    }

    private func finish() {
        staged.removeAll(keepingCapacity: true)
        stagedSeries.removeAll(keepingCapacity: true)
        alreadyStored = 0
        if announced != .max { head.pendingMinTimes.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) } }
        announced = .max
        lo = .max; hi = .min
    }
}

/// Checks a canonical label blob for a new series: well-formed lengths, names non-empty,
/// strictly sorted (so no duplicates), valid UTF-8, and (unless told otherwise) a metric name
/// present. Returns why it is invalid, or nil.
public enum LabelValidation {
    public static func validate(_ blob: UnsafeRawBufferPointer, requireMetricName: Bool = true) -> String? {
        var i = 0
        var prevName: UnsafeRawBufferPointer?
        var hasName = false
        while i < blob.count {
            guard let nl = LabelBlob.readUvarintChecked(blob, &i), i + nl <= blob.count else { return "malformed label set" }
            let name = UnsafeRawBufferPointer(rebasing: blob[i ..< i + nl]); i += nl
            guard let vl = LabelBlob.readUvarintChecked(blob, &i), i + vl <= blob.count else { return "malformed label set" }
            let value = UnsafeRawBufferPointer(rebasing: blob[i ..< i + vl]); i += vl
            if name.isEmpty { return "empty label name" }
            if let prev = prevName {
                let c = LabelBlob.compareBytes(prev, name)
                if c == 0 { return "duplicate label name \(goQuote(String(decoding: name, as: UTF8.self)))" }
                if c > 0 { return "labels are not sorted by name (\(goQuote(String(decoding: name, as: UTF8.self))) after \(goQuote(String(decoding: prev, as: UTF8.self))))" }
            }
            if String(validating: name, as: UTF8.self) == nil { return "label name is not valid UTF-8" }
            if String(validating: value, as: UTF8.self) == nil {
                return "value of label \(goQuote(String(decoding: name, as: UTF8.self))) is not valid UTF-8"
            }
            if nl == 8 && name.elementsEqual("__name__".utf8) { hasName = vl > 0 }
            prevName = name
        }
        if requireMetricName && !hasName { return "missing metric name (__name__ label)" }
        return nil
    }

}
