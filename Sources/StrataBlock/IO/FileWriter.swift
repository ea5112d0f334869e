#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataStorage

/// A buffered, append-only file writer that knows its position, pads to alignments and fsyncs on
/// close. Block files (index, chunk segments, tombstones) are written through it.
public final class FileWriter {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Bytes written so far, buffered or not: the offset the next byte will have in the file.
    private(set) var position = 0

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystem.error("create \(path)") }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        position += bytes.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        position += bytes.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    public func pad(to alignment: Int) throws {
        let r = position % alignment
        if r != 0 { try write([UInt8](repeating: 0, count: alignment - r)) }
    }

    public func flush() throws {
        try buffer.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = Glibc.write(fd, p.baseAddress! + off, p.count - off)
                if n < 0 { if errno == EINTR { continue }; throw FileSystem.error("write \(path)") }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Overwrites bytes already flushed or buffered at `offset` (for length fields known late).
    public func patch(at offset: Int, _ bytes: [UInt8]) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw FileSystem.error("write \(path)") }
    }

    /// Flushes, fsyncs and closes. The file is durable once this returns.
    public func close() throws {
        try flush()
        guard fsync(fd) == 0 else { throw FileSystem.error("fsync \(path)") }
        let rc = Glibc.close(fd)
        fd = -1 // never closed twice, even when close failed
        guard rc == 0 else { throw FileSystem.error("close \(path)") }
    }
}

/// A read-only memory map that stays open while the object lives: the `ByteSource` of a local
/// block's index and chunk segments. Whoever holds a pointer into `bytes` also holds the map.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystem.error("open \(path)") }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystem.error("stat \(path)") }
        let n = Int(st.st_size)
        if n == 0 { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
        guard let p = mmap(nil, n, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { throw FileSystem.error("mmap \(path)") }
        bytes = UnsafeRawBufferPointer(start: p, count: n)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
