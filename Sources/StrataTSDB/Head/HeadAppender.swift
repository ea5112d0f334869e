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

    init(head: Head) { self.head = head }

    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        var result = AppendResult()
        if samples.isEmpty { return result }
        let hash = XXH64.hash(labels)
        let stripe = head.hashStripes[Int(truncatingIfNeeded: hash) & head.stripeMask]

        stripe.lock.lock()
        var series = Head.find(stripe, hash: hash, labels: labels)
        if series == nil {
            stripe.lock.unlock()
            if let why = LabelValidation.validate(labels) {
                return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .invalidLabels(why)))
            }
            series = head.getOrCreate(hash: hash, labels: labels)
            stripe.lock.lock()
        }
        let s = series!
        let minValid = head.minValidTime
        let range = head.options.chunkRange
        let perChunk = head.options.samplesPerChunk
        var lo = self.lo, hi = self.hi
        for i in 0 ..< samples.count {
            let sample = samples[i]
            switch s.appendable(t: sample.t, v: sample.v, minValidTime: minValid) {
            case .append:
                s.append(t: sample.t, v: sample.v, chunkRange: range, samplesPerChunk: perChunk)
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
        self.lo = lo; self.hi = hi
        appended += result.accepted
        return result
    }

    func appendMetadata(_ metadata: MetricMetadata) { head.metadata.set(metadata) }

    func commit() throws {
        // The WAL issue makes this write the request's records before the write is acknowledged.
        if hi != .min { head.noteTimes(min: lo, max: hi) }
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
            guard let nl = readLen(blob, &i), i + nl <= blob.count else { return "malformed label set" }
            let name = UnsafeRawBufferPointer(rebasing: blob[i ..< i + nl]); i += nl
            guard let vl = readLen(blob, &i), i + vl <= blob.count else { return "malformed label set" }
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

    private static func readLen(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Int? {
        var result = 0, shift = 0
        while i < b.count {
            let x = b[i]; i += 1
            result |= Int(x & 0x7f) << shift
            if x < 0x80 { return result }
            shift += 7
            if shift > 28 { return nil }
        }
        return nil
    }
}
