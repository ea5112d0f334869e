import StrataModel

/// A queryable every read of which carries one more matcher (a tenant's label, under
/// `--query.enforce-tenancy`), replacing any matcher on that label the request brought, as
/// prom-label-proxy rewrites selectors: a request cannot widen what it sees.
public struct EnforcedMatcherQueryable: Queryable {
    public let base: any Queryable
    public let matcher: LabelMatcher

    public init(_ base: any Queryable, matcher: LabelMatcher) { self.base = base; self.matcher = matcher }

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        EnforcedMatcherQuerier(base: try base.querier(mint: mint, maxt: maxt), matcher: matcher)
    }
}

struct EnforcedMatcherQuerier: Querier {
    let base: any Querier
    let matcher: LabelMatcher

    func enforced(_ matchers: [LabelMatcher]) -> [LabelMatcher] { matchers.filter { $0.name != matcher.name } + [matcher] }

    func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        try base.select(enforced(matchers), hints: hints)
    }
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try base.labelNames(enforced(matchers)) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] { try base.labelValues(name, enforced(matchers)) }
    func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try base.labelNames(enforced(matchers), hints: hints)
    }
    func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try base.labelValues(name, enforced(matchers), hints: hints)
    }
}
