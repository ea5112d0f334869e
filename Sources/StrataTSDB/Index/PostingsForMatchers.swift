import StrataModel
import StrataStorage

/// An inverted index that can list series refs by label: the head's postings and a block's index.
protocol PostingsIndex {
    func allPostings() throws -> [SeriesRef]
    func postings(_ name: String, _ value: String) throws -> [SeriesRef]
    /// Union of the lists of every value of `name` that `keep` accepts.
    func postings(_ name: String, where keep: (String) -> Bool) throws -> [SeriesRef]
}

extension PostingsIndex {
    /// Refs of the series matching all matchers, with Prometheus' rules for matchers that match
    /// the empty string (they also select series without the label), sorted ascending.
    func postings(for matchers: [LabelMatcher]) throws -> [SeriesRef] {
        var result: [SeriesRef]?
        var subtractions: [[SeriesRef]] = []
        for m in matchers {
            if m.matchesEmpty {
                // Remove series whose value for the label does not match.
                subtractions.append(try postings(m.name) { !m.matches($0) })
            } else {
                let p: [SeriesRef]
                if m.kind == .equal { p = try postings(m.name, m.value) }
                else { p = try postings(m.name) { m.matches($0) } }
                result = result.map { Postings.intersect($0, p) } ?? p
            }
            if result?.isEmpty == true { return [] }
        }
        var refs = try result ?? allPostings()
        for s in subtractions { refs = Postings.subtract(refs, s) }
        return refs
    }
}

extension MemPostings: PostingsIndex {}
extension IndexReader: PostingsIndex {}

extension Querier {
    /// Label names of the series `select` returns (for queriers whose index cannot filter names).
    func labelNamesOfSelected(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws -> [String] {
        var names = Set<ByteString>()
        for s in try select(matchers, hints: SelectHints(mint: mint, maxt: maxt)) { s.labels.forEach { n, _ in names.insert(ByteString(n)) } }
        return names.map(\.string).sortedBytewise()
    }

    /// Values of `name` among the series `select` returns.
    func labelValuesOfSelected(_ name: String, _ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws -> [String] {
        var values = Set<ByteString>()
        for s in try select(matchers, hints: SelectHints(mint: mint, maxt: maxt)) { if let v = s.labels.get(name) { values.insert(ByteString(v)) } }
        return values.map(\.string).sortedBytewise()
    }
}
