/// A label set stored as one flat byte blob, sorted by label name.
///
/// Layout (the same as Prometheus' `stringlabels`): for each label, `uvarint len | name bytes |
/// uvarint len | value bytes`. One allocation per label set, hashable and comparable as bytes, and
/// the remote-write decoder can build the same bytes from a request without creating a `String`.
public struct Labels: Sendable, Hashable {
    public let bytes: [UInt8]

    /// Wraps an already canonical blob (sorted, no duplicate names). Use `LabelsBuilder` otherwise.
    public init(canonicalBytes: [UInt8]) { self.bytes = canonicalBytes }

    public static let empty = Labels(canonicalBytes: [])

    /// Builds a label set from pairs; sorts by name bytewise. Later duplicates replace earlier ones.
    public init(_ pairs: [(String, String)]) {
        var b = LabelsBuilder()
        for (n, v) in pairs { b.set(n, v) }
        self = b.labels()
    }

    public init(_ dict: [String: String]) { self.init(dict.map { ($0.key, $0.value) }) }

    public var isEmpty: Bool { bytes.isEmpty }

    public var count: Int { bytes.withUnsafeBytes { LabelBlob.labelCount($0) } }

    /// Calls `body` with each (name, value) as raw byte buffers, in name order. No allocation.
    @inlinable
    public func forEachRaw(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { buf in
            var i = 0
            while i < buf.count {
                let nl = LabelBlob.readUvarint(buf, &i)
                let name = UnsafeRawBufferPointer(rebasing: buf[i ..< i + nl]); i += nl
                let vl = LabelBlob.readUvarint(buf, &i)
                let value = UnsafeRawBufferPointer(rebasing: buf[i ..< i + vl]); i += vl
                try body(name, value)
            }
        }
    }

    public func forEach(_ body: (String, String) throws -> Void) rethrows {
        try forEachRaw { n, v in try body(String(decoding: n, as: UTF8.self), String(decoding: v, as: UTF8.self)) }
    }

    public var pairs: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        forEach { out.append(($0, $1)) }
        return out
    }

    public var dictionary: [String: String] {
        var out: [String: String] = [:]
        forEach { out[$0] = $1 }
        return out
    }

    /// The value of `name`, or nil when absent.
    public func get(_ name: String) -> String? {
        var result: String?
        var nameCopy = name
        nameCopy.withUTF8 { want in
            forEachRaw { n, v in
                if result == nil, n.count == want.count, memcmpEqual(n, UnsafeRawBufferPointer(want)) {
                    result = String(decoding: v, as: UTF8.self)
                }
            }
        }
        return result
    }

    /// The metric name (`__name__`), or nil.
    public var metricName: String? { self.get("__name__") }

    /// A copy without the named labels.
    public func dropping(_ names: Set<String>) -> Labels {
        let names = Set(names.map(ByteString.init))
        var b = LabelsBuilder()
        forEach { n, v in if !names.contains(ByteString(n)) { b.set(n, v) } }
        return b.labels()
    }

    /// Prometheus' `labels.Compare`: pairwise by name then value (bytewise), shorter set first on a tie.
    public static func compare(_ a: Labels, _ b: Labels) -> Int {
        a.bytes.withUnsafeBytes { ab in b.bytes.withUnsafeBytes { bb in LabelBlob.compare(ab, bb) } }
    }

    /// The bytes in one go: the synthesized hash would feed the hasher a byte at a time.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// The order that sorts `sets` by `compare` (stable), fast: each set is written once in an
    /// order-preserving byte encoding (every string's bytes, a zero byte as `00 FF`, then
    /// `00 00`: FoundationDB's tuple encoding, whose bytewise order is `compare`'s), and the
    /// sort compares the 8 bytes after the prefix all sets share as one integer, falling back
    /// to comparing the rest only on a tie. No reference counting in the comparisons.
    public static func sortedOrder(_ sets: [Labels]) -> [Int] {
        sortedOrder(count: sets.count) { i, body in sets[i].bytes.withUnsafeBytes(body) }
    }

    /// `sortedOrder` of `count` label blobs, which `blob(i, body)` hands to `body` in place.
    public static func sortedOrder(count: Int, blob: (Int, (UnsafeRawBufferPointer) -> Void) -> Void) -> [Int] {
        var offsets = [Int](repeating: 0, count: count + 1)
        var flat = [UInt8]()
        var size = 0
        for i in 0 ..< count { blob(i) { size += $0.count } }
        flat.reserveCapacity(size + count * 16)
        func put(_ string: UnsafeRawBufferPointer) {
            if string.contains(0) {
                for b in string {
                    flat.append(b)
                    if b == 0 { flat.append(0xFF) }
                }
            } else {
                flat.append(contentsOf: string)
            }
            flat.append(0); flat.append(0)
        }
        for i in 0 ..< count {
            blob(i) { b in
                // Names and values alike: each a uvarint length and its bytes.
                var j = 0
                while j < b.count {
                    let n = LabelBlob.readUvarint(b, &j)
                    put(UnsafeRawBufferPointer(rebasing: b[j ..< j + n]))
                    j += n
                }
            }
            offsets[i + 1] = flat.count
        }
        var order = Array(0 ..< count)
        guard count > 1 else { return order }
        flat.withUnsafeBytes { buf in
            let base = buf.baseAddress!
            // The prefix every encoding shares (series of one metric share their first labels).
            var shared = offsets[1]
            for i in 1 ..< count where shared > 0 {
                shared = Swift.min(shared, LabelBlob.firstDifference(base, base + offsets[i], Swift.min(shared, offsets[i + 1] - offsets[i])))
            }
            // Big-endian, zero-padded: integer order is the bytes' order.
            let keys = (0 ..< count).map { i -> UInt64 in
                var key: UInt64 = 0
                for k in 0 ..< 8 {
                    let at = offsets[i] + shared + k
                    key = key << 8 | UInt64(at < offsets[i + 1] ? base.load(fromByteOffset: at, as: UInt8.self) : 0)
                }
                return key
            }
            keys.withUnsafeBufferPointer { key in
                offsets.withUnsafeBufferPointer { off in
                    order.withUnsafeMutableBufferPointer { o in
                        o.sort { x, y in
                            if key[x] != key[y] { return key[x] < key[y] }
                            let c = LabelBlob.compareBytes(UnsafeRawBufferPointer(rebasing: buf[off[x] + shared ..< off[x + 1]]),
                                                           UnsafeRawBufferPointer(rebasing: buf[off[y] + shared ..< off[y + 1]]))
                            return c != 0 ? c < 0 : x < y
                        }
                    }
                }
            }
        }
        return order
    }
}

extension Array {
    /// Sorts the elements by their label sets (`Labels.compare`), stable, without reference
    /// counting in the comparisons (see `Labels.sortedOrder`).
    public mutating func sortByLabels(_ labels: (Element) -> Labels) {
        guard count > 1 else { return }
        let order = Labels.sortedOrder(map(labels))
        self = order.map { self[$0] }
    }
}

extension Labels: Comparable {
    public static func < (lhs: Labels, rhs: Labels) -> Bool { compare(lhs, rhs) < 0 }
}

extension Labels: CustomStringConvertible {
    /// `{a="b", c="d"}` as Prometheus prints label sets (values escaped like Go's %q).
    public var description: String {
        var s = "{"
        var first = true
        forEach { n, v in
            if !first { s += ", " }
            first = false
            s += n + "=" + goQuote(v)
        }
        return s + "}"
    }
}

/// Double-quoted Go string literal, as `strconv.Quote` (the printer and error messages use it).
///
/// U+FFFD is written as `\ufffd`: in a Swift string it usually stands for bytes that were not
/// UTF-8 (`"\xff"` in the query), and PromQL refuses it written out literally, so this keeps the
/// printed query parseable.
public func goQuoteString(_ s: String) -> String {
    let quoted = goQuote(s)
    guard quoted.unicodeScalars.contains("\u{FFFD}") else { return quoted }
    var out = ""
    for scalar in quoted.unicodeScalars {
        if scalar == "\u{FFFD}" { out += "\\ufffd" } else { out.unicodeScalars.append(scalar) }
    }
    return out
}

/// Go-style double-quoted string with escapes.
public func goQuote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 || u.value == 0x7f {
                out += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

@usableFromInline
func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    LabelBlob.compareBytes(a, b) == 0
}

/// Accumulates labels in any order and produces a canonical `Labels`.
public struct LabelsBuilder {
    private var entries: [(name: [UInt8], value: [UInt8])] = []

    public init() {}

    public init(_ labels: Labels) {
        labels.forEachRaw { n, v in entries.append((Array(n), Array(v))) }
    }

    public mutating func set(_ name: String, _ value: String) {
        let n = Array(name.utf8)
        entries.removeAll { $0.name == n }
        entries.append((n, Array(value.utf8)))
    }

    public mutating func delete(_ name: String) {
        let n = Array(name.utf8)
        entries.removeAll { $0.name == n }
    }

    /// Labels with empty values are dropped, as in Prometheus.
    public func labels() -> Labels {
        let sorted = entries.filter { !$0.value.isEmpty }.sorted { $0.name.lexicographicallyPrecedes($1.name) }
        var out: [UInt8] = []
        out.reserveCapacity(sorted.reduce(0) { $0 + $1.name.count + $1.value.count + 4 })
        for e in sorted {
            LabelBlob.appendUvarint(&out, e.name.count); out += e.name
            LabelBlob.appendUvarint(&out, e.value.count); out += e.value
        }
        return Labels(canonicalBytes: out)
    }
}

/// Helpers for reading and writing the blob layout; used by decoders that build blobs in place.
public enum LabelBlob {
    @inlinable @inline(__always)
    public static func readUvarint(_ buf: UnsafeRawBufferPointer, _ i: inout Int) -> Int {
        var result = 0, shift = 0
        while true {
            let b = buf[i]; i += 1
            result |= Int(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    /// The number of labels in a canonical blob.
    public static func labelCount(_ blob: UnsafeRawBufferPointer) -> Int {
        var i = 0, n = 0
        while i < blob.count {
            let name = readUvarint(blob, &i)
            i += name
            let value = readUvarint(blob, &i)
            i += value
            n += 1
        }
        return n
    }

    /// Bounds-checked variant for blobs that may be malformed (validation, error messages).
    public static func readUvarintChecked(_ buf: UnsafeRawBufferPointer, _ i: inout Int) -> Int? {
        var result = 0, shift = 0
        while i < buf.count {
            let x = buf[i]; i += 1
            result |= Int(x & 0x7f) << shift
            if x < 0x80 { return result }
            shift += 7
            if shift > 28 { return nil }
        }
        return nil
    }

    @inlinable
    public static func appendUvarint(_ out: inout [UInt8], _ v: Int) {
        var x = UInt(v)
        while x >= 0x80 { out.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        out.append(UInt8(x))
    }

    /// `Labels.compare` on two blobs: pairwise by name then value, shorter set first on a tie.
    /// The common prefix is skipped in one pass; labels are parsed only up to where the blobs
    /// first differ (series of one metric share their first labels).
    @inlinable
    public static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count - b.count }
        let k = firstDifference(pa, pb, Swift.min(a.count, b.count))
        // Walk whole strings (length varint and bytes) that lie entirely before `k`: they are
        // equal in both blobs, and so are their lengths, so the walk stays in step.
        var i = 0
        while i < k {
            var next = i
            let l = readUvarint(a, &next)
            if next + l > k { break }
            i = next + l
        }
        // From `i` on, compare string by string as the slow path does.
        var j = i
        while i < a.count && j < b.count {
            let al = readUvarint(a, &i), bl = readUvarint(b, &j)
            let c = compareBytes(UnsafeRawBufferPointer(rebasing: a[i ..< i + al]), UnsafeRawBufferPointer(rebasing: b[j ..< j + bl]))
            if c != 0 { return c }
            i += al; j += bl
        }
        if i < a.count { return 1 }
        if j < b.count { return -1 }
        return 0
    }

    /// Index of the first byte where the `n`-byte buffers differ, or `n`.
    @inlinable
    public static func firstDifference(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
        var i = 0
        while i + 8 <= n {
            // Little-endian: the first byte in memory is the lowest.
            let x = a.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
            if x != 0 { return i + x.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n, a.load(fromByteOffset: i, as: UInt8.self) == b.load(fromByteOffset: i, as: UInt8.self) { i += 1 }
        return i
    }

    /// Bytewise comparison (Go string order): negative, zero or positive.
    @inlinable
    public static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmpRaw(pa, pb, n)
            if c != 0 { return c }
        }
        return a.count - b.count
    }

    @inlinable
    static func memcmpRaw(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
        var i = 0
        // 8 bytes at a time; byte-swap to compare in memory order.
        while i + 8 <= n {
            let x = a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let y = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if x != y {
                let bx = x.bigEndian, by = y.bigEndian
                return bx < by ? -1 : 1
            }
            i += 8
        }
        while i < n {
            let x = a.load(fromByteOffset: i, as: UInt8.self), y = b.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return 0
    }
}

