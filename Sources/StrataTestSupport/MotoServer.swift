import Foundation

/// moto's S3-compatible server (`python3 -m moto.server`, from PyPI's `moto[server]`) on a loopback port,
/// for tests of the S3 bucket against a real S3 API. With `authActions`, moto checks SigV4
/// signatures against its IAM users after the first `authActions` requests (which create them).
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    private let server: PythonServer
    private let python: String

    public var endpoint: String { "127.0.0.1:\(port)" }
    public var process: Process { server.process }
    public var output: String { server.output }

    /// Nil when moto (or boto3) is not installed. `port` restarts a server where a stopped one was.
    public static func start(authActions: Int? = nil, port: Int? = nil) throws -> MotoServer? {
        guard let python = PythonServer.interpreter(importing: ["moto.server", "boto3"]) else { return nil }
        let port = try port ?? Tools.freePort()
        let server = try PythonServer(python: python, .module("moto.server"), arguments: ["-H", "127.0.0.1", "-p", String(port)],
                                      environment: authActions.map { ["INITIAL_NO_AUTH_ACTION_COUNT": String($0)] } ?? [:], name: "moto")
        let moto = MotoServer(port: port, server: server, python: python)
        guard server.wait(until: { PythonServer.answers("http://127.0.0.1:\(port)/moto-api/") }) else {
            let output = server.output
            server.stop()
            throw NSError(domain: "moto", code: 1, userInfo: [NSLocalizedDescriptionKey: "moto_server did not start: \(output)"])
        }
        return moto
    }

    private init(port: Int, server: PythonServer, python: String) { self.port = port; self.server = server; self.python = python }

    public func stop() { server.stop() }

    /// SIGKILL: the server dies mid-request, as in a crash (its in-memory buckets go with it).
    public func kill9() { server.kill9() }

    /// On a server started with `authActions: 3`: an IAM user allowed everything, with a bucket
    /// `bucket` made with its key (the three unchecked requests). Returns its key and secret.
    public func createUser(withBucket bucket: String) throws -> (key: String, secret: String) {
        let r = try boto3("""
        iam = client("iam")
        iam.create_user(UserName="strata")
        key = iam.create_access_key(UserName="strata")["AccessKey"]
        iam.put_user_policy(UserName="strata", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        client("s3", key["AccessKeyId"], key["SecretAccessKey"]).create_bucket(Bucket="\(bucket)")
        print(key["AccessKeyId"], key["SecretAccessKey"])
        """)
        let parts = r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard r.status == 0, parts.count == 2 else {
            throw NSError(domain: "moto", code: 3, userInfo: [NSLocalizedDescriptionKey: "creating an IAM user: \(r.stderr)"])
        }
        return (parts[0], parts[1])
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
        return try Tools.run(python, [file], timeout: 60)
    }
}
