import StrataGoYAML

// MARK: - The shapes, from thanos-io/objstore

extension GoYAMLSchema {
    /// `client/factory.go` `BucketConfig`.
    static let bucketConfig = GoYAMLSchema(goType: "client.BucketConfig", fields: [
        "type": .string(goType: "objstore.ObjProvider"), "config": .any, "prefix": .string(),
    ])

    /// `providers/filesystem/filesystem.go` `Config`, decoded laxly there.
    static let filesystem = GoYAMLSchema(goType: "filesystem.Config", fields: ["directory": .string()], strict: false)

    /// `exthttp/tlsconfig.go` `TLSConfig`.
    static let tls = GoYAMLSchema(goType: "exthttp.TLSConfig", fields: [
        "ca_file": .string(), "cert_file": .string(), "key_file": .string(), "server_name": .string(),
        "insecure_skip_verify": .bool,
    ])

    /// `exthttp/transport.go` `HTTPConfig` (its `Transport` is `yaml:"-"`, so no key).
    static let http = GoYAMLSchema(goType: "exthttp.HTTPConfig", fields: [
        "idle_conn_timeout": .duration, "response_header_timeout": .duration, "insecure_skip_verify": .bool,
        "tls_handshake_timeout": .duration, "expect_continue_timeout": .duration,
        "max_idle_conns": .int(.int), "max_idle_conns_per_host": .int(.int), "max_conns_per_host": .int(.int),
        "tls_config": .object(tls), "disable_compression": .bool,
    ])

    /// `providers/s3/s3.go` `Config`, `SSEConfig`, `TraceConfig` and `BucketLookupType`.
    static let s3 = GoYAMLSchema(goType: "s3.Config", fields: [
        "bucket": .string(), "endpoint": .string(), "region": .string(), "disable_dualstack": .bool,
        "aws_sdk_auth": .bool, "access_key": .string(), "insecure": .bool, "signature_version2": .bool,
        "secret_key": .string(), "session_token": .string(), "put_user_metadata": .stringMap,
        "http_config": .object(http),
        "trace": .object(GoYAMLSchema(goType: "s3.TraceConfig", fields: ["enable": .bool])),
        "list_objects_version": .string(),
        "bucket_lookup_type": .oneOf(goType: "s3.BucketLookupType", allowed: ["auto", "virtual-hosted", "path"],
                                     message: "unsupported bucket lookup type: "),
        "send_content_md5": .bool, "disable_multipart": .bool, "part_size": .int(.uint64),
        "sse_config": .object(GoYAMLSchema(goType: "s3.SSEConfig", fields: [
            "type": .string(), "kms_key_id": .string(), "kms_encryption_context": .stringMap, "encryption_key": .string(),
        ])),
        "sts_endpoint": .string(), "max_retries": .int(.int),
    ])

    /// `providers/gcs/gcs.go` `Config` (its `noAuth` is unexported, so `no_auth` is no key).
    static let gcs = GoYAMLSchema(goType: "gcs.Config", fields: [
        "bucket": .string(), "service_account": .string(), "use_grpc": .bool, "grpc_conn_pool_size": .int(.int),
        "http_config": .object(http), "chunk_size_bytes": .int(.int), "max_retries": .int(.int),
    ])

    /// `providers/azure/azure.go` `Config`, `ReaderConfig`, `PipelineConfig`.
    static let azure = GoYAMLSchema(goType: "azure.Config", fields: [
        "az_tenant_id": .string(), "client_id": .string(), "client_secret": .string(), "storage_account": .string(),
        "storage_account_key": .string(), "storage_connection_string": .string(), "storage_create_container": .bool,
        "container": .string(), "endpoint": .string(), "user_assigned_id": .string(), "max_retries": .int(.int),
        "reader_config": .object(GoYAMLSchema(goType: "azure.ReaderConfig", fields: ["max_retry_requests": .int(.int)])),
        "pipeline_config": .object(GoYAMLSchema(goType: "azure.PipelineConfig", fields: [
            "max_tries": .int(.int32), "try_timeout": .duration, "retry_delay": .duration, "max_retry_delay": .duration,
        ])),
        "http_config": .object(http), "msi_resource": .string(),
    ])
}

