import Foundation

/// A Python program from PyPI or the test tree run as a test server (moto, the GCS emulator,
/// the Azure fixture): started by the interpreter itself, not a pyenv shim, so the process
/// stopped is the server; with the signal mask cleared, because the test runner blocks SIGTERM
/// and children inherit that; its output kept in a log for failure messages.
public final class PythonServer: @unchecked Sendable {
    public let process: Process
    private let log: String

    /// The interpreter that can import every one of `modules`, or nil (not installed).
    public static func interpreter(importing modules: [String]) -> String? {
        guard let shim = Tools.which("python3"),
              let probe = try? Tools.run(shim, ["-c", "import sys, \(modules.joined(separator: ", ")); print(sys.executable)"], timeout: 60),
              probe.status == 0 else { return nil }
        let python = probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return python.isEmpty ? shim : python
    }

    public enum Program {
        /// `python -m module`.
        case module(String)
        /// `python path`.
        case script(String)
    }

    public init(python: String, _ program: Program, arguments: [String], environment: [String: String] = [:], name: String) throws {
        let unmask = "import runpy, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
        let run: String
        switch program {
        case .module(let m): run = "sys.argv[0] = '\(m)'; runpy.run_module('\(m)', run_name='__main__', alter_sys=True)"
        case .script(let path): run = "sys.argv[0] = \(Self.pythonString(path)); runpy.run_path(sys.argv[0], run_name='__main__')"
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", unmask + run] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        log = FileManager.default.temporaryDirectory.path + "/\(name)-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let h = FileHandle(forWritingAtPath: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        try? h?.close() // the child has its own copy
        process = p
    }

    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Polls `ready` until it holds (true), the process exits or `timeout` passes (false).
    public func wait(timeout: TimeInterval = 30, until ready: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if ready() { return true }
            usleep(100_000)
        }
        return false
    }

    /// Whether `url` answers 2xx now.
    public static func answers(_ url: String) -> Bool {
        (try? Tools.run("/usr/bin/curl", ["-sf", "-o", "/dev/null", url], timeout: 5))?.status == 0
    }

    /// SIGTERM, then SIGKILL if it is still there after 5 s. Polls rather than
    /// `waitUntilExit`, which spins on Linux when nothing else runs its loop.
    public func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: log)
    }

    /// SIGKILL at once: a crash, for fault tests.
    public func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { usleep(10_000) }
    }

    static func pythonString(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
