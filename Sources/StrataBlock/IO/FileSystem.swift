#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataStorage

/// Small POSIX file helpers: the storage code needs fsync and exact control, not Foundation.
public enum FileSystem {
    /// The failed system call `what` as a storage error, typed by `errno`: a missing file is
    /// `notFound`, anything else (ENOSPC, EIO, EACCES) `io`.
    public static func error(_ what: String) -> StorageError {
        let code = errno
        return StorageError(code == ENOENT ? .notFound : .io, "\(what): \(String(cString: strerror(code)))")
    }

    public static func mkdirAll(_ path: String) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o777) != 0 && errno != EEXIST { throw error("mkdir \(built)") }
        }
    }

    public static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { throw error("open directory \(dir)") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The directory `path` is in (`a/b/c` → `a/b`, `c` → `.`).
    public static func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }

    public static func size(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw error("stat \(path)") }
        return Int(st.st_size)
    }

    /// fsync a directory so a created or renamed entry survives a power loss.
    public static func syncDir(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open directory \(dir)") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw error("fsync directory \(dir)") }
    }

    public static func truncate(_ path: String, to size: Int) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open \(path)") }
        defer { close(fd) }
        if ftruncate(fd, off_t(size)) != 0 { throw error("truncate \(path)") }
        if fsync(fd) != 0 { throw error("fsync \(path)") }
    }

    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw error("remove \(path)") }
    }

    /// Read-only memory map of a whole file; `body` gets its bytes. Empty files map to an empty buffer.
    public static func withMappedFile<T>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error("stat \(path)") }
        let n = Int(st.st_size)
        if n == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard let p = mmap(nil, n, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { throw error("mmap \(path)") }
        defer { munmap(p, n) }
        madvise(p, n, MADV_SEQUENTIAL)
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }

    /// Lets the whole pages of a `withMappedFile` buffer in `range` (bytes already read) leave the
    /// process' memory: a reader going through a large file once keeps only what it has not read
    /// yet resident. The bytes stay readable (they are read from the file again).
    public static func dropMappedPages(_ buf: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard let base = buf.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page, end = min(range.upperBound, buf.count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED) }
    }
}

extension FileSystem {
    public static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw error("rename \(from) to \(to)") }
    }

    /// Removes a file or a directory tree (no symlinks are followed).
    public static func removeAll(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { if errno == ENOENT { return }; throw error("stat \(path)") }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in try list(path) { try removeAll(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw error("remove \(path)") }
        } else {
            try remove(path)
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// fsync a file by path.
    public static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open \(path)") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw error("fsync \(path)") }
    }
}

extension FileSystem {
    /// A hard link: the snapshot of an immutable file without copying it.
    public static func link(_ from: String, _ to: String) throws {
        guard Glibc.link(from, to) == 0 else { throw error("link \(from) to \(to)") }
    }
}
