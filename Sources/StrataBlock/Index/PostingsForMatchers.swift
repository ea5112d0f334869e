import StrataModel
import StrataStorage

/// An inverted index that can list series refs by label: the head's postings and a block's index.
public protocol PostingsIndex {
    func allPostings() throws -> [SeriesRef]
    func postings(_ name: String, _ value: String) throws -> [SeriesRef]
    /// Union of the lists of every value of `name` that `keep` accepts; `interrupt` is called
    /// every 1,024 values and may throw to stop the scan.
    func postings(_ name: String, where keep: (String) -> Bool, interrupt: (() throws -> Void)?) throws -> [SeriesRef]
    /// Every label name, and every value of `name`, in no particular order.
    func labelNames() -> [String]
    func labelValues(_ name: String) throws -> [String]
}

extension PostingsIndex {
    /// Refs of the series matching all matchers, with Prometheus' rules for matchers that match
    /// the empty string (they also select series without the label), sorted ascending.
    public func postings(for matchers: [LabelMatcher], interrupt: (() throws -> Void)? = nil) throws -> [SeriesRef] {
        var result: [SeriesRef]?
        var subtractions: [[SeriesRef]] = []
        for m in matchers {
            if m.matchesEmpty {
                // Remove series whose value for the label does not match.
                subtractions.append(try postings(m.name, where: { !m.matches($0) }, interrupt: interrupt))
            } else {
                let p: [SeriesRef]
                if m.kind == .equal { p = try postings(m.name, m.value) }
                else { p = try postings(m.name, where: { m.matches($0) }, interrupt: interrupt) }
                result = result.map { Postings.intersect($0, p) } ?? p
            }
            if result?.isEmpty == true { return [] }
        }
        var refs = try result ?? allPostings()
        for s in subtractions { refs = Postings.subtract(refs, s) }
        return refs
    }
}

extension IndexReader: PostingsIndex {}

/// A querier over one postings index (the head's or a block's). Label lists come straight from
/// the index without matchers, and from the series the matchers select otherwise, as Prometheus
/// answers them.
public protocol IndexedQuerier: Querier {
    var postingsIndex: any PostingsIndex { get }
    var mint: Int64 { get }
    var maxt: Int64 { get }
}

extension IndexedQuerier {
    public func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        if matchers.isEmpty { return postingsIndex.labelNames().sortedBytewise() }
        var names = Set<ByteString>()
        for s in try select(matchers, hints: SelectHints(mint: mint, maxt: maxt)) { s.labels.forEach { n, _ in names.insert(ByteString(n)) } }
        return names.map(\.string).sortedBytewise()
    }

    public func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        if matchers.isEmpty { return try postingsIndex.labelValues(name).sortedBytewise() }
        var values = Set<ByteString>()
        for s in try select(matchers, hints: SelectHints(mint: mint, maxt: maxt)) { if let v = s.labels.get(name) { values.insert(ByteString(v)) } }
        return values.map(\.string).sortedBytewise()
    }
}
