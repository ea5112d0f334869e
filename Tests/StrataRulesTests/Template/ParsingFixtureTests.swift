@testable import StrataRules
import Testing

/// Expected values captured from promtool 2.42 (see scripts/capture_fixtures.py).
@Suite struct ParsingFixtureTests {
    @Test(arguments: parsingFixtures)
    func matchesPromtool(_ fixture: PromtoolFixture) {
        PromtoolScenario.check(fixture)
    }
}
