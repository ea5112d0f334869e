import Foundation

/// Prometheus' PromQL test scripts (`../shared/conformance/promql`, or `STRATA_PROMQL_CORPUS`) and
/// the project's own (`Tests/StrataPromQLTests/Scripts`), found and run in one place so that every
/// storage the tests try answers the same scripts.
public enum PromQLCorpus {
    /// <repo>/Sources/StrataTestSupport/PromQLTest/<this file> → <repo>.
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["STRATA_PROMQL_CORPUS"] { return dir }
        let besideRepo = repository.deletingLastPathComponent().appendingPathComponent("shared/conformance/promql").path
        // A clean clone elsewhere (CI) still finds the workspace's shared folder.
        let candidates = [besideRepo, "/work/shared/conformance/promql"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? besideRepo
    }

    public static var projectScriptsDirectory: String {
        repository.appendingPathComponent("Tests/StrataPromQLTests/Scripts").path
    }

    /// Runs every `.test` file of the upstream corpus, biggest first so two cores finish together;
    /// reports sorted by file. Nil when the corpus is missing.
    public static func runUpstream(_ runner: PromQLTestRunner) async -> [PromQLTestReport]? {
        let dir = directory
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".test") }
        guard !files.isEmpty else { return nil }
        let classes = PromQLCaseList.load(corpusDirectory: dir)
        func size(_ f: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + f))?[.size] as? Int) ?? 0 }
        let bySize = files.sorted { size($0) > size($1) }
        let reports = await withTaskGroup(of: PromQLTestReport.self) { group in
            for file in bySize {
                group.addTask {
                    do { return try runner.runFile(atPath: dir + "/" + file, classes: classes?[file]) } catch {
                        var r = PromQLTestReport(file: file)
                        r.scriptErrors.append("cannot read: \(error)")
                        return r
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        return reports.sorted { $0.file < $1.file }
    }

    /// Runs the project's scripts, in file order.
    public static func runProjectScripts(_ runner: PromQLTestRunner) throws -> [PromQLTestReport] {
        let dir = projectScriptsDirectory
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".test") }.sorted()
            .map { try runner.runFile(atPath: dir + "/" + $0) }
    }

    /// The project scripts' settings: the engine's defaults (immediate name removal, as stock
    /// Prometheus), unlike the corpus's.
    public static var projectScriptOptions: PromQLTestOptions {
        var options = PromQLTestOptions()
        options.engineOptions.delayedNameRemoval = false
        return options
    }
}
