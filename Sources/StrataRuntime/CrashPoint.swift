#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Fault injection for crash tests: with `STRATA_CRASH_AT=<point>` (or `<point>:<n>` for its
/// n-th time) in the environment, the process kills itself with SIGKILL when it reaches that
/// point, as `kill -9` or a power cut would: no cleanup, no flush. Tests use it to prove that a
/// crash at every step of a multi-step operation (a compaction, a block deletion) leaves state
/// the next run repairs. Without the variable, `reached` is one comparison against nil.
public enum CrashPoint {
    private static let target: (name: String, nth: Int)? = {
        guard let raw = getenv("STRATA_CRASH_AT") else { return nil }
        let spec = String(cString: raw)
        if let colon = spec.lastIndex(of: ":"), let n = Int(spec[spec.index(after: colon)...]), n > 0 {
            return (String(spec[..<colon]), n)
        }
        return spec.isEmpty ? nil : (spec, 1)
    }()
    private static let hits = Atomic<Int>(0)

    public static func reached(_ name: String) {
        guard let target, target.name == name else { return }
        if hits.add(1, ordering: .relaxed).newValue == target.nth { kill(getpid(), SIGKILL) }
    }
}
