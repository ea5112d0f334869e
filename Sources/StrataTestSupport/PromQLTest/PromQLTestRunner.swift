import Foundation
import StrataModel
import StrataPromQL
import StrataPromQLParser
import StrataStorage

/// Where a script's `load`s go and its evals read from: `MemoryStorage`, or (in the TSDB tests)
/// a head or a DB with blocks, so the corpus also checks what storage hands the engine.
public protocol PromQLTestStorage: Queryable {
    /// Adds samples of one series (a later `load` may add to a series an earlier one created).
    func add(_ labels: Labels, _ samples: [Sample])
    /// Called before an eval that follows `load`s: storage that needs to (a DB cutting blocks)
    /// gets ready to be queried.
    func prepareForQueries() throws
}

extension MemoryStorage: PromQLTestStorage {
    public func prepareForQueries() {}
}

public struct PromQLTestOptions: Sendable {
    /// Also run each eligible instant eval as a range query t-1m..t+1m step 1m and compare the
    /// point at t (the reference runner's first extra check). The @-invariance check is not done.
    public var checkRangeMode = true
    public var engineOptions: EngineOptions = PromQLTestOptions.conformanceEngineOptions
    public var parserOptions = ParserOptions(experimentalFunctions: true)
    /// A fresh storage for each script and after each `clear`.
    public var makeStorage: @Sendable () -> any PromQLTestStorage = { MemoryStorage() }
    /// How range queries run (the script's and the range-mode checks'): the engine's
    /// `rangeQuery` unless a test puts something in front of it (the results cache).
    public var rangeQuery: (@Sendable (_ engine: Engine, _ storage: any Queryable, _ expr: Expr, _ start: Int64, _ end: Int64,
                                       _ step: Int64) throws(QueryError) -> QueryResult)?

    public init() {}

    /// The settings the corpus expectations assume (README, "Engine settings").
    public static var conformanceEngineOptions: EngineOptions {
        var o = EngineOptions()
        o.lookbackDelta = 5 * 60_000
        o.defaultSubqueryStep = 60_000
        o.maxSamples = 10_000
        o.timeout = .seconds(100)
        o.delayedNameRemoval = true
        return o
    }
}

/// Runs PromQL test scripts (Prometheus' `promqltest` language) against Strata's engine over a
/// `PromQLTestStorage` (`MemoryStorage` unless the options say otherwise). Every eval runs, whatever its class; the report separates the classes.
public struct PromQLTestRunner: Sendable {
    public let options: PromQLTestOptions
    let engine: Engine

    public init(options: PromQLTestOptions = .init()) {
        self.options = options
        engine = Engine(options: options.engineOptions)
    }

    /// Runs a script file; `classes` maps eval lines to classes (see `PromQLCaseList`), and
    /// evals it does not list are classified by `EvalClassifier`.
    public func runFile(atPath path: String, classes: [Int: EvalClass]? = nil) throws -> PromQLTestReport {
        let script = try String(contentsOfFile: path, encoding: .utf8)
        return run(script: script, file: URL(fileURLWithPath: path).lastPathComponent, classes: classes)
    }

    public func run(script: String, file: String, classes: [Int: EvalClass]? = nil) -> PromQLTestReport {
        var report = PromQLTestReport(file: file)
        var storage = options.makeStorage()
        var loaded = SpecialSeries()
        var unprepared = false
        for command in PromQLScriptParser.parse(script) {
            switch command {
            case .clear:
                storage = options.makeStorage()
                loaded = SpecialSeries()
            case .load(let load):
                loaded += Self.apply(load, to: storage)
                unprepared = true
            case .eval(let ev):
                if unprepared {
                    do { try storage.prepareForQueries() } catch { report.scriptErrors.append("line \(ev.line): preparing storage: \(error)") }
                    unprepared = false
                }
                let (reason, expr) = evaluate(ev, on: storage)
                let cls = classes?[ev.line] ?? EvalClassifier.classify(ev, expr: expr, loaded: loaded)
                report.record(line: ev.line, query: ev.query, evalClass: cls, failure: reason)
            case .invalid(let line, let message, let query?):
                let cls = classes?[line] ?? EvalClassifier.classify(queryText: query)
                report.record(line: line, query: query, evalClass: cls, failure: "unreadable eval: \(message)")
            case .invalid(let line, let message, nil):
                report.scriptErrors.append("line \(line): \(message)")
            }
        }
        return report
    }

    /// Stores the float samples (timestamps `k * step`); returns the series that carried native
    /// histograms (not stored, nor is what `load_with_nhcb` would synthesise) or that belong to
    /// flag-gated features, for classifying evals.
    static func apply(_ load: LoadCommand, to storage: any PromQLTestStorage) -> SpecialSeries {
        var special = SpecialSeries()
        special.experimental = load.startTimestampSeries
        for series in load.series {
            var samples: [Sample] = []
            for (k, value) in series.values.enumerated() {
                if case .float(let v) = value { samples.append(Sample(t: Int64(k) * load.step, v: v)) }
            }
            storage.add(series.labels, samples)
            if series.values.contains(where: \.isHistogram) { special.histograms.append(series.labels) }
            if load.withNHCB, let base = classicHistogramBase(series.labels) { special.histograms.append(base) }
            if series.labels.get("__type__") != nil || series.labels.get("__unit__") != nil {
                special.experimental.append(series.labels)
            }
        }
        return special
    }

    /// `x_bucket{le=…}`, `x_count`, `x_sum` → the labels of the native histogram `x`.
    static func classicHistogramBase(_ labels: Labels) -> Labels? {
        guard let name = labels.metricName else { return nil }
        for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) {
            var b = LabelsBuilder(labels.dropping(["le"]))
            b.set("__name__", String(name.dropLast(suffix.count)))
            return b.labels()
        }
        return nil
    }
}
