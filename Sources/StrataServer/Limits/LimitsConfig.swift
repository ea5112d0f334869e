import Foundation
import StrataGoYAML
import StrataHTTPAPI

/// Thanos Receive's limits file (`--receive.limits-config-file` / `--receive.limits-config`), read
/// as `pkg/receive/limiter_config.go` reads it (yaml.v2 strict, the same keys), plus two keys of
/// Strata's under `default` and each tenant: `ingestion_rate` (samples per second) and
/// `ingestion_burst_size` (samples; default one second's worth), Mimir's names. A file that uses
/// them is not one Thanos reads.
///
/// The `meta_monitoring_*` keys are accepted and unused: Strata counts each tenant's head series
/// itself, so `head_series_limit` needs no query against a meta-monitoring Prometheus.
public enum LimitsConfig {
    public static func parse(_ text: String) throws -> WriteLimits {
        let root: DecodedFields
        do { root = try decodeGoYAML(text, as: .limitsRoot, what: "parsing config YAML file") } catch {
            throw ConfigError("\(error)".replacingOccurrences(of: "\n  ", with: " "))
        }
        let write = root.object("write")
        var limits = WriteLimits()
        let global = write.object("global")
        if global.scalars["max_concurrency"] != nil {
            let n = global.int("max_concurrency")
            guard n >= 0 else { throw ConfigError("write.global.max_concurrency must not be negative, got \(n)") }
            limits.maxConcurrency = Int(n)
        }
        let url = global.string("meta_monitoring_url")
        if !url.isEmpty {
            guard let u = URL(string: url), u.scheme != nil, u.host != nil else {
                throw ConfigError("\(url) is not a valid meta-monitoring URL")
            }
        }
        limits.defaults = try tenantLimits(write.object("default"), "write.default")
        for (tenant, fields) in write.objectMaps["tenants"] ?? [] {
            if let problem = TenantOptions.problem(tenant) { throw ConfigError("write.tenants: tenant name \"\(tenant)\" not valid: \(problem)") }
            limits.tenants[tenant] = try tenantLimits(fields, "write.tenants.\(tenant)")
        }
        return limits
    }

    /// Reads `path`; errors name the file.
    public static func load(path: String) throws -> WriteLimits {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("--receive.limits-config-file \(path): cannot read it")
        }
        do { return try parse(String(decoding: data, as: UTF8.self)) } catch {
            throw ConfigError("--receive.limits-config-file \(path): \(error)")
        }
    }

    private static func tenantLimits(_ f: DecodedFields, _ at: String) throws -> WriteLimits.TenantLimits {
        var t = WriteLimits.TenantLimits()
        let request = f.object("request")
        func value(_ fields: DecodedFields, _ key: String) throws -> Int64? {
            guard fields.scalars[key] != nil else { return nil }
            let v = fields.int(key)
            guard v >= 0 else { throw ConfigError("\(at): \(key) must not be negative, got \(v) (0 means no limit)") }
            return v
        }
        t.sizeBytes = try value(request, "size_bytes_limit")
        t.series = try value(request, "series_limit")
        t.samples = try value(request, "samples_limit")
        t.headSeries = try value(f, "head_series_limit")
        if let r = f.scalars["ingestion_rate"].flatMap(Double.init) {
            guard r >= 0, r.isFinite else { throw ConfigError("\(at): ingestion_rate must be a finite number of samples per second, 0 or more") }
            t.ingestionRate = r
        }
        t.ingestionBurst = try value(f, "ingestion_burst_size")
        return t
    }
}

extension GoYAMLSchema {
    /// `pkg/receive/limiter_config.go`: `RootLimitsConfig` and what it holds.
    static let limitsRoot: GoYAMLSchema = {
        let request = GoYAMLSchema(goType: "receive.requestLimitsConfig", fields: [
            "size_bytes_limit": .int(.int64), "series_limit": .int(.int64), "samples_limit": .int(.int64),
        ])
        let strataRate: [String: FieldType] = ["ingestion_rate": .float64, "ingestion_burst_size": .int(.int64)]
        let defaults = GoYAMLSchema(goType: "receive.DefaultLimitsConfig", fields: [
            "request": .object(request), "head_series_limit": .int(.uint64),
        ].merging(strataRate) { a, _ in a })
        let tenant = GoYAMLSchema(goType: "receive.WriteLimitConfig", fields: [
            "request": .object(request), "head_series_limit": .int(.uint64),
        ].merging(strataRate) { a, _ in a })
        let global = GoYAMLSchema(goType: "receive.GlobalLimitsConfig", fields: [
            "max_concurrency": .int(.int64), "meta_monitoring_url": .string(),
            "meta_monitoring_http_client": .any, "meta_monitoring_limit_query": .string(),
        ])
        return GoYAMLSchema(goType: "receive.RootLimitsConfig", fields: [
            "write": .object(GoYAMLSchema(goType: "receive.WriteLimitsConfig", fields: [
                "global": .object(global), "default": .object(defaults), "tenants": .objectMap(tenant),
            ])),
        ])
    }()
}
