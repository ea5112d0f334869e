import StrataEncoding
import StrataModel
import StrataStorage

/// Appends one request's series to the head. Samples are checked and stored series by series;
/// a rejected sample leaves its series exactly as it was, and the rest of the request goes on.
final class HeadAppender: Appender {
    let head: Head
    private(set) var appended = 0
    // Time range of this request's samples, published to the head once at commit.
    private var lo = Int64.max, hi = Int64.min
    /// Accepted samples, logged to the WAL at commit.
    private var pending: [WALSample] = []
    private var failure: (any Error)?

    init(head: Head) { self.head = head }

    deinit {
        if lo != .max { head.pendingMinTimes.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) } }
    }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        var result = AppendResult()
        if samples.isEmpty { return result }
        let hash = XXH64.hash(labels)
        let stripe = head.hashStripes[Int(truncatingIfNeeded: hash) & head.stripeMask]

        stripe.lock.lock()
        var series = Head.find(stripe, hash: hash, labels: labels)
        // Truncation may remove a series between its creation and this lock; then create it anew.
        while series == nil || series!.removed {
            stripe.lock.unlock()
            // A new series whose samples are all out of bounds is not created at all.
            let minValid = head.minValidTime
            var newest = Int64.min
            for i in 0 ..< samples.count where samples[i].t > newest { newest = samples[i].t }
            if newest < minValid {
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .outOfBounds))
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
        let range = head.options.chunkRange
        let perChunk = head.options.samplesPerChunk
        let logging = head.wal != nil
        var lo = self.lo, hi = self.hi
        for i in 0 ..< samples.count {
            let sample = samples[i]
            switch s.appendable(t: sample.t, v: sample.v, minValidTime: minValid) {
            case .append:
                s.append(t: sample.t, v: sample.v, chunkRange: range, samplesPerChunk: perChunk)
                if logging { pending.append(WALSample(ref: s.ref, t: sample.t, v: sample.v)) }
                if sample.t < lo { lo = sample.t }
                if sample.t > hi { hi = sample.t }
                result.accepted += 1
            case .alreadyStored:
                result.accepted += 1
            case .reject(let why):
                if result.firstFailure == nil { result.firstFailure = (i, why) }
                result.rejected += 1
            }
        }
        stripe.lock.unlock()
        // Tell compaction about older samples stored but not yet committed (once per new low).
        if lo < self.lo { head.pendingMinTimes.withLock { $0[ObjectIdentifier(self)] = lo } }
        self.lo = lo; self.hi = hi
        appended += result.accepted
        return result
    }

    func appendMetadata(_ metadata: MetricMetadata) { head.metadata.set(metadata) }

    /// Logs the accepted samples to the WAL (in the kernel, and fsynced under the `always` policy)
    /// before the write may be acknowledged.
    func commit() throws {
        defer { pending.removeAll(keepingCapacity: true) }
        if let failure { self.failure = nil; throw failure }
        if let wal = head.wal, !pending.isEmpty {
            var records: [[UInt8]] = []
            var start = 0
            // Keep records modest so replay works through them with bounded buffers.
            while start < pending.count {
                let end = min(start + 10_000, pending.count)
                var rec: [UInt8] = []
                pending.withUnsafeBufferPointer { WALRecordEncoder.samples(UnsafeBufferPointer(rebasing: $0[start ..< end]), into: &rec) }
                records.append(rec)
                start = end
            }
            try wal.log(records)
        }
        if hi != .min { head.noteTimes(min: lo, max: hi) }
        if lo != .max { head.pendingMinTimes.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) } }
        head.samplesAppended.add(appended, ordering: .relaxed)
        appended = 0
        lo = .max; hi = .min
    }
}

/// Checks a canonical label blob for a new series: names non-empty, strictly sorted (so no
/// duplicates), valid UTF-8, and a metric name present. Returns why it is invalid, or nil.
public enum LabelValidation {
    public static func validate(_ blob: UnsafeRawBufferPointer) -> String? {
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
        if !hasName { return "missing metric name (__name__ label)" }
        return nil
    }

}
