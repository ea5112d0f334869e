#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataRuntime
import StrataStorage
import Synchronization

/// How rules are loaded and run (`strata serve`'s `--rule-file` and `--rules.*` flags).
public struct RuleManagerOptions: Sendable {
    /// Globs, as Prometheus' `rule_files` (a pattern that matches nothing is not an error).
    public var ruleFiles: [String] = []
    /// Milliseconds, for groups without `interval` (Prometheus' `evaluation_interval`, 1m).
    public var evaluationInterval: Int64 = 60_000
    /// For groups without `query_offset` (`--rules.query-offset`).
    public var queryOffset: Int64 = 0
    /// `--rules.alert.for-outage-tolerance`: how far back `for` state is restored from (1h).
    public var outageTolerance: Int64 = 3_600_000
    /// `--rules.alert.for-grace-period`: the least time left to fire after a restore (10m).
    public var forGracePeriod: Int64 = 600_000
    /// `--rules.alert.resend-delay` (1m).
    public var resendDelay: Int64 = 60_000
    public var parser = RuleFileParser()

    public init() {}
}

/// Loads rule files and runs their groups, each on its own schedule, until stopped; `reload()`
/// swaps in new files without losing the state of groups and rules that did not change.
public final class RuleManager: Sendable {
    public let options: RuleManagerOptions
    let context: RuleEvaluationContext
    let output: RuleGroupOutput
    let logger: Logger

    struct State {
        var groups: [RuleGroup] = []
        var files: [String] = []
        var tasks: [String: Task<Void, Never>] = [:]
        var running = false
        var lastReloadSuccessful = true
        var lastReloadMillis: Int64 = 0
    }
    private let state = Mutex(State())

    public init(options: RuleManagerOptions, context: RuleEvaluationContext, output: RuleGroupOutput, logger: Logger) {
        self.options = options
        self.context = context
        self.output = output
        self.logger = logger
    }

    /// The groups in file order, then group order.
    public var groups: [RuleGroup] { state.withLock { $0.groups } }
    /// The files the rule-file globs matched at the last load.
    public var files: [String] { state.withLock { $0.files } }
    public var lastReload: (successful: Bool, millis: Int64) { state.withLock { ($0.lastReloadSuccessful, $0.lastReloadMillis) } }

    /// The files `patterns` match, sorted per pattern as Go's `filepath.Glob` returns them.
    public static func expand(_ patterns: [String]) throws(RuleFileError) -> [String] {
        var out: [String] = []
        for pattern in patterns {
            var g = glob_t()
            defer { globfree(&g) }
            let rc = glob(pattern, 0, nil, &g)
            if rc == GLOB_NOMATCH { continue }
            guard rc == 0 else { throw RuleFileError(path: pattern, problems: ["\(pattern): syntax error in pattern"]) }
            var matched: [String] = []
            for i in 0 ..< Int(g.gl_pathc) { if let p = g.gl_pathv[i] { matched.append(String(cString: p)) } }
            out += matched.sorted().filter { !out.contains($0) }
        }
        return out
    }

    /// Parses every file the globs match; the first file that fails fails the load.
    public func loadGroups(restored: Bool) throws(RuleFileError) -> (groups: [RuleGroup], files: [String]) {
        let files = try Self.expand(options.ruleFiles)
        var groups: [RuleGroup] = []
        for path in files {
            let file = try options.parser.load(path: path)
            groups += file.groups.map {
                RuleGroup($0, file: path, interval: options.evaluationInterval, queryOffset: options.queryOffset, restored: restored)
            }
        }
        return (groups, files)
    }

    /// Loads the rule files and starts their groups. Throws (and runs nothing) when one does
    /// not load: at start-up a bad rule file stops Strata, as it stops Prometheus.
    public func start() throws(RuleFileError) {
        let (groups, files) = try loadGroups(restored: false)
        state.withLock { s in
            s.groups = groups
            s.files = files
            s.running = true
            s.lastReloadSuccessful = true
            s.lastReloadMillis = WallClock.nowMillis()
            for g in groups { s.tasks[g.key] = launch(g, restore: true) }
        }
        if !options.ruleFiles.isEmpty {
            logger.info("rules loaded", metadata: ["files": "\(files.count)", "groups": "\(groups.count)",
                                                   "rules": "\(groups.reduce(0) { $0 + $1.rules.count })"])
        }
    }

    /// Reads the rule files again. A file that does not load keeps every current group running
    /// and is the error; otherwise groups that are gone stop (their series marked stale),
    /// groups that stayed keep their alerts and state, and new ones start.
    public func reload() throws(RuleFileError) {
        let loaded: (groups: [RuleGroup], files: [String])
        do { loaded = try loadGroups(restored: true) } catch {
            state.withLock { $0.lastReloadSuccessful = false }
            logger.error("rules not reloaded; the previous rules stay in force", metadata: ["err": "\(error)"])
            throw error
        }
        let now = WallClock.nowMillis()
        let stopped: [RuleGroup] = state.withLock { s in
            let old = Dictionary(s.groups.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            let newKeys = Set(loaded.groups.map(\.key))
            for g in loaded.groups { if let o = old[g.key] { g.copyState(from: o) } }
            let previous = s.tasks
            for (_, t) in previous { t.cancel() }
            s.tasks = [:]
            let gone = s.groups.filter { !newKeys.contains($0.key) }
            s.groups = loaded.groups
            s.files = loaded.files
            s.lastReloadSuccessful = true
            s.lastReloadMillis = now
            // A group's new schedule starts once its old one has finished an evaluation in flight.
            if s.running { for g in loaded.groups { s.tasks[g.key] = launch(g, restore: false, after: previous[g.key]) } }
            return gone
        }
        for g in stopped { g.markStale(at: now, output.appendable) }
        logger.info("rules reloaded", metadata: ["files": "\(loaded.files.count)", "groups": "\(loaded.groups.count)"])
    }

    /// Stops every group; series the rules wrote are left as they are (Prometheus marks them
    /// stale only for groups removed by a reload).
    public func stop() {
        let tasks = state.withLock { s in
            s.running = false
            defer { s.tasks = [:] }
            return Array(s.tasks.values)
        }
        for t in tasks { t.cancel() }
    }

    /// One group's schedule: the first evaluation at the next aligned time, then one per
    /// interval; an evaluation that overran skips the times it missed (counted). A group
    /// started with the manager restores `for` state after its second evaluation, when rules
    /// that alerts depend on have had a chance to record.
    private func launch(_ group: RuleGroup, restore: Bool, after previous: Task<Void, Never>? = nil) -> Task<Void, Never> {
        Task.detached { [self] in
            await previous?.value
            var evalTime = group.evalTimestamp(at: WallClock.nowMillis()) + group.interval
            var evaluations = 0
            while !Task.isCancelled {
                let wait = evalTime - WallClock.nowMillis()
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(wait)) } catch { return }
                }
                let t = evalTime
                await BlockingThread.run(stackBytes: BlockingThread.queryStackBytes) { [self] in
                    group.evaluate(at: t, context, output)
                }
                evaluations += 1
                if restore && evaluations == 2 {
                    let now = WallClock.nowMillis()
                    await BlockingThread.run { [self] in restoreForState(group, at: now) }
                }
                let missed = (WallClock.nowMillis() - evalTime) / group.interval - 1
                if missed > 0 { group.countMissed(Int(missed)) }
                evalTime += (max(missed, 0) + 1) * group.interval
            }
        }
    }

    func restoreForState(_ group: RuleGroup, at t: Int64) {
        let alerting = group.rules.compactMap { $0 as? AlertingRule }
        guard !alerting.isEmpty else { return }
        let mint = t - options.outageTolerance
        guard let querier = try? context.queryable.querier(mint: mint, maxt: t) else {
            logger.error("restoring the 'for' state of alerts failed: storage not readable", metadata: ["group": "\(group.name)"])
            for r in alerting { r.setRestored() }
            return
        }
        for r in alerting { r.restoreForState(at: t, mint: mint, querier: querier, forGracePeriod: options.forGracePeriod) }
    }

    /// Every alert of every alerting rule that is pending or firing, as `/api/v1/alerts` lists them.
    public var activeAlerts: [Alert] {
        groups.flatMap { $0.rules.compactMap { $0 as? AlertingRule }.flatMap { $0.alerts.filter { $0.state != .inactive } } }
    }
}
