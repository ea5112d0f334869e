import Foundation

/// moto's S3-compatible server (`python3 -m moto.server`, from PyPI's `moto[server]`) on a loopback port,
/// for tests of the S3 bucket against a real S3 API. With `authActions`, moto checks SigV4
/// signatures against its IAM users after the first `authActions` requests (which create them).
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    public let process: Process
    private let log: String

    public var endpoint: String { "127.0.0.1:\(port)" }

    /// Nil when moto (or boto3) is not installed.
    public static func start(authActions: Int? = nil) throws -> MotoServer? {
        // The Python that has moto (the one scripts/bootstrap.sh installed it into).
        guard let python = Tools.which("python3"), (try? Tools.run(python, ["-c", "import moto.server, boto3"], timeout: 60))?.status == 0 else {
            return nil
        }
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        var env = ProcessInfo.processInfo.environment
        if let authActions { env["INITIAL_NO_AUTH_ACTION_COUNT"] = String(authActions) }
        p.environment = env
        let log = FileManager.default.temporaryDirectory.path + "/moto-\(port).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = FileHandle(forWritingAtPath: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        let server = MotoServer(port: port, process: p, log: log)
        // Ready once it answers HTTP.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? Tools.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/moto-api/"], timeout: 5))?.status == 0 { return server }
            usleep(100_000)
        }
        server.stop()
        throw NSError(domain: "moto", code: 1, userInfo: [NSLocalizedDescriptionKey: "moto_server did not start: \(server.output)"])
    }

    private init(port: Int, process: Process, log: String) { self.port = port; self.process = process; self.log = log }

    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Stops the server and whatever it started (the pyenv shim may run Python as a child).
    /// Polls rather than `waitUntilExit`, which spins on Linux when nothing else runs its loop.
    public func stop() {
        _ = try? Tools.run("/usr/bin/pkill", ["-TERM", "-f", "moto.server -H 127.0.0.1 -p \(port)$"], timeout: 10)
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: log)
    }

    /// Runs a Python snippet with boto3 against this server (to create IAM users and buckets).
    public func boto3(_ script: String) throws -> Tools.RunResult {
        let prelude = """
        import boto3, json, sys
        endpoint = "http://\(endpoint)"
        def client(service, key="testing", secret="testing"):
            return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id=key, aws_secret_access_key=secret)

        """
        let file = FileManager.default.temporaryDirectory.path + "/moto-\(UUID().uuidString).py"
        try (prelude + script).write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try Tools.run(Tools.which("python3") ?? "/usr/bin/python3", [file], timeout: 60)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NSError(domain: "moto", code: 2, userInfo: [NSLocalizedDescriptionKey: "no free port"]) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
