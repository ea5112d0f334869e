import Foundation

/// Runs external programs (promtool, prometheus) for tests that compare against the real thing.
public enum Tools {
    public struct RunResult: Sendable {
        public let status: Int32
        public var killedBySignal = false
        public let stdout: String
        public let stderr: String
    }

    /// Absolute path of an executable on PATH (or the usual Debian locations), or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for dir in dirs {
            let p = dir + "/" + name
            var isDir: ObjCBool = false
            if access(p, X_OK) == 0, FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { return p }
        }
        return nil
    }

    /// True when running under CI (`CI=true`), where a missing tool is a failure, not a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs a program to completion, capturing its output.
    /// `run` on a dispatch thread: tests that talk to an in-process server must not block Swift's
    /// cooperative threads (the server needs them to answer), or the two can deadlock.
    public static func runAsync(_ executable: String, _ args: [String], timeout: TimeInterval = 120,
                                environment: [String: String] = [:]) async throws -> RunResult {
        try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global().async {
                do { cont.resume(returning: try run(executable, args, timeout: timeout, environment: environment)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// `environment` is added to this process's. `status` is the exit code, or the signal's
    /// number when `killedBySignal`.
    public static func run(_ executable: String, _ args: [String], timeout: TimeInterval = 120,
                           environment: [String: String] = [:]) throws -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Drain both pipes concurrently so a chatty program cannot block on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let g = DispatchGroup()
        for (pipe, sink) in [(outPipe, outData), (errPipe, errData)] {
            g.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                g.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        g.wait()
        return RunResult(status: p.terminationStatus, killedBySignal: p.terminationReason == .uncaughtSignal,
                         stdout: String(decoding: outData.get(), as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    /// A free TCP port on 127.0.0.1, for programs that cannot report the port they bound
    /// themselves. Drawn at random below Linux's ephemeral range (32768+), so no listener bound
    /// to port 0 and no client connection of a parallel test can take it before the program
    /// binds it; checked free by binding it once.
    public static func freePort() throws -> Int {
        for _ in 0 ..< 200 {
            let port = Int.random(in: 20_000 ..< 32_768)
            if canBind(port) { return port }
        }
        throw POSIXError(.EADDRINUSE)
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A long-running child process (e.g. a real Prometheus) that is killed when stopped.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public let logPath: String

    public init(_ executable: String, _ args: [String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// `stop()` on a dispatch thread: waiting for a server's graceful shutdown must not hold one
    /// of Swift's few cooperative threads, which the in-process servers of other tests answer on.
    public func stopAsync() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { self.stop(); c.resume() }
        }
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
