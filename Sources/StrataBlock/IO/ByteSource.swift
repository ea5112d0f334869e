import StrataStorage

/// The bytes of one file that a reader addresses by offset, as Prometheus' `index.ByteSlice`:
/// a memory map for local blocks, ranged reads of an object for blocks in a bucket. Readers ask
/// for the ranges they need and never hold a pointer past the call.
public protocol ByteSource: Sendable {
    /// Total length in bytes.
    var count: Int { get }
    /// What the bytes are (a path or object name), for error messages.
    var name: String { get }
    /// Calls `body` with the bytes in `range`, which must lie within `0..<count`. Calls may nest
    /// (a reader decoding a series looks up its symbols); errors a source throws should be
    /// `StorageError`s (`io` for a failed read), which readers pass on with their kind.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
}

extension ByteSource {
    /// `withBytes` after checking that `range` lies inside the source (a damaged offset is a
    /// corrupt file, not a crash).
    @inlinable
    public func withChecked<R>(_ range: Range<Int>, _ what: @autoclosure () -> String,
                               _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw StorageError(.corrupt, "\(name): \(what()) at \(range.lowerBound)..<\(range.upperBound) lies outside the file (\(count) bytes)")
        }
        return try withBytes(range, body)
    }
}

/// Bytes already in memory (tests, and a source a caller has downloaded whole).
public struct InMemoryBytes: ByteSource {
    public let bytes: [UInt8]
    public let name: String
    public init(_ bytes: [UInt8], name: String = "memory") { self.bytes = bytes; self.name = name }
    public var count: Int { bytes.count }
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}

extension MappedFile: ByteSource {
    public var count: Int { bytes.count }
    public var name: String { path }
    @inlinable
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}
