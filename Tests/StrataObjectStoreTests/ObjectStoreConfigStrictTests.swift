import Testing
@testable import StrataObjectStore

/// The objstore YAML as thanos-io/objstore decodes it (yaml.v2 `UnmarshalStrict` into typed
/// structs, nested ones included), and the providers' rules on how options combine.
@Suite struct ObjectStoreConfigStrictTests {
    static func s3(_ body: String) -> String { "type: S3\nconfig:\n  bucket: b\n  endpoint: e\n" + body }
    static func gcs(_ body: String) -> String { "type: GCS\nconfig:\n  bucket: b\n" + body }
    static func azure(_ body: String) -> String { "type: AZURE\nconfig:\n  storage_account: a\n  container: c\n" + body }

    static func expectFailure(_ yaml: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let parsed = try ObjectStoreConfig.parse(yaml)
            Issue.record("parsed, expected an error with \(fragment): \(parsed)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }

    static func s3Map(_ yaml: String) throws -> [String: String] {
        guard case .s3(let c) = try ObjectStoreConfig.parse(yaml).provider else { throw ObjectStoreConfig.Error("not S3") }
        return c
    }

    // MARK: valid configurations

    @Test func fullS3ConfigParses() throws {
        let c = try Self.s3Map("""
        type: S3
        config:
          bucket: thanos
          endpoint: s3.eu-west-1.amazonaws.com
          region: eu-west-1
          disable_dualstack: false
          aws_sdk_auth: false
          access_key: AKIA
          secret_key: secret
          session_token: token
          insecure: false
          signature_version2: false
          put_user_metadata:
            X-Amz-Storage-Class: STANDARD_IA
            team: obs
          http_config:
            idle_conn_timeout: 1m30s
            response_header_timeout: 2m
            insecure_skip_verify: false
            tls_handshake_timeout: 10s
            expect_continue_timeout: 1s
            max_idle_conns: 100
            max_idle_conns_per_host: 100
            max_conns_per_host: 0
            disable_compression: true
            tls_config:
              ca_file: /certs/ca.crt
              cert_file: /certs/client.crt
              key_file: /certs/client.key
              server_name: s3.internal
              insecure_skip_verify: false
          trace:
            enable: true
          list_objects_version: v2
          bucket_lookup_type: virtual-hosted
          send_content_md5: true
          disable_multipart: false
          part_size: 134217728
          sse_config:
            type: SSE-KMS
            kms_key_id: alias/thanos
            kms_encryption_context:
              app: thanos
          sts_endpoint: https://sts.amazonaws.com
          max_retries: 3
        prefix: tenant-a
        """)
        #expect(c["bucket"] == "thanos" && c["bucket_lookup_type"] == "virtual-hosted" && c["part_size"] == "134217728")
        #expect(c["insecure"] == "false" && c["max_retries"] == "3" && c["list_objects_version"] == "v2")
        // Nested structs reach the backend as YAML, as before.
        #expect(c["http_config"]?.contains("ca_file: /certs/ca.crt") == true)
        #expect(c["sse_config"]?.contains("kms_key_id: alias/thanos") == true)
        #expect(c["trace"]?.contains("enable: true") == true)
    }

    /// Scalars reach the backends as Go reads them: YAML 1.1 booleans, Go integer syntax.
    @Test func scalarsAreCanonical() throws {
        let c = try Self.s3Map(Self.s3("  insecure: yes\n  disable_multipart: Off\n  part_size: 0x4000000\n  max_retries: 1_0\n  region: 2\n"))
        #expect(c["insecure"] == "true" && c["disable_multipart"] == "false")
        #expect(c["part_size"] == "67108864" && c["max_retries"] == "10")
        #expect(c["region"] == "2") // a Go string takes any scalar, as written
        // yaml.v2 puts a float into an integer field when it fits (truncated), and reads `010` as octal.
        let f = try Self.s3Map(Self.s3("  part_size: 1e8\n  max_retries: 010\n"))
        #expect(f["part_size"] == "100000000" && f["max_retries"] == "8")
    }

    @Test func nullsAreZeroValuesAtAnyDepth() throws {
        let c = try Self.s3Map(Self.s3("  http_config:\n    idle_conn_timeout: ~\n    tls_config:\n  sse_config: ~\n  insecure: null\n"))
        #expect(c["insecure"] == nil && c["sse_config"] == nil && c["http_config"] != nil)
    }

    @Test func mergeKeysApplyAsInYAML() throws {
        let c = try Self.s3Map("""
        type: S3
        config:
          <<: &base
            bucket: base
            endpoint: e
            insecure: true
          bucket: override
        """)
        #expect(c["bucket"] == "override" && c["insecure"] == "true" && c["endpoint"] == "e")
        Self.expectFailure("type: S3\nconfig:\n  <<: {bucket: b, endpoint: e, insecur: true}\n", "field insecur not found in type s3.Config")
    }

    @Test(arguments: ["0", "90s", "1m30s", "2h", "1d", "2w", "1y", "500ms", "1h30m15s250ms"])
    func prometheusDurations(_ d: String) throws {
        _ = try ObjectStoreConfig.parse(Self.s3("  http_config:\n    idle_conn_timeout: \(d)\n"))
    }

    // MARK: unknown keys, at any depth

    @Test(arguments: [
        (s3("  http_config:\n    idle_conn_timout: 90s\n"), "line 6: field idle_conn_timout not found in type exthttp.HTTPConfig"),
        (s3("  http_config:\n    tls_config:\n      ca: x\n"), "field ca not found in type exthttp.TLSConfig"),
        (s3("  sse_config:\n    type: SSE-KMS\n    kms_key: k\n"), "field kms_key not found in type s3.SSEConfig"),
        (s3("  trace:\n    enabled: true\n"), "field enabled not found in type s3.TraceConfig"),
        (s3("  http_config:\n    transport: x\n"), "field transport not found in type exthttp.HTTPConfig"),
        (gcs("  http_config:\n    tls_config:\n      server: x\n"), "field server not found in type exthttp.TLSConfig"),
        (gcs("  no_auth: true\n"), "field no_auth not found in type gcs.Config"),
        (azure("  pipeline_config:\n    max_retries: 3\n"), "field max_retries not found in type azure.PipelineConfig"),
        (azure("  reader_config:\n    max_retries: 3\n"), "field max_retries not found in type azure.ReaderConfig"),
        (azure("  http_config:\n    idle_timeout: 1m\n"), "field idle_timeout not found in type exthttp.HTTPConfig"),
    ])
    func unknownNestedKeysAreNamed(yaml: String, message: String) {
        Self.expectFailure(yaml, message)
    }

    // MARK: values of the wrong type

    @Test(arguments: [
        (s3("  insecure: maybe\n"), "line 5: cannot unmarshal !!str `maybe` into bool (field insecure in type s3.Config)"),
        (s3("  insecure: \"true\"\n"), "cannot unmarshal !!str `true` into bool (field insecure"),
        (s3("  part_size: big\n"), "cannot unmarshal !!str `big` into uint64 (field part_size in type s3.Config)"),
        (s3("  part_size: -1\n"), "cannot unmarshal !!int `-1` into uint64 (field part_size"),
        (s3("  max_retries: 18446744073709551615\n"), "cannot unmarshal !!int `1844674...` into int (field max_retries"),
        (s3("  http_config: {idle_conn_timeout: forever}\n"),
         "not a valid duration string: \"forever\" (field idle_conn_timeout in type exthttp.HTTPConfig)"),
        (s3("  http_config:\n    response_header_timeout: 90\n"), "not a valid duration string: \"90\" (field response_header_timeout"),
        (s3("  http_config:\n    tls_handshake_timeout: 1.5s\n"), "unknown unit \".\" in duration \"1.5s\""),
        (s3("  http_config:\n    expect_continue_timeout: 1s1m\n"), "not a valid duration string: \"1s1m\""),
        (s3("  http_config:\n    idle_conn_timeout: 300us\n"), "unknown unit \"us\" in duration \"300us\""),
        (s3("  http_config:\n    idle_conn_timeout: ''\n"), "empty duration string (field idle_conn_timeout"),
        (s3("  http_config:\n    idle_conn_timeout: [1s]\n"), "cannot unmarshal !!seq into string (field idle_conn_timeout"),
        (s3("  http_config:\n    max_idle_conns: many\n"), "cannot unmarshal !!str `many` into int (field max_idle_conns in type exthttp.HTTPConfig)"),
        (s3("  http_config:\n    tls_config:\n      insecure_skip_verify: 1\n"),
         "cannot unmarshal !!int `1` into bool (field insecure_skip_verify in type exthttp.TLSConfig)"),
        (s3("  http_config: 5\n"), "cannot unmarshal !!int `5` into exthttp.HTTPConfig (field http_config in type s3.Config)"),
        (s3("  sse_config: [SSE-S3]\n"), "cannot unmarshal !!seq into s3.SSEConfig (field sse_config"),
        (s3("  put_user_metadata: [a]\n"), "cannot unmarshal !!seq into map[string]string (field put_user_metadata"),
        (s3("  put_user_metadata:\n    a: {b: c}\n"), "cannot unmarshal !!map into string (field put_user_metadata"),
        (s3("  region: [eu]\n"), "cannot unmarshal !!seq into string (field region"),
        (s3("  bucket_lookup_type: dns\n"), "unsupported bucket lookup type: dns (field bucket_lookup_type in type s3.Config)"),
        (s3("  aws_sdk_auth: averylongsecretvalue\n"), "cannot unmarshal !!str `averylo...` into bool"),
        (gcs("  use_grpc: 2\n"), "cannot unmarshal !!int `2` into bool (field use_grpc in type gcs.Config)"),
        (gcs("  chunk_size_bytes: 16MiB\n"), "cannot unmarshal !!str `16MiB` into int (field chunk_size_bytes"),
        (gcs("  http_config:\n    idle_conn_timeout: soon\n"), "not a valid duration string: \"soon\" (field idle_conn_timeout in type exthttp.HTTPConfig)"),
        (azure("  pipeline_config:\n    max_tries: 3000000000\n"), "cannot unmarshal !!int `3000000000` into int32 (field max_tries in type azure.PipelineConfig)"),
        (azure("  pipeline_config:\n    try_timeout: 1.5s\n"), "unknown unit \".\" in duration \"1.5s\" (field try_timeout in type azure.PipelineConfig)"),
        (azure("  storage_create_container: maybe\n"), "cannot unmarshal !!str `maybe` into bool (field storage_create_container"),
        (azure("  reader_config: on\n"), "cannot unmarshal !!bool `on` into azure.ReaderConfig (field reader_config"),
        ("type: [S3]\nconfig: {}\n", "cannot unmarshal !!seq into objstore.ObjProvider (field type in type client.BucketConfig)"),
        ("type: S3\nconfig: 5\n", "cannot unmarshal !!int `5` into s3.Config"),
    ])
    func wrongTypesNameTheKeyAndType(yaml: String, message: String) {
        Self.expectFailure(yaml, message)
    }

    /// Like yaml.v2, every decoding problem is reported, each at its line.
    @Test func everyProblemIsReported() {
        Self.expectFailure(Self.s3("  insecure: maybe\n  http_config:\n    idle_conn_timout: 90s\n"),
                           "parsing S3 configuration: yaml: unmarshal errors:\n  line 5: cannot unmarshal !!str `maybe` into bool (field insecure in type s3.Config)\n  line 7: field idle_conn_timout not found in type exthttp.HTTPConfig")
    }

    /// Yams refuses a key given twice in one mapping, at any depth, naming it (yaml.v2: "field
    /// bucket already set in type s3.Config").
    @Test func duplicateKeysAreRefused() {
        Self.expectFailure(Self.s3("  bucket: again\n"), "duplicated key(s): 'bucket'")
        Self.expectFailure(Self.s3("  http_config:\n    max_idle_conns: 1\n    max_idle_conns: 2\n"), "duplicated key(s): 'max_idle_conns'")
    }

    // MARK: S3 option combinations (providers/s3/s3.go)

    @Test(arguments: [
        (s3("  aws_sdk_auth: true\n  access_key: a\n  secret_key: s\n"), "aws_sdk_auth and access_key are mutually exclusive configurations"),
        (s3("  secret_key: s\n"), "no s3 access_key specified while secret_key is present in config file"),
        (s3("  access_key: a\n"), "no s3 secret_key specified while access_key is present in config file"),
        (s3("  sse_config:\n    type: SSE-C\n"), "encryption_key must be set if sse_config.type is set to 'SSE-C'"),
        (s3("  sse_config:\n    type: SSE-KMS\n"), "kms_key_id must be set if sse_config.type is set to 'SSE-KMS'"),
        (s3("  sse_config:\n    type: AES256\n"), "Unsupported type \"AES256\" was provided. Supported types are SSE-S3, SSE-KMS, SSE-C"),
        (s3("  list_objects_version: v3\n"), "Unsupported version \"v3\" was provided. Supported values are v1, v2"),
        (s3("  http_config:\n    tls_config:\n      cert_file: /c.crt\n"), "client cert file \"/c.crt\" specified without client key file"),
        (s3("  http_config:\n    tls_config:\n      key_file: /c.key\n"), "client key file \"/c.key\" specified without client cert file"),
        ("type: S3\nconfig:\n  endpoint: e\n", "missing s3 bucket in config"),
    ])
    func s3Combinations(yaml: String, message: String) {
        Self.expectFailure(yaml, message)
    }

    @Test func s3AllowedCombinations() throws {
        _ = try ObjectStoreConfig.parse(Self.s3("  aws_sdk_auth: true\n"))
        _ = try ObjectStoreConfig.parse(Self.s3("  sse_config:\n    type: SSE-S3\n"))
        _ = try ObjectStoreConfig.parse(Self.s3("  sse_config:\n    type: SSE-C\n    encryption_key: /keys/sse-c\n"))
        _ = try ObjectStoreConfig.parse(Self.s3("  list_objects_version: v1\n  access_key: a\n  secret_key: s\n"))
        _ = try ObjectStoreConfig.parse(Self.s3("  http_config:\n    tls_config:\n      cert_file: /c.crt\n      key_file: /c.key\n"))
    }

    // MARK: GCS (providers/gcs/gcs.go)

    @Test func gcsCombinations() throws {
        Self.expectFailure("type: GCS\nconfig:\n  use_grpc: true\n", "missing Google Cloud Storage bucket name for stored blocks")
        let tls = "  http_config:\n    tls_config:\n      cert_file: /c.crt\n"
        Self.expectFailure(Self.gcs(tls), "client cert file \"/c.crt\" specified without client key file")
        // Over gRPC Thanos builds no HTTP transport, so its TLS files are not looked at.
        _ = try ObjectStoreConfig.parse(Self.gcs(tls + "  use_grpc: true\n  grpc_conn_pool_size: 4\n"))
    }

    // MARK: Azure (providers/azure/azure.go)

    @Test(arguments: [
        (azure("  user_assigned_id: u\n  storage_account_key: k\n"), "user_assigned_id cannot be set when using storage_account_key authentication"),
        (azure("  user_assigned_id: u\n  storage_connection_string: s\n"), "user_assigned_id cannot be set when using storage_connection_string authentication"),
        (azure("  user_assigned_id: u\n  client_id: c\n  client_secret: s\n  az_tenant_id: t\n"), "user_assigned_id cannot be set when using client_id authentication"),
        (azure("  az_tenant_id: t\n"), "az_tenant_id, client_id, and client_secret must be set together"),
        (azure("  client_id: c\n  client_secret: s\n"), "az_tenant_id, client_id, and client_secret must be set together"),
        (azure("  storage_account_key: k\n  storage_connection_string: s\n"), "storage_account_key and storage_connection_string cannot both be set"),
        (azure("  pipeline_config:\n    max_tries: -1\n"), "The value of max_tries must be greater than or equal to 0 in the config file"),
        (azure("  reader_config:\n    max_retry_requests: -2\n"), "The value of max_retry_requests must be greater than or equal to 0 in the config file"),
        (azure("  http_config:\n    tls_config:\n      key_file: /k\n"), "client key file \"/k\" specified without client cert file"),
        // Every problem at once, as Thanos joins them.
        ("type: AZURE\nconfig:\n  user_assigned_id: u\n  storage_account_key: k\n",
         "user_assigned_id cannot be set when using storage_account_key authentication, no Azure storage_account specified while using Azure, no Azure container specified while using Azure"),
    ])
    func azureCombinations(yaml: String, message: String) {
        Self.expectFailure(yaml, message)
    }

    @Test func azureAllowedCombinations() throws {
        _ = try ObjectStoreConfig.parse(Self.azure("  az_tenant_id: t\n  client_id: c\n  client_secret: s\n"))
        _ = try ObjectStoreConfig.parse(Self.azure("  user_assigned_id: u\n"))
        _ = try ObjectStoreConfig.parse(Self.azure("  storage_account_key: k\n  pipeline_config:\n    max_tries: 0\n    try_timeout: 1m\n    retry_delay: 500ms\n    max_retry_delay: 1m\n  reader_config:\n    max_retry_requests: 3\n"))
    }
}
