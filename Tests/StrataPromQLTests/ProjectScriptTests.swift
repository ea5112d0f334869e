import Foundation
import StrataPromQL
import StrataTestSupport
import Testing

/// Strata's own promqltest scripts (`Scripts/*.test`): behaviour the upstream corpus does not
/// cover, run with the engine's defaults (immediate name removal, as stock Prometheus). Every
/// eval must pass.
@Suite struct ProjectScriptTests {
    @Test func everyScriptPasses() throws {
        let reports = try PromQLCorpus.runProjectScripts(PromQLTestRunner(options: PromQLCorpus.projectScriptOptions))
        #expect(reports.count >= 2)
        for report in reports {
            print(report.summary)
            #expect(report.scriptErrors.isEmpty, "\(report.file): \(report.scriptErrors)")
            #expect(report.failures.isEmpty, "\(report.failures.map(\.description).joined(separator: "\n"))")
            #expect(report.corePassed + report.nonCorePassed > 0)
        }
    }
}
