#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The `process_*` metrics every Prometheus client library exports (client_golang's process
/// collector, same names, types and units), read from /proc at scrape time.
enum ProcessMetrics {
    struct Sample {
        let name: String, type: String, help: String, value: Double
    }

    static func read() -> [Sample] {
        var out: [Sample] = []
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        // /proc/self/stat: fields after the command name, which is in parentheses and may hold spaces.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let f = stat[stat.index(after: close)...].split(separator: " ")
            // f[0] is field 3 (state): field n is f[n - 3].
            func field(_ n: Int) -> Double { n - 3 < f.count ? Double(f[n - 3]) ?? 0 : 0 }
            out.append(Sample(name: "process_cpu_seconds_total", type: "counter", help: "Total user and system CPU time spent in seconds.",
                              value: (field(14) + field(15)) / tick))
            out.append(Sample(name: "process_virtual_memory_bytes", type: "gauge", help: "Virtual memory size in bytes.", value: field(23)))
            out.append(Sample(name: "process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.", value: field(24) * page))
            if let boot = bootTime() {
                out.append(Sample(name: "process_start_time_seconds", type: "gauge", help: "Start time of the process since unix epoch in seconds.",
                                  value: boot + field(22) / tick))
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            out.append(Sample(name: "process_open_fds", type: "gauge", help: "Number of open file descriptors.", value: Double(fds.count)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            out.append(Sample(name: "process_max_fds", type: "gauge", help: "Maximum number of open file descriptors.", value: Double(limit.rlim_cur)))
        }
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0 {
            // Unlimited is reported as client_golang reports it: the largest uint64 as a float.
            out.append(Sample(name: "process_virtual_memory_max_bytes", type: "gauge", help: "Maximum amount of virtual memory available in bytes.",
                              value: limit.rlim_cur == rlim_t.max ? Double(UInt64.max) : Double(limit.rlim_cur)))
        }
        return out
    }

    /// `btime` of /proc/stat: when the machine booted, in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6))
        }
        return nil
    }
}
