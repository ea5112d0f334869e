@testable import StrataRules
import Testing

/// Expected values captured from promtool 2.42 (see scripts/capture_fixtures.py).
@Suite struct RenderingFixtureTests {
    @Test(arguments: renderingFixtures)
    func matchesPromtool(_ fixture: PromtoolFixture) {
        PromtoolScenario.check(fixture)
    }
}
