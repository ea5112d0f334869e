import StrataModel
import StrataStorage
import StrataTestSupport
import Testing

/// The query-side pieces of tenancy on in-memory storage: external labels attached at query
/// time (overriding, sorted, matched), and the enforced tenant matcher.
@Suite struct TenantQueryTests {
    static func storage(_ series: [[(String, String)]]) -> MemoryStorage {
        let s = MemoryStorage()
        for (i, labels) in series.enumerated() { s.add(Labels(labels), [Sample(t: 1000, v: Double(i))]) }
        return s
    }

    static func select(_ q: any Querier, _ matchers: [LabelMatcher]) throws -> [String] {
        try q.select(matchers, hints: SelectHints(mint: 0, maxt: 10_000)).map(\.labels.description)
    }

    @Test func overridingMergesTwoSortedSets() {
        let base = Labels([("__name__", "m"), ("b", "1"), ("tenant_id", "stored"), ("z", "9")])
        #expect(base.overriding(Labels([("tenant_id", "t")])).description == #"{__name__="m", b="1", tenant_id="t", z="9"}"#)
        #expect(base.overriding(Labels([("a", "x"), ("zz", "y")])).description == #"{__name__="m", a="x", b="1", tenant_id="stored", z="9", zz="y"}"#)
        #expect(Labels.empty.overriding(Labels([("t", "1")])) == Labels([("t", "1")]))
        #expect(base.overriding(.empty) == base)
        // The result is canonical: equal to the same set built from pairs.
        let built = Labels([("__name__", "m"), ("b", "1"), ("tenant_id", "t"), ("z", "9")])
        #expect(base.overriding(Labels([("tenant_id", "t")])) == built)
    }

    @Test func externalLabelsAreAttachedMatchedAndKeptSorted() throws {
        // {a} sorts before {a, b}; with t attached, {a, b, t} sorts before {a, t}: the querier re-sorts.
        let stored = Self.storage([[("__name__", "m"), ("a", "1")], [("__name__", "m"), ("a", "1"), ("b", "2")],
                                   [("__name__", "m"), ("a", "1"), ("t", "stored")]])
        let q = ExternalLabelsQuerier(try stored.querier(mint: 0, maxt: 10_000), labels: Labels([("t", "x")]))
        let name = try LabelMatcher(.equal, "__name__", "m")
        let all = try Self.select(q, [name])
        #expect(all == [#"{__name__="m", a="1", b="2", t="x"}"#, #"{__name__="m", a="1", t="x"}"#, #"{__name__="m", a="1", t="x"}"#])
        // A matcher on the external label is answered by it, never by the stored value.
        #expect(try Self.select(q, [name, try LabelMatcher(.equal, "t", "x")]).count == 3)
        #expect(try Self.select(q, [name, try LabelMatcher(.equal, "t", "stored")]).isEmpty)
        #expect(try Self.select(q, [name, try LabelMatcher(.regexMatch, "t", "x|y")]).count == 3)
        #expect(try Self.select(q, [try LabelMatcher(.equal, "t", "x")]).count == 3, "the external label alone selects everything")
        #expect(try Self.select(q, [name, try LabelMatcher(.notEqual, "t", "x")]).isEmpty)
        // Names and values.
        #expect(try q.labelNames([]) == ["__name__", "a", "b", "t"])
        #expect(try q.labelValues("t", []) == ["x"])
        #expect(try q.labelValues("t", [try LabelMatcher(.equal, "__name__", "other")]).isEmpty)
        #expect(try q.labelNames([try LabelMatcher(.equal, "t", "y")]).isEmpty)
        #expect(try q.labelValues("a", [try LabelMatcher(.equal, "t", "x")]) == ["1"])
    }

    @Test func theEnforcedMatcherReplacesTheRequestsOwn() throws {
        let stored = Self.storage([[("__name__", "m"), ("tenant_id", "a")], [("__name__", "m"), ("tenant_id", "b")]])
        let confined = EnforcedMatcherQueryable(stored, matcher: try LabelMatcher(.equal, "tenant_id", "a"))
        let q = try confined.querier(mint: 0, maxt: 10_000)
        let name = try LabelMatcher(.equal, "__name__", "m")
        #expect(try Self.select(q, [name]) == [#"{__name__="m", tenant_id="a"}"#])
        // Asking for another tenant does not widen (or move) what the request sees.
        #expect(try Self.select(q, [name, try LabelMatcher(.equal, "tenant_id", "b")]) == [#"{__name__="m", tenant_id="a"}"#])
        #expect(try Self.select(q, [name, try LabelMatcher(.regexMatch, "tenant_id", ".*")]) == [#"{__name__="m", tenant_id="a"}"#])
        #expect(try q.labelValues("tenant_id", []) == ["a"])
    }
}
