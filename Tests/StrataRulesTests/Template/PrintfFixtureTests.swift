@testable import StrataRules
import Testing

/// Expected values captured from promtool 2.42 (see scripts/capture_fixtures.py).
@Suite struct PrintfFixtureTests {
    @Test(arguments: printfFixtures)
    func matchesPromtool(_ fixture: PromtoolFixture) {
        PromtoolScenario.check(fixture)
    }
}
