#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An exclusive lock on a data directory, as Prometheus' `lock` file: `flock` on `<dir>/lock`,
/// which then holds the owner's PID, so a second server (or an import) on the same directory is
/// refused with who holds it. The kernel drops the lock when its holder exits, however it exits,
/// so a crash never leaves a stale lock behind; the file itself stays.
public final class DirectoryLock: Sendable {
    public static let fileName = "lock"
    public let dir: String
    private let fd: Mutex<Int32>

    private init(dir: String, fd: Int32) {
        self.dir = dir
        self.fd = Mutex(fd)
    }

    /// Takes the lock of `dir` (which must exist), or says who holds it.
    public static func acquire(dir: String) throws(DirectoryLockError) -> DirectoryLock {
        let path = dir + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DirectoryLockError(dir: dir, holder: nil, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            let holder = readPID(fd)
            close(fd)
            throw DirectoryLockError(dir: dir, holder: holder, reason: e == EWOULDBLOCK ? nil : String(cString: strerror(e)))
        }
        var text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, &text, text.count, 0)
        return DirectoryLock(dir: dir, fd: fd)
    }

    /// Gives the lock up (also done when this object goes away or the process ends).
    public func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    deinit { release() }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[..<n].prefix(while: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), as: UTF8.self))
    }
}

public struct DirectoryLockError: Error, CustomStringConvertible, Sendable {
    public let dir: String
    /// The PID the lock file names, when another process holds the lock.
    public let holder: Int32?
    /// Why the lock could not be tried (nil: another process holds it).
    public let reason: String?

    public var description: String {
        if let reason { return "cannot lock data directory \(dir) (\(dir)/\(DirectoryLock.fileName)): \(reason)" }
        let who = holder.map { "process \($0)" } ?? "another process"
        return "data directory \(dir) is in use by \(who), which holds \(dir)/\(DirectoryLock.fileName)"
    }
}
