import Testing
@testable import StrataRules

/// Inputs the rule-file fuzz harness (Fuzz/, docs/fuzzing.md) crashed on: each must now be
/// refused with an error.
@Suite struct RulesFuzzRegressionTests {
    /// Carriage returns end lines for libyaml, so the repeated key's mark was past the last
    /// `\n`-separated line, and looking for the repeat trapped on an empty range.
    @Test func aRepeatedKeyAfterCarriageReturnsIsAnError() throws {
        let crash = "groups:\n  - naie: slo\r\r\r\r\r\r\r\rgroups:\n  - name: chain\n    rules:\n      - record: job:x:sum\n        expr: sum l\n"
            + "    rules:\n      - alert: Templated\n" + String(decoding: [UInt8](repeating: 0xff, count: 40) + [0x30] + [UInt8](repeating: 0xff, count: 80), as: UTF8.self)
        #expect(throws: RuleFileError.self) { try RuleFileParser().parse(crash, path: "crash.yml") }
        do { _ = try RuleFileParser().parse("groups:\r- name: a\r  name: b\r  rules: []\r", path: "cr.yml") } catch {
            #expect(error.description == "cr.yml: yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined at line 2")
        }
    }
}
