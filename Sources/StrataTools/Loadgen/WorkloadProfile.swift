import Foundation
import StrataModel
import Yams

/// What one scrape target exposes: the loadgen's series are targets × this template, as a fleet
/// of exporters is. A run with `--series N` makes as many targets as N needs and cuts the last one
/// short, so the series count is exact.
public struct WorkloadProfile: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, constant, histogram }

    /// One metric family of the template. A histogram stands for its `_bucket` (one per bound and
    /// `+Inf`), `_sum` and `_count` series, kept consistent with one another.
    public struct Metric: Sendable {
        public var name: String
        public var kind: Kind
        public var help = ""
        public var unit = ""
        /// Label names with their values; the metric has one series per combination.
        public var labels: [(name: String, values: [String])] = []
        /// Counter: mean increase per second (histogram: observations per second). Gauge: the
        /// random walk's step per 15 s. Constant: the value.
        public var rate = 1.0
        public var value = 0.0
        public var min = 0.0
        public var max = 100.0
        public var buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        /// Sent as a native histogram (`--native-histograms`): its bucket schema, -4 to 8 (3: each
        /// bound 2^(1/8) ≈ 1.09 times the previous, the Go client's default factor of 1.1).
        public var schema = 3
        /// Counters and gauges move in whole multiples of this (bytes, packets, 1/100 s of CPU),
        /// as exporters' values do and as their compression depends on; 0: any value.
        public var resolution = 1.0

        public init(name: String, kind: Kind) { self.name = name; self.kind = kind }
    }

    public var job: String
    /// The label that tells targets apart, and how its value is made from the target number.
    public var targetLabel: String
    public var targetValue: @Sendable (Int) -> String
    public var metrics: [Metric]
    /// The profile's scrape interval when the command line gives none (milliseconds).
    public var intervalMs: Int64?

    public init(job: String, targetLabel: String, targetValue: @escaping @Sendable (Int) -> String,
                metrics: [Metric], intervalMs: Int64? = nil) {
        self.job = job
        self.targetLabel = targetLabel
        self.targetValue = targetValue
        self.metrics = metrics
        self.intervalMs = intervalMs
    }
}

// MARK: - Built-in profiles

extension WorkloadProfile {
    /// One node_exporter target: the series (names, labels, order) that `../shared/bench/rwload.py`
    /// generates, so `--series N` here and there make the same series set and counts compare.
    public static let node: WorkloadProfile = {
        var m: [Metric] = []
        func add(_ name: String, _ kind: Kind, _ labels: [(String, [String])] = [], rate: Double = 0,
                 value: Double = 0, min: Double = 0, max: Double = 0, resolution: Double = 1) {
            var metric = Metric(name: name, kind: kind)
            metric.labels = labels.map { (name: $0.0, values: $0.1) }
            metric.rate = rate
            metric.value = value
            metric.min = min
            metric.max = max
            metric.resolution = resolution
            m.append(metric)
        }
        // Rates, start values and resolutions as rwload.py's (its `mult/div` ticks), so a receiver
        // compresses the same kind of numbers. A family per CPU mode (each mode its own rate);
        // the series set equals rwload's, whose first 64 series of a target are the CPUs too.
        for (mode, share) in [("idle", 0.70), ("iowait", 0.02), ("irq", 0.002), ("nice", 0.0),
                              ("softirq", 0.01), ("steal", 0.0), ("system", 0.07), ("user", 0.20)] {
            add("node_cpu_seconds_total", .counter, [("cpu", (0 ..< 8).map(String.init)), ("mode", [mode])],
                rate: share, value: 3.0e6 * share, resolution: 0.01)
        }
        // rwload interleaves the disk and network families per device; a family per device
        // reproduces that order.
        for dev in ["sda", "sdb", "nvme0n1"] {
            add("node_disk_read_bytes_total", .counter, [("device", [dev])], rate: 2.0e5, value: 5e10)
            add("node_disk_written_bytes_total", .counter, [("device", [dev])], rate: 8.0e5, value: 2e11)
            add("node_disk_reads_completed_total", .counter, [("device", [dev])], rate: 20, value: 4e6)
            add("node_disk_writes_completed_total", .counter, [("device", [dev])], rate: 60, value: 9e6)
            add("node_disk_io_time_seconds_total", .counter, [("device", [dev])], rate: 0.05, value: 2e4, resolution: 0.001)
        }
        for (dev, scale) in [("eth0", 1.0), ("eth1", 0.1), ("lo", 0.3)] {
            add("node_network_receive_bytes_total", .counter, [("device", [dev])], rate: 1.5e5 * scale, value: 8e11)
            add("node_network_transmit_bytes_total", .counter, [("device", [dev])], rate: 9.0e4 * scale, value: 5e11)
            add("node_network_receive_packets_total", .counter, [("device", [dev])], rate: 200 * scale, value: 9e8)
            add("node_network_transmit_packets_total", .counter, [("device", [dev])], rate: 150 * scale, value: 7e8)
        }
        let gib = 1073741824.0
        for (dev, mount, fs, size) in [("/dev/sda1", "/", "ext4", 100 * gib), ("/dev/sdb1", "/data", "xfs", 1000 * gib),
                                       ("tmpfs", "/run", "tmpfs", 2 * gib)] {
            let l: [(String, [String])] = [("device", [dev]), ("fstype", [fs]), ("mountpoint", [mount])]
            add("node_filesystem_avail_bytes", .gauge, l, rate: 2.0e6, value: size * 0.6, min: 0, max: size, resolution: 4096)
            add("node_filesystem_size_bytes", .constant, l, value: size)
        }
        add("node_memory_MemTotal_bytes", .constant, value: 64 * gib)
        add("node_memory_MemAvailable_bytes", .gauge, rate: 5.0e7, value: 30 * gib, min: gib, max: 60 * gib, resolution: 4096)
        add("node_memory_MemFree_bytes", .gauge, rate: 3.0e7, value: 10 * gib, min: 0.5 * gib, max: 40 * gib, resolution: 4096)
        add("node_memory_Cached_bytes", .gauge, rate: 2.0e7, value: 18 * gib, min: gib, max: 40 * gib, resolution: 4096)
        add("node_memory_Buffers_bytes", .gauge, rate: 1.0e6, value: 0.5 * gib, min: 0, max: 4 * gib, resolution: 4096)
        add("node_load1", .gauge, rate: 0.15, value: 1.5, min: 0, max: 16, resolution: 0.01)
        add("node_load5", .gauge, rate: 0.05, value: 1.5, min: 0, max: 16, resolution: 0.01)
        add("node_load15", .gauge, rate: 0.02, value: 1.5, min: 0, max: 16, resolution: 0.01)
        add("node_context_switches_total", .counter, rate: 4000, value: 5e10)
        add("node_intr_total", .counter, rate: 2500, value: 3e10)
        add("node_procs_running", .gauge, rate: 1, value: 3, min: 1, max: 32)
        add("node_boot_time_seconds", .constant, value: 1.7e9)
        add("node_network_up", .constant, [("device", ["eth0"])], value: 1)
        let help: [String: String] = [
            "node_cpu_seconds_total": "Seconds the CPUs spent in each mode.",
            "node_load1": "1m load average.",
        ]
        for i in m.indices { m[i].help = help[m[i].name] ?? "" }
        return WorkloadProfile(job: "node", targetLabel: "instance", targetValue: { h in
            "10.\((h >> 16) & 255).\((h >> 8) & 255).\(h & 255):9100"
        }, metrics: m)
    }()

    /// avalanche's shape: `metrics` gauge families, each with one series per target, targets told
    /// apart by `series_id`.
    public static func flat(metrics: Int) -> WorkloadProfile {
        WorkloadProfile(job: "loadgen", targetLabel: "series_id", targetValue: { String($0) },
                        metrics: (0 ..< metrics).map { i in
                            var m = Metric(name: "loadgen_metric_\(i)", kind: .gauge)
                            m.rate = 5
                            m.value = 50
                            m.help = "A loadgen gauge."
                            return m
                        })
    }
}

// MARK: - Profile files

/// A profile file that cannot be used; `description` says where and why.
public struct WorkloadProfileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

extension WorkloadProfile {
    /// Reads a profile file (YAML; `docs/loadgen.md` shows the format). Unknown keys are errors, so
    /// a misspelt option is not silently ignored.
    public static func parse(yaml: String, file: String = "profile") throws -> WorkloadProfile {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw WorkloadProfileError("\(file): \(error)") }
        guard let map = root?.mapping else { throw WorkloadProfileError("\(file): want a mapping with a `metrics` list") }
        func fail(_ node: Node, _ msg: String) -> WorkloadProfileError {
            WorkloadProfileError("\(file):\(node.mark?.line ?? 0): \(msg)")
        }
        func string(_ n: Node, _ key: String) throws -> String {
            guard let s = n.scalar?.string else { throw fail(n, "\(key): want a string") }
            return s
        }
        func number(_ n: Node, _ key: String) throws -> Double {
            guard let s = n.scalar?.string, let d = GoFloat.parse(s), d.isFinite else { throw fail(n, "\(key): want a number") }
            return d
        }
        func checkKeys(_ m: Node.Mapping, _ allowed: Set<String>, _ where_: String) throws {
            for (k, _) in m {
                let key = k.scalar?.string ?? ""
                if !allowed.contains(key) { throw fail(k, "unknown key \(goQuoteString(key)) in \(where_)") }
            }
        }
        try checkKeys(map, ["job", "target_label", "target_format", "interval", "metrics"], "the profile")
        var job = "loadgen", targetLabel = "instance", format = "target-{}"
        var interval: Int64?
        var metrics: [Metric] = []
        for (k, v) in map {
            switch k.scalar?.string {
            case "job": job = try string(v, "job")
            case "target_label": targetLabel = try string(v, "target_label")
            case "target_format":
                format = try string(v, "target_format")
                if !format.contains("{}") { throw fail(v, "target_format: want a `{}` where the target number goes") }
            case "interval":
                do { interval = try parsePrometheusDuration(try string(v, "interval")) } catch { throw fail(v, "interval: \(error)") }
                if interval! <= 0 { throw fail(v, "interval: must be positive") }
            case "metrics":
                guard let list = v.sequence, !list.isEmpty else { throw fail(v, "metrics: want a non-empty list") }
                for item in list { metrics.append(try metric(item)) }
            default: break
            }
        }
        if metrics.isEmpty { throw WorkloadProfileError("\(file): no metrics") }
        let names = metrics.map(\.name)
        if Set(names).count != names.count { throw WorkloadProfileError("\(file): a metric name appears twice") }

        func metric(_ node: Node) throws -> Metric {
            guard let m = node.mapping else { throw fail(node, "a metric: want a mapping") }
            try checkKeys(m, ["name", "type", "help", "unit", "labels", "rate", "value", "min", "max", "buckets", "schema", "resolution"], "a metric")
            guard let nameNode = m["name"] else { throw fail(node, "a metric without `name`") }
            let name = try string(nameNode, "name")
            if !isValidMetricName(name) { throw fail(nameNode, "invalid metric name \(goQuoteString(name))") }
            let typeName = try m["type"].map { try string($0, "type") } ?? "gauge"
            guard let kind = Kind(rawValue: typeName) else {
                throw fail(m["type"] ?? node, "type: want counter, gauge, constant or histogram, not \(goQuoteString(typeName))")
            }
            var out = Metric(name: name, kind: kind)
            switch kind {
            case .counter: out.rate = 1
            case .gauge: out.rate = 5; out.value = 50
            case .histogram: out.rate = 10
            case .constant: out.value = 1
            }
            for (k, v) in m {
                let key = k.scalar?.string ?? ""
                switch key {
                case "help": out.help = try string(v, key)
                case "unit": out.unit = try string(v, key)
                case "rate": out.rate = try number(v, key)
                case "value": out.value = try number(v, key)
                case "min": out.min = try number(v, key)
                case "max": out.max = try number(v, key)
                case "resolution":
                    out.resolution = try number(v, key)
                    if out.resolution < 0 { throw fail(v, "resolution: must not be negative") }
                case "buckets":
                    guard kind == .histogram else { throw fail(v, "buckets: only histograms have buckets") }
                    guard let list = v.sequence, !list.isEmpty else { throw fail(v, "buckets: want a list of upper bounds") }
                    out.buckets = try list.map { try number($0, key) }
                    if zip(out.buckets, out.buckets.dropFirst()).contains(where: { $0 >= $1 }) {
                        throw fail(v, "buckets: upper bounds must increase")
                    }
                case "schema":
                    guard kind == .histogram else { throw fail(v, "schema: only histograms have a native schema") }
                    guard let s = v.scalar?.string, let n = Int(s), (-4 ... 8).contains(n) else {
                        throw fail(v, "schema: want an integer from -4 to 8")
                    }
                    out.schema = n
                case "labels":
                    guard let lm = v.mapping else { throw fail(v, "labels: want a mapping of label name to values or a count") }
                    for (ln, lv) in lm {
                        let labelName = try string(ln, "a label name")
                        if !isValidLabelName(labelName) || labelName.hasPrefix("__") || ["job", targetLabel, "le"].contains(labelName) {
                            throw fail(ln, "label name \(goQuoteString(labelName)) is invalid or reserved here")
                        }
                        if let values = lv.sequence {
                            let vs = try values.map { try string($0, labelName) }
                            if vs.isEmpty || Set(vs).count != vs.count { throw fail(lv, "\(labelName): want distinct values") }
                            out.labels.append((labelName, vs))
                        } else if let s = lv.scalar?.string, let n = Int(s), n > 0, n <= 1_000_000 {
                            out.labels.append((labelName, (0 ..< n).map { "\(labelName)-\($0)" }))
                        } else {
                            throw fail(lv, "\(labelName): want a list of values or a count between 1 and 1000000")
                        }
                    }
                default: break
                }
            }
            if kind == .gauge && out.min > out.max { throw fail(node, "\(name): min above max") }
            if out.rate < 0 && kind != .gauge { throw fail(node, "\(name): rate must not be negative") }
            return out
        }

        let targetFormat = format
        return WorkloadProfile(job: job, targetLabel: targetLabel, targetValue: { n in
            targetFormat.replacingOccurrences(of: "{}", with: String(n))
        }, metrics: metrics, intervalMs: interval)
    }
}

private func isValidMetricName(_ s: String) -> Bool {
    guard let f = s.utf8.first, f != UInt8(ascii: "_") || s.utf8.count > 1 else { return false }
    return s.utf8.enumerated().allSatisfy { i, c in
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c == 58 || (i > 0 && c >= 48 && c <= 57)
    }
}

private func isValidLabelName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.enumerated().allSatisfy { i, c in
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (i > 0 && c >= 48 && c <= 57)
    }
}
