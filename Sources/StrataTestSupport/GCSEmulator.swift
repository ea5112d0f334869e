import Foundation

/// PyPI's `gcp-storage-emulator` (the GCS JSON API, in memory) on a loopback port, for tests of
/// the GCS bucket against a real server. It checks no credentials.
public final class GCSEmulator: @unchecked Sendable {
    public let port: Int
    private let server: PythonServer

    /// What `STORAGE_EMULATOR_HOST` is set to for this emulator.
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    public var output: String { server.output }

    /// Nil when the emulator is not installed for python3.
    public static func start() throws -> GCSEmulator? {
        guard let python = PythonServer.interpreter(importing: ["gcp_storage_emulator"]) else { return nil }
        let port = try Tools.freePort()
        let server = try PythonServer(python: python, .module("gcp_storage_emulator"),
                                      arguments: ["start", "--host", "127.0.0.1", "--port", String(port), "--in-memory"], name: "gcs-emulator")
        let emulator = GCSEmulator(port: port, server: server)
        // Ready once its health check (`GET /`) answers.
        guard server.wait(until: { PythonServer.answers(emulator.endpoint + "/") }) else {
            let output = server.output
            server.stop()
            throw NSError(domain: "gcs-emulator", code: 1, userInfo: [NSLocalizedDescriptionKey: "gcp_storage_emulator did not start: \(output)"])
        }
        return emulator
    }

    private init(port: Int, server: PythonServer) { self.port = port; self.server = server }

    public func stop() { server.stop() }

    /// Creates a bucket through the JSON API (`POST /storage/v1/b`).
    public func createBucket(_ name: String) throws {
        let r = try Tools.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                "-H", "Content-Type: application/json", "-d", #"{"name":"\#(name)"}"#,
                                                endpoint + "/storage/v1/b?project=test"], timeout: 30)
        guard r.status == 0, r.stdout == "200" else {
            throw NSError(domain: "gcs-emulator", code: 2, userInfo: [NSLocalizedDescriptionKey: "creating bucket \(name): HTTP \(r.stdout) \(r.stderr)"])
        }
    }
}
