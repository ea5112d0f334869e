import Foundation
import StrataBlock
import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import StrataTSDB

/// The seed corpus (Fuzz/Corpus/<harness>/), made with the project's own writers so every seed
/// is an input the real code produces: `STRATA_FUZZ_WRITE_SEEDS=Fuzz/Corpus StrataFuzz`.
/// Small on purpose: libFuzzer grows the corpus itself, seeds only show it the formats.
enum Seeds {
    static func write(to dir: String) throws {
        let out = Output(dir)
        try remoteWrite(out)
        try promql(out)
        try wal(out)
        try index(out)
        try chunks(out)
        try configs(out)
        try rules(out)
    }

    // MARK: rules

    /// The rule files of the unit-test corpus (`Tests/Fixtures/rule-tests`), and templates of
    /// each kind docs/rules.md lists.
    static func rules(_ out: Output) throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Tests/Fixtures/rule-tests").path
        for name in try FileManager.default.contentsOfDirectory(atPath: corpus) where name.hasSuffix(".rules.yml") {
            try out.put("rule-file", name, Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name))))
        }
        let templates = [
            "labels": "{{ $labels.instance }} of {{ $labels.job }} in {{ $externalLabels.cluster }}",
            "humanize": "{{ $value | humanize }} {{ humanize1024 1048576 }} {{ humanizeDuration 3661 }} {{ humanizePercentage 0.25 }} {{ humanizeTimestamp 1.7e9 }}",
            "printf": "{{ printf \"%.2f %5s %-3d %q %v %x\" $value \"a\" 7 \"q\" $labels 255 }}",
            "control": "{{ if gt $value 1.0 }}high{{ else if eq $value 0.0 }}zero{{ else }}low{{ end }}{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}{{ with $labels.job }}{{ . }}{{ end }}",
            "query": "{{ with query \"up\" }}{{ . | first | value }} {{ range . }}{{ .Labels.instance }}{{ end }}{{ end }}{{ range query \"x\" | sortByLabel \"job\" }}{{ label \"job\" . }}{{ end }}",
            "strings": "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance | toUpper | title }} {{ match \"^a\" \"abc\" }} {{ stripPort $labels.instance }} {{ safeHtml \"<b>\" }} {{ pathPrefix }} {{ externalURL }} {{ tableLink \"up\" }} {{ parseDuration \"1m\" }}",
            "define": "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $value }}{{ block \"b\" 1 }}{{ . }}{{ end }}{{ $x := 1 }}{{ $x = 2 }}{{ $x }}",
            "args": "{{ with args 1 \"two\" }}{{ .arg0 }}{{ .arg1 }}{{ .arg2 }}{{ end }}{{ len $labels }}{{ index $labels \"job\" }}{{ and 1 0 }}{{ or 0 \"\" 3 }}{{ not true }}",
        ]
        for (name, text) in templates { try out.put("alert-template", name + ".tmpl", text) }
    }

    struct Output {
        let dir: String
        init(_ dir: String) { self.dir = dir }
        func put(_ harness: String, _ name: String, _ bytes: [UInt8]) throws {
            let d = dir + "/" + harness
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: d + "/" + name))
        }
        func put(_ harness: String, _ name: String, _ text: String) throws { try put(harness, name, Array(text.utf8)) }
    }

    // MARK: remote write and snappy

    static func writeRequests() -> [(String, WriteRequestBuilder)] {
        var plain = WriteRequestBuilder()
        plain.add([("__name__", "up"), ("instance", "localhost:9090"), ("job", "prometheus")], [(1_700_000_000_000, 1), (1_700_000_015_000, 0)])
        plain.add([("__name__", "http_requests_total"), ("code", "200"), ("method", "GET")], [(1_700_000_000_000, 1027), (1_700_000_015_000, 1031.5)])
        plain.metadata = [MetricMetadata(metricFamilyName: "http_requests_total", type: .counter, help: "Requests served.", unit: "")]
        var odd = WriteRequestBuilder([
            // A histogram and exemplars (refused / ignored), an empty label value (dropped),
            // a stale marker, a negative timestamp.
            .init(labels: [("__name__", "latency"), ("le", "")], samples: [Sample(t: -5, v: StaleNaN.value)], histograms: 1, exemplars: 2),
            .init(labels: [("__name__", "temp"), ("room", "kitchen ü")], samples: [Sample(t: 0, v: -3.5)]),
        ])
        odd.metadata = [MetricMetadata(metricFamilyName: "temp", type: .gauge, help: "Temperature.", unit: "celsius")]
        return [("plain", plain), ("histograms-exemplars", odd)]
    }

    static func remoteWrite(_ out: Output) throws {
        for (name, b) in writeRequests() {
            try out.put("remote-write", name + ".pb", b.protobuf())
            try out.put("snappy", name + ".snappy", b.snappyBody())
        }
        try out.put("snappy", "text.snappy", Snappy.compress(Array(String(repeating: "snappy block format, ", count: 20).utf8)))
    }

    // MARK: PromQL

    /// Written for the seed corpus: one of each construct docs/promql.md lists.
    static let expressions = [
        #"http_requests_total{job="api-server", code=~"5..", method!="GET", path!~"/debug/.*"}"#,
        #"rate(http_requests_total[5m] offset 1h)"#,
        #"sum by (job) (rate(http_requests_total{group="canary"}[5m])) / ignoring(group) group_left sum(up)"#,
        #"histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))"#,
        #"max_over_time(deriv(rate(distance_covered_total[5s])[30s:5s])[10m:])"#,
        #"metric @ 100 offset -2m"#,
        #"sum(http_requests @ start()) - sum(http_requests @ end())"#,
        #"topk(3, sum without (instance) (node_cpu_seconds_total))"#,
        #"count_values("value", build_version)"#,
        #"quantile(0.5, -rate(x[1m]))"#,
        #"label_replace(rate({stage="2"}[10m]), "alias", "r_$1", "__name__", "(.+)")"#,
        #"machine_info * on(host) group_right(zone) cpu_load > bool 2"#,
        #"1 + 2 * 3 ^ -4 % 5 and vector(time()) or absent(nope) unless on() up"#,
        #"-(0x1F + 1e3 - Inf) != bool NaN"#,
        #"{__name__=~"job:.*", job="a"} # a comment"#,
        #"predict_linear(node_filesystem_free_bytes[1h], 4 * 3600) < 0"#,
        #"sort_by_label(limitk(2, metric), "instance")"#,
        #"avg(temperature{room="-cold2"}) > 1.5e-3"#,
        #"rate(metric[5m] smoothed)"#,
        #"timestamp(metric offset 1m30s)"#,
        #"((((metric))))[1h:1m] @ end()"#,
        #"sum by ("foo.bar") ({"my.metric", "le"="0.5"})"#,
        "'single' and `raw \\ string`",
        #"days_in_month(vector(1)) unless on(job) group_left() up"#,
        #"stddev_over_time(x[1d:]) atan2 on(a) group_left(b, c) y"#,
    ]

    static func promql(_ out: Output) throws {
        for (i, e) in expressions.enumerated() { try out.put("promql", String(format: "expr-%02d.promql", i), e) }
    }

    // MARK: WAL

    static func wal(_ out: Output) throws {
        let tmp = try TempDir("strata-fuzz-seeds")
        defer { tmp.remove() }
        var i = 0
        for (name, compress, samples) in [("small", false, 3), ("compressed", true, 40), ("two-pages", false, 3000)] {
            let dir = tmp.file("wal-\(i)"); i += 1
            var options = WALOptions()
            options.compress = compress
            let wal = try WAL(dir: dir, options: options)
            var series: [UInt8] = []
            let labels = [Labels([("__name__", "up"), ("job", "a")]), Labels([("__name__", "temp"), ("room", "kitchen ü")])]
            for (ref, l) in labels.enumerated() {
                l.bytes.withUnsafeBytes {
                    if ref == 0 { WALRecordEncoder.series(ref: 1, labelsBlob: $0, count: l.count, into: &series) }
                    else { WALRecordEncoder.appendSeries(ref: UInt64(ref + 1), labelsBlob: $0, count: l.count, into: &series) }
                }
            }
            var records = [series]
            var rng = SplitMix(seed: 42)
            var batch: [WALSample] = []
            for s in 0 ..< samples {
                batch.append(WALSample(ref: UInt64(s % 2 + 1), t: 1_700_000_000_000 + Int64(s) * 15_000,
                                       v: s % 7 == 0 ? StaleNaN.value : Double(rng.next() % 1000) / 8))
                if batch.count == 50 || s == samples - 1 {
                    var rec: [UInt8] = []
                    batch.withUnsafeBufferPointer { WALRecordEncoder.samples($0, into: &rec) }
                    records.append(rec)
                    batch.removeAll()
                }
            }
            try wal.log(records)
            try wal.close()
            let seg = try WALSegments.list(dir)[0]
            try out.put("wal", name + ".seg", Array(try Data(contentsOf: URL(fileURLWithPath: seg.path))))
            // The first record alone, for the record decoders on the input directly.
            if name == "small" {
                try out.put("wal", "series.rec", series)
                try out.put("wal", "samples.rec", records[1])
            }
        }
    }

    // MARK: index and chunks

    static func index(_ out: Output) throws {
        let tmp = try TempDir("strata-fuzz-seeds")
        defer { tmp.remove() }
        let series = [
            Labels([("__name__", "http_requests_total"), ("code", "200"), ("job", "api")]),
            Labels([("__name__", "http_requests_total"), ("code", "500"), ("job", "api")]),
            Labels([("__name__", "up"), ("job", "api")]),
        ]
        // Through the block writer, with real chunks behind the index's chunk metas.
        var input: [BlockSeriesInput] = []
        for (i, l) in series.enumerated() {
            let samples = (0 ..< 130 * (i + 1)).map { Sample(t: Int64($0) * 15_000, v: Double($0 + i)) }
            input.append(BlockSeriesInput(labels: l, chunks: XORChunk.encodeChunks(samples)))
        }
        let meta = try BlockWriter.write(parentDir: tmp.path, mint: 0, maxt: 7_200_000, series: input)
        let path = tmp.path + "/" + meta.ulid + "/index"
        try out.put("index", "three-series.index", Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    static func chunks(_ out: Output) throws {
        let regular = (0 ..< 30).map { Sample(t: 1_700_000_000_000 + Int64($0) * 15_000, v: Double($0 * $0)) }
        var rng = SplitMix(seed: 7)
        var jittery: [Sample] = []
        for i in 0 ..< 30 {
            let t = Int64(i) * 10_000 + Int64(rng.next() % 3000)
            let v: Double = i % 5 == 0 ? StaleNaN.value : Double(rng.next() % 100_000) / 3
            jittery.append(Sample(t: t, v: v))
        }
        try out.put("chunks", "xor-regular.chunk", XORChunk.encodeChunks(regular)[0].bytes)
        try out.put("chunks", "xor-jittery.chunk", XORChunk.encodeChunks(jittery)[0].bytes)
        try out.put("chunks", "xor-one.chunk", XORChunk.encodeChunks([Sample(t: -1, v: .infinity)])[0].bytes)
        // Aggregate chunks as the downsampler writes them (5m windows over 15s data).
        let raw = (0 ..< 200).map { Sample(t: Int64($0) * 15_000, v: Double($0 % 50)) } // a counter with resets
        try out.put("chunks", "aggr-5m.chunk", Downsampler.aggregateRaw(raw, resolution: 300_000)[0].bytes)
        // And one with absent aggregates.
        let sub = XORChunk.encodeChunks(Array(regular.prefix(4)))[0].bytes
        try out.put("chunks", "aggr-partial.chunk", AggrChunk.encode([sub, nil, sub, nil, sub]))
    }

    // MARK: YAML

    static func configs(_ out: Output) throws {
        // docs/object-storage.md, and one of each nested struct.
        let objstore = [
            "filesystem": "type: FILESYSTEM\nconfig:\n  directory: /var/lib/strata-bucket\nprefix: \"\"\n",
            "s3": """
                type: S3
                config:
                  bucket: thanos
                  endpoint: 127.0.0.1:9000
                  insecure: true
                  bucket_lookup_type: path
                  access_key: minio
                  secret_key: minio123
                  part_size: 67108864
                  http_config:
                    idle_conn_timeout: 1m30s
                    tls_config: {ca_file: /etc/ca.crt, insecure_skip_verify: false}
                  sse_config: {type: SSE-KMS, kms_key_id: key, kms_encryption_context: {a: b}}
                prefix: tenant-a

                """,
            "gcs": """
                type: GCS
                config:
                  bucket: thanos
                  service_account: |-
                    {
                      "type": "service_account",
                      "client_email": "strata@my-project.iam.gserviceaccount.com",
                      "token_uri": "https://oauth2.googleapis.com/token"
                    }

                """,
            "azure": """
                type: AZURE
                config:
                  storage_account: devstoreaccount1
                  storage_connection_string: "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"
                  container: thanos
                  max_retries: 3
                  pipeline_config: {max_tries: 2, try_timeout: 10s}

                """,
        ]
        for (name, text) in objstore { try out.put("objstore-config", name + ".yaml", text) }
        // docs/security.md.
        let web = [
            "full": """
                tls_server_config:
                  cert_file: server.crt
                  key_file: server.key
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: clients-ca.crt
                  min_version: TLS12
                  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
                  curve_preferences: [X25519, CurveP256]
                http_server_config:
                  http2: false
                  headers:
                    Strict-Transport-Security: max-age=31536000
                    X-Frame-Options: deny
                    X-Content-Type-Options: nosniff
                basic_auth_users:
                  alice: $2y$10$QXH2lMZGa6UKz6E6gNDSiOb/q5DXVTBhpZzIq3RtljSrBgZwjVmXa

                """,
            "basic-auth": "basic_auth_users:\n  bob: $2a$04$ZeGbhG.PuuDzqRBDPMbZtOpHZEOBXw2eXSzhbUUvX5qn4Vj5Svaua\n",
        ]
        for (name, text) in web { try out.put("web-config", name + ".yaml", text) }

        let limits = [
            "full": """
                write:
                  global:
                    max_concurrency: 30
                    meta_monitoring_url: http://localhost:9090
                    meta_monitoring_limit_query: sum(prometheus_tsdb_head_series) by (tenant)
                  default:
                    request:
                      size_bytes_limit: 1048576
                      series_limit: 5000
                      samples_limit: 50000
                    head_series_limit: 1000000
                    ingestion_rate: 100000
                    ingestion_burst_size: 500000
                  tenants:
                    acme:
                      request:
                        series_limit: 0
                      head_series_limit: 2000000
                    "team.b":
                      ingestion_rate: 10.5

                """,
            "empty": "write: {}\n",
            "tenant-only": "write:\n  tenants:\n    t:\n      request:\n        samples_limit: 1\n",
        ]
        for (name, text) in limits { try out.put("limits-config", name + ".yaml", text) }
    }
}
