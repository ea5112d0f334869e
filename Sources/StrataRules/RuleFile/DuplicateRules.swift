import StrataModel

extension RuleFile {
    /// Rules with the same name and labels, which `promtool check rules` reports (its
    /// `duplicate-rules` lint): they would write the same series. Each duplicate once, sorted.
    public var duplicateRules: [(name: String, labels: Labels)] {
        typealias Entry = (name: String, labels: Labels)
        var all: [Entry] = []
        for g in groups { for r in g.rules { all.append((r.name, Labels(r.labels))) } }
        all.sort { (a: Entry, b: Entry) -> Bool in a.name != b.name ? a.name < b.name : a.labels < b.labels }
        func same(_ a: Entry, _ b: Entry) -> Bool { a.name == b.name && a.labels == b.labels }
        var out: [Entry] = []
        for i in all.indices.dropFirst() where same(all[i], all[i - 1]) {
            if let last = out.last, same(last, all[i]) { continue }
            out.append(all[i])
        }
        return out
    }

    /// The lint finding as promtool words it, or nil when there are no duplicates.
    public var duplicateRulesReport: String? {
        let dups = duplicateRules
        guard !dups.isEmpty else { return nil }
        var message = "lint error \(dups.count) duplicate rule(s) found.\n"
        for d in dups {
            message += "Metric: \(d.name)\nLabel(s):\n"
            d.labels.forEach { k, v in message += "\t\(k): \(v)\n" }
        }
        return message + "Might cause inconsistency while recording expressions"
    }
}
