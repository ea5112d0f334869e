import Foundation
import Yams

/// Thanos' objstore configuration (`--objstore.config-file` / `--objstore.config`), parsed as
/// `thanos-io/objstore` parses it: the top level strictly (`type`, `config`, `prefix`; any other
/// key is an error), then the provider's `config` strictly for S3, GCS and AZURE and laxly for
/// FILESYSTEM.
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

    /// Keys each strict provider accepts (`providers/*/…go`'s yaml tags).
    static let s3Keys: Set<String> = [
        "bucket", "endpoint", "region", "disable_dualstack", "aws_sdk_auth", "access_key", "insecure",
        "signature_version2", "secret_key", "session_token", "put_user_metadata", "http_config", "trace",
        "list_objects_version", "bucket_lookup_type", "send_content_md5", "disable_multipart", "part_size",
        "sse_config", "sts_endpoint", "max_retries",
    ]
    static let gcsKeys: Set<String> = ["bucket", "service_account", "use_grpc", "grpc_conn_pool_size", "http_config", "chunk_size_bytes", "max_retries"]
    static let azureKeys: Set<String> = [
        "az_tenant_id", "client_id", "client_secret", "storage_account", "storage_account_key",
        "storage_connection_string", "storage_create_container", "container", "endpoint", "user_assigned_id",
        "max_retries", "reader_config", "pipeline_config", "http_config", "msi_resource",
    ]

    /// Parses the YAML text of an objstore configuration.
    public static func parse(_ yaml: String) throws -> ObjectStoreConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw Error("parsing objstore config: \(error)") }
        guard let top = root?.mapping else { throw Error("parsing objstore config: expected a mapping with `type` and `config`") }
        var type: String?, prefix = ""
        var config: Node.Mapping?
        for (k, v) in top {
            switch k.string {
            case "type": type = Self.string(v)
            case "prefix": prefix = Self.string(v) ?? ""
            case "config":
                if v.mapping == nil && !Self.isNull(v) { throw Error("parsing objstore config: `config` must be a mapping") }
                config = v.mapping
            default: throw Error("parsing objstore config: field \(k.string ?? "?") not found in type client.BucketConfig")
            }
        }
        guard let type, !type.isEmpty else { throw Error("parsing objstore config: missing `type`") }
        func strings(_ allowed: Set<String>?, _ what: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for (k, v) in config ?? [:] {
                let key = k.string ?? ""
                if let allowed, !allowed.contains(key) { throw Error("parsing \(what) configuration: field \(key) not found in type \(what.lowercased()).Config") }
                if Self.isNull(v) { continue } // `key: ~` is the key's zero value, as in Go
                out[key] = v.scalar?.string ?? (try? Yams.serialize(node: v)) ?? ""
            }
            return out
        }
        switch type.uppercased() {
        case "FILESYSTEM":
            let c = try strings(nil, "FILESYSTEM")
            guard let dir = c["directory"], !dir.isEmpty else { throw Error("missing directory for filesystem bucket") }
            return ObjectStoreConfig(provider: .filesystem(directory: dir), prefix: prefix)
        case "S3":
            let c = try strings(s3Keys, "S3")
            guard let b = c["bucket"], !b.isEmpty else { throw Error("missing s3 bucket in config") }
            guard let e = c["endpoint"], !e.isEmpty else { throw Error("no s3 endpoint in config file") }
            return ObjectStoreConfig(provider: .s3(c), prefix: prefix)
        case "GCS":
            let c = try strings(gcsKeys, "GCS")
            guard let b = c["bucket"], !b.isEmpty else { throw Error("missing Google Cloud Storage bucket name for stored blocks") }
            return ObjectStoreConfig(provider: .gcs(c), prefix: prefix)
        case "AZURE":
            let c = try strings(azureKeys, "AZURE")
            guard (c["storage_account"] ?? "").isEmpty == false else { throw Error("no Azure storage_account specified while using Azure") }
            guard (c["container"] ?? "").isEmpty == false else { throw Error("no Azure container specified while using Azure") }
            return ObjectStoreConfig(provider: .azure(c), prefix: prefix)
        default:
            throw Error("unsupported objstore type \(type) (Strata supports FILESYSTEM, S3, GCS and AZURE)")
        }
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

    /// YAML's null (`~`, `null`, an empty value), which Go decodes to a field's zero value.
    static func isNull(_ n: Node) -> Bool {
        guard let s = n.scalar, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func string(_ n: Node) -> String? { isNull(n) ? nil : n.string }

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
