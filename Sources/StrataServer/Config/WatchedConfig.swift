#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// A configuration read from a file, and read again when the file or one of the files it names
/// changes: they are looked at (a `stat` each) at most once a second, when the value is asked for.
/// A change that does not load keeps the last good value and is logged once; the start, though,
/// fails on a file that does not load.
final class WatchedConfig<Value: Sendable>: Sendable {
    /// The value, and the other files it was read from (certificates a web config names).
    typealias Load = @Sendable (_ path: String) throws -> (value: Value, files: [String])

    private struct State {
        var value: Value
        var files: [String]
        var signatures: [FileSignature]
        var checked: ContinuousClock.Instant
    }

    let path: String
    private let what: String
    private let load: Load
    private let state: Mutex<State>
    private let logger: Logger
    static var checkInterval: Duration { .seconds(1) }

    /// Loads `path` now (`what` names it in logs: "web config", "limits config").
    init(path: String, what: String, logger: Logger, load: @escaping Load) throws {
        self.path = path
        self.what = what
        self.logger = logger
        self.load = load
        // Signatures first: a file replaced while it is read is read again at the next check.
        let before = FileSignature(path)
        let (value, files) = try load(path)
        state = Mutex(State(value: value, files: files, signatures: [before] + files.map(FileSignature.init), checked: .now))
    }

    /// The value to use now.
    func current() -> Value {
        state.withLock { s in
            let now = ContinuousClock.now
            guard now - s.checked >= Self.checkInterval else { return s.value }
            s.checked = now
            let signatures = ([path] + s.files).map(FileSignature.init)
            guard signatures != s.signatures else { return s.value }
            // Not retried until a file changes again: one log line per bad edit.
            s.signatures = signatures
            do {
                let (value, files) = try load(path)
                s.value = value
                s.files = files
                s.signatures = ([path] + files).map(FileSignature.init)
                logger.info("\(what) reloaded", metadata: ["file": "\(path)"])
            } catch {
                logger.error("\(what) not reloaded; the previous one stays in force", metadata: ["file": "\(path)", "err": "\(error)"])
            }
            return s.value
        }
    }
}

/// What tells a changed file from an unchanged one without reading it.
struct FileSignature: Equatable, Sendable {
    var device: UInt64 = 0, inode: UInt64 = 0, size: Int64 = -1, mtimeSec = 0, mtimeNsec = 0

    init(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtimeSec = Int(st.st_mtim.tv_sec); mtimeNsec = Int(st.st_mtim.tv_nsec)
    }
}
