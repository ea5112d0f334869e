/// The outcome of one script file: pass/fail counts per eval class and one line per failed eval.
public struct PromQLTestReport: Sendable {
    public struct Failure: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var query: String
        public var evalClass: EvalClass
        /// One line: expected vs got, or the error text.
        public var reason: String

        public var location: String { "\(file):\(line)" }
        public var description: String { "\(location) [\(evalClass.rawValue)] \(query) — \(reason)" }
    }

    public struct Tally: Sendable, Equatable {
        public var passed: Int
        public var failed: Int
        public var total: Int { passed + failed }
        public init(passed: Int = 0, failed: Int = 0) { self.passed = passed; self.failed = failed }
    }

    public var file: String
    public private(set) var tallies: [EvalClass: Tally] = [:]
    /// Every failed eval of every class, in file order.
    public private(set) var failures: [Failure] = []
    /// Lines that are neither a command nor part of an eval (a broken `load`, an unknown command).
    public var scriptErrors: [String] = []

    public init(file: String) { self.file = file }

    public mutating func record(line: Int, query: String, evalClass: EvalClass, failure reason: String?) {
        if let reason {
            tallies[evalClass, default: Tally()].failed += 1
            let oneLine = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
            failures.append(Failure(file: file, line: line, query: query, evalClass: evalClass, reason: oneLine))
        } else {
            tallies[evalClass, default: Tally()].passed += 1
        }
    }

    public func tally(_ c: EvalClass) -> Tally { tallies[c] ?? Tally() }

    public var corePassed: Int { tally(.core).passed }
    public var coreFailed: Int { tally(.core).failed }
    public var nonCorePassed: Int { tally(.nativeHistogram).passed + tally(.experimental).passed }
    /// Non-core evals that failed, reported as "skipped as unsupported".
    public var nonCoreFailed: Int { tally(.nativeHistogram).failed + tally(.experimental).failed }
    public var coreFailures: [Failure] { failures.filter { $0.evalClass == .core } }

    /// `aggregators.test: core 120/123 passed, 3 failed; 37 non-core (native histograms/experimental): 5 passed, 32 skipped-as-unsupported`
    public var summary: String {
        let core = tally(.core)
        var s = "\(file): core \(core.passed)/\(core.total) passed, \(core.failed) failed; "
            + "\(nonCorePassed + nonCoreFailed) non-core (native histograms/experimental): "
            + "\(nonCorePassed) passed, \(nonCoreFailed) skipped-as-unsupported"
        if !scriptErrors.isEmpty { s += "; \(scriptErrors.count) script errors" }
        return s
    }

    /// Sums the counts of several files into one report named `file`.
    public static func combined(_ reports: [PromQLTestReport], file: String = "TOTAL") -> PromQLTestReport {
        var total = PromQLTestReport(file: file)
        for r in reports {
            for (c, t) in r.tallies {
                total.tallies[c, default: Tally()].passed += t.passed
                total.tallies[c, default: Tally()].failed += t.failed
            }
            total.failures += r.failures
            total.scriptErrors += r.scriptErrors.map { "\(r.file): \($0)" }
        }
        return total
    }

    /// Passed core evals over all core evals (1 when there are none).
    public var corePassRatio: Double {
        let core = tally(.core)
        return core.total == 0 ? 1 : Double(core.passed) / Double(core.total)
    }
}
