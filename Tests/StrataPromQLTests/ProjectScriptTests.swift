import Foundation
import StrataPromQL
import StrataTestSupport
import Testing

/// Strata's own promqltest scripts (`Scripts/*.test`): behaviour the upstream corpus does not
/// cover, run with the engine's defaults (immediate name removal, as stock Prometheus). Every
/// eval must pass.
@Suite struct ProjectScriptTests {
    static var scriptsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts").path
    }

    @Test func everyScriptPasses() throws {
        var options = PromQLTestOptions()
        options.engineOptions.delayedNameRemoval = false
        let runner = PromQLTestRunner(options: options)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scriptsDirectory).filter { $0.hasSuffix(".test") }.sorted()
        #expect(files.count >= 2)
        for file in files {
            let report = try runner.runFile(atPath: Self.scriptsDirectory + "/" + file)
            print(report.summary)
            #expect(report.scriptErrors.isEmpty, "\(file): \(report.scriptErrors)")
            #expect(report.failures.isEmpty, "\(report.failures.map(\.description).joined(separator: "\n"))")
            #expect(report.corePassed + report.nonCorePassed > 0)
        }
    }
}
