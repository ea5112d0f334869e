import StrataModel

/// A querier whose series all carry `labels` (a tenant's label, a block's `thanos.labels`),
/// attached at query time and overriding a stored label of the same name, as Thanos' stores
/// attach external labels. A matcher on an external label is answered here: one the value does
/// not match selects nothing, one it matches is not passed down (the stored series do not have
/// the label, or have it overridden). A selection the caller does not need sorted gets them
/// when each series' labels are read (`StorageSeries.overriding(lazily:)`).
public struct ExternalLabelsQuerier: Querier {
    public let base: any Querier
    public let labels: Labels
    private let values: [String: String]

    public init(_ base: any Querier, labels: Labels) {
        self.base = base
        self.labels = labels
        self.values = labels.dictionary
    }

    /// The matchers left for the stored series, or nil when an external label rules them all out.
    public static func remaining(_ matchers: [LabelMatcher], external values: [String: String]) -> [LabelMatcher]? {
        var rest: [LabelMatcher] = []
        rest.reserveCapacity(matchers.count)
        for m in matchers {
            if let v = values[m.name] {
                if !m.matches(v) { return nil }
            } else {
                rest.append(m)
            }
        }
        return rest
    }

    public func select(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [any StorageSeries] {
        guard let rest = Self.remaining(matchers, external: values) else { return [] }
        // Relabeled in place: a list the base built for this call is not copied into a second one.
        var out = try base.select(rest, hints: hints)
        if labels.isEmpty { return out }
        guard hints.sortSeries else {
            for i in out.indices { out[i] = out[i].overriding(lazily: labels) }
            return out
        }
        var sorted = true
        var previous = Labels.empty
        for i in out.indices {
            let relabeled = out[i].labels.overriding(labels)
            if sorted, i > 0, Labels.compare(previous, relabeled) > 0 { sorted = false }
            out[i] = out[i].relabeled(relabeled)
            previous = relabeled
        }
        // Adding a label keeps most lists sorted, not all ({a} < {a,b}, but {a,b,t} < {a,t}).
        if !sorted { out.sortByLabels(\.labels) }
        return out
    }

    public func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try names(matchers) { try base.labelNames($0) } }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        try values(name, matchers, names: { try base.labelNames($0) }, values: { try base.labelValues(name, $0) })
    }
    public func labelNames(_ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try names(matchers) { try base.labelNames($0, hints: hints) }
    }
    public func labelValues(_ name: String, _ matchers: [LabelMatcher], hints: SelectHints) throws -> [String] {
        try values(name, matchers, names: { try base.labelNames($0, hints: hints) }, values: { try base.labelValues(name, $0, hints: hints) })
    }

    /// The stored names plus the external ones, when any series is there to carry them.
    private func names(_ matchers: [LabelMatcher], _ read: ([LabelMatcher]) throws -> [String]) throws -> [String] {
        guard let rest = Self.remaining(matchers, external: values) else { return [] }
        let stored = try read(rest)
        if stored.isEmpty { return [] }
        return (stored + values.keys).uniqueSortedBytewise()
    }

    private func values(_ name: String, _ matchers: [LabelMatcher], names: ([LabelMatcher]) throws -> [String],
                        values read: ([LabelMatcher]) throws -> [String]) throws -> [String] {
        guard let rest = Self.remaining(matchers, external: values) else { return [] }
        if let v = values[name] { return try names(rest).isEmpty ? [] : [v] }
        return try read(rest)
    }
}
