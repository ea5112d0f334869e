import Foundation
import StrataGoYAML
import Yams

/// Thanos' objstore configuration (`--objstore.config-file` / `--objstore.config`), parsed as
/// `thanos-io/objstore` parses it: the top level strictly (`type`, `config`, `prefix`; any other
/// key is an error), then the provider's `config` strictly and typed, nested structs included,
/// for S3, GCS and AZURE (`GoYAMLSchema`), and laxly for FILESYSTEM.
public struct ObjectStoreConfig: Sendable, Equatable {
    public enum Provider: Sendable, Equatable {
        case filesystem(directory: String)
        case s3([String: String])
        /// Their `config` maps, parsed and validated.
        case gcs([String: String]), azure([String: String])
    }

    public var provider: Provider
    public var prefix: String

    public init(provider: Provider, prefix: String = "") { self.provider = provider; self.prefix = prefix }

    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// Parses the YAML text of an objstore configuration: the top level and the provider's
    /// `config` against the typed shapes of `GoYAMLSchema` (strictly, as Thanos' yaml.v2
    /// `UnmarshalStrict`, except FILESYSTEM's lax `config`), then the provider's own rules on how
    /// options combine.
    public static func parse(_ yaml: String) throws -> ObjectStoreConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw Error("parsing objstore config: \(error)") }
        guard let root, root.mapping != nil else { throw Error("parsing objstore config: expected a mapping with `type` and `config`") }
        let top = try decode(root, as: .bucketConfig, "parsing objstore config")
        let type = top.string("type"), prefix = top.string("prefix")
        guard !type.isEmpty else { throw Error("parsing objstore config: missing `type`") }
        let config = top.nodes["config"] // nil when absent or null: the zero struct
        switch type.uppercased() {
        case "FILESYSTEM":
            let c = try decode(config, as: .filesystem, "parsing FILESYSTEM configuration")
            guard !c.string("directory").isEmpty else { throw Error("missing directory for filesystem bucket") }
            return ObjectStoreConfig(provider: .filesystem(directory: c.string("directory")), prefix: prefix)
        case "S3":
            let c = try decode(config, as: .s3, "parsing S3 configuration")
            if let problem = s3Problem(c) { throw Error(problem) }
            return ObjectStoreConfig(provider: .s3(backendMap(c)), prefix: prefix)
        case "GCS":
            let c = try decode(config, as: .gcs, "parsing GCS configuration")
            if let problem = gcsProblem(c) { throw Error(problem) }
            return ObjectStoreConfig(provider: .gcs(backendMap(c)), prefix: prefix)
        case "AZURE":
            let c = try decode(config, as: .azure, "parsing AZURE configuration")
            if let problem = azureProblem(c) { throw Error(problem) }
            return ObjectStoreConfig(provider: .azure(backendMap(c)), prefix: prefix)
        default:
            throw Error("unsupported objstore type \(type) (Strata supports FILESYSTEM, S3, GCS and AZURE)")
        }
    }

    /// `node` decoded against `schema`, or every problem found, in yaml.v2's words.
    private static func decode(_ node: Node?, as schema: GoYAMLSchema, _ what: String) throws -> DecodedFields {
        guard let node else { return DecodedFields() }
        var decoder = GoYAMLDecoder()
        let fields = decoder.decode(node, as: schema)
        guard decoder.errors.isEmpty else {
            throw Error("\(what): yaml: unmarshal errors:\n  " + decoder.errors.joined(separator: "\n  "))
        }
        return fields
    }

    /// The map the backends read (`c["insecure"]`, `c["part_size"]`): scalar fields as their
    /// canonical text, so `insecure: yes` reads `true` as Go reads it, and nested ones
    /// (`http_config`, `sse_config`, …) serialized back to YAML.
    private static func backendMap(_ fields: DecodedFields) -> [String: String] {
        var out = fields.scalars
        for (key, node) in fields.nodes where out[key] == nil { out[key] = (try? Yams.serialize(node: node)) ?? "" }
        return out
    }

    // MARK: - How options combine, per provider

    /// `providers/s3/s3.go`: `validate`, then what `NewBucketWithConfig` refuses before it talks to
    /// the endpoint (the TLS client files' pairing, the SSE type, the list version), in that order.
    /// Thanos stops at the first; so does this.
    static func s3Problem(_ c: DecodedFields) -> String? {
        let accessKey = c.string("access_key"), secretKey = c.string("secret_key")
        let sse = c.object("sse_config"), sseType = sse.string("type")
        // Thanos leaves a missing bucket to the first request; Strata says so at once.
        if c.string("bucket").isEmpty { return "missing s3 bucket in config" }
        if c.string("endpoint").isEmpty { return "no s3 endpoint in config file" }
        if c.bool("aws_sdk_auth") && !accessKey.isEmpty { return "aws_sdk_auth and access_key are mutually exclusive configurations" }
        if accessKey.isEmpty && !secretKey.isEmpty {
            return "no s3 access_key specified while secret_key is present in config file; either both should be present in config or envvars/IAM should be used."
        }
        if !accessKey.isEmpty && secretKey.isEmpty {
            return "no s3 secret_key specified while access_key is present in config file; either both should be present in config or envvars/IAM should be used."
        }
        if sseType == "SSE-C" && sse.string("encryption_key").isEmpty { return "encryption_key must be set if sse_config.type is set to 'SSE-C'" }
        if sseType == "SSE-KMS" && sse.string("kms_key_id").isEmpty { return "kms_key_id must be set if sse_config.type is set to 'SSE-KMS'" }
        if let problem = tlsProblem(c.object("http_config")) { return problem }
        if !sseType.isEmpty && !["SSE-KMS", "SSE-C", "SSE-S3"].contains(sseType) {
            return "Initialize s3 client SSE Config: Unsupported type \"\(sseType)\" was provided. Supported types are SSE-S3, SSE-KMS, SSE-C"
        }
        let listVersion = c.string("list_objects_version")
        if !listVersion.isEmpty && listVersion != "v1" && listVersion != "v2" {
            return "Initialize s3 client list objects version: Unsupported version \"\(listVersion)\" was provided. Supported values are v1, v2"
        }
        return nil
    }

    /// `providers/gcs/gcs.go` `NewBucketWithConfig`: the bucket, and the HTTP transport's TLS
    /// files, which Thanos builds only when it does not use gRPC.
    static func gcsProblem(_ c: DecodedFields) -> String? {
        if c.string("bucket").isEmpty { return "missing Google Cloud Storage bucket name for stored blocks" }
        return c.bool("use_grpc") ? nil : tlsProblem(c.object("http_config"))
    }

    /// `providers/azure/azure.go` `validate`, which reports every problem at once, joined by ", ";
    /// then the HTTP transport's TLS files (`helpers.go` `getContainerClient`).
    static func azureProblem(_ c: DecodedFields) -> String? {
        var problems: [String] = []
        let userAssigned = !c.string("user_assigned_id").isEmpty, accountKey = !c.string("storage_account_key").isEmpty
        let connectionString = !c.string("storage_connection_string").isEmpty
        let servicePrincipal = ["az_tenant_id", "client_id", "client_secret"].map { !c.string($0).isEmpty }
        if userAssigned && accountKey { problems.append("user_assigned_id cannot be set when using storage_account_key authentication") }
        if userAssigned && connectionString { problems.append("user_assigned_id cannot be set when using storage_connection_string authentication") }
        if userAssigned && servicePrincipal[1] { problems.append("user_assigned_id cannot be set when using client_id authentication") }
        if servicePrincipal.contains(true) && servicePrincipal.contains(false) {
            problems.append("az_tenant_id, client_id, and client_secret must be set together")
        }
        if accountKey && connectionString { problems.append("storage_account_key and storage_connection_string cannot both be set") }
        // Strata's words for these two, kept: they predate Thanos' current ones
        // ("storage_account_name is required but not configured", "no container specified").
        if c.string("storage_account").isEmpty { problems.append("no Azure storage_account specified while using Azure") }
        if c.string("container").isEmpty { problems.append("no Azure container specified while using Azure") }
        if c.object("pipeline_config").int("max_tries") < 0 {
            problems.append("The value of max_tries must be greater than or equal to 0 in the config file")
        }
        if c.object("reader_config").int("max_retry_requests") < 0 {
            problems.append("The value of max_retry_requests must be greater than or equal to 0 in the config file")
        }
        if !problems.isEmpty { return problems.joined(separator: ", ") }
        return tlsProblem(c.object("http_config"))
    }

    /// `exthttp/tlsconfig.go` `NewTLSConfig`: a client certificate needs its key, and the reverse.
    /// (Thanos also reads the files then; Strata does not use them, so nothing is read here.)
    static func tlsProblem(_ http: DecodedFields) -> String? {
        let tls = http.object("tls_config"), cert = tls.string("cert_file"), key = tls.string("key_file")
        if !cert.isEmpty && key.isEmpty { return "client cert file \"\(cert)\" specified without client key file" }
        if !key.isEmpty && cert.isEmpty { return "client key file \"\(key)\" specified without client cert file" }
        return nil
    }

    /// The provider's name, for logs (never its credentials).
    public var kind: String {
        switch provider {
        case .filesystem(let dir): return "filesystem " + dir
        case .s3(let c): return "s3 " + (c["endpoint"] ?? "") + "/" + (c["bucket"] ?? "")
        case .gcs(let c): return "gcs " + (c["bucket"] ?? "")
        case .azure(let c): return "azure " + (c["storage_account"] ?? "") + "/" + (c["container"] ?? "")
        }
    }

    /// The bucket this configuration describes (relative filesystem directories are taken from
    /// the working directory, as Thanos does).
    public func makeBucket() throws -> any Bucket {
        let bucket: any Bucket
        switch provider {
        case .filesystem(let dir): bucket = try FilesystemBucket(directory: dir)
        case .s3(let c): bucket = try S3Bucket(S3Bucket.Config(objstore: c))
        case .gcs(let c): bucket = try GCSBucket(GCSBucket.Config(objstore: c))
        case .azure(let c): bucket = try AzureBucket(AzureBucket.Config(objstore: c))
        }
        return prefix.isEmpty ? bucket : PrefixedBucket(bucket, prefix: prefix)
    }
}
