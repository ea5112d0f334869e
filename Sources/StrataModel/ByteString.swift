/// A String that is equal to another, and hashes, by its UTF-8 bytes only.
///
/// Swift's `String ==` treats canonically equivalent Unicode as equal ("é" as one code point and
/// as "e" plus a combining accent), and `Set<String>`/`[String: _]` fold such values together.
/// Prometheus compares label names and values as Go strings, byte by byte, so two such values are
/// two different series; every set or dictionary keyed by a label name or value uses this type.
public struct ByteString: Hashable, Sendable {
    public let string: String

    @inlinable public init(_ string: String) { self.string = string }

    @inlinable
    public static func == (a: ByteString, b: ByteString) -> Bool {
        let fast = a.string.utf8.withContiguousStorageIfAvailable { x in
            b.string.utf8.withContiguousStorageIfAvailable { y in x.elementsEqual(y) }
        }
        if let fast, let equal = fast { return equal }
        return a.string.utf8.elementsEqual(b.string.utf8)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        // One path for every string, so equal bytes always hash alike.
        if let done: Void = string.utf8.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        Array(string.utf8).withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension Sequence where Element == String {
    /// Sorted in Go's string order (bytewise UTF-8), not Swift's Unicode order.
    public func sortedBytewise() -> [String] { sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    /// Sorted bytewise with byte-identical repeats removed (and canonically equivalent but
    /// different values kept, which a `Set<String>` would fold).
    public func uniqueSortedBytewise() -> [String] {
        var out = sortedBytewise()
        var w = 0
        for r in out.indices where r == 0 || !out[r].utf8.elementsEqual(out[w - 1].utf8) {
            out[w] = out[r]
            w += 1
        }
        out.removeLast(out.count - w)
        return out
    }
}
