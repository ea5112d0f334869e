import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataBlock
@testable import StrataTSDB

/// Label values are compared as bytes, as Prometheus compares Go strings: "é" as one code point
/// (NFC) and as "e" plus a combining accent (NFD) are different values in the head's postings,
/// in blocks, and in the merge of both.
@Suite struct UnicodeLabelTests {
    static let nfc = "\u{E9}", nfd = "e\u{301}"

    static func bytes(_ values: [String]) -> [[UInt8]] { values.map { Array($0.utf8) } }

    /// The `v` values of the series `matcher` selects, bytewise sorted.
    static func selected(_ storage: any Queryable, _ kind: LabelMatcher.Kind, _ value: String) throws -> [[UInt8]] {
        let matchers = [try LabelMatcher(.equal, "__name__", "m"), try LabelMatcher(kind, "v", value)]
        return bytes(try read(storage, matchers).compactMap { $0.0.get("v") }.sortedBytewise())
    }

    static func expectDistinct(_ storage: any Queryable) throws {
        let nfc = bytes([Self.nfc]), nfd = bytes([Self.nfd]), both = bytes([Self.nfd, Self.nfc])
        #expect(try selected(storage, .equal, Self.nfc) == nfc)
        #expect(try selected(storage, .equal, Self.nfd) == nfd)
        #expect(try selected(storage, .notEqual, Self.nfc) == nfd)
        #expect(try selected(storage, .regexMatch, Self.nfc + "|x") == nfc)  // literal alternatives
        #expect(try selected(storage, .regexMatch, "e.*") == nfd)           // prefix
        #expect(try selected(storage, .regexMatch, "e.") == nfd)            // engine, code points
        #expect(try selected(storage, .regexNoMatch, ".") == nfd)
        let q = try storage.querier(mint: .min, maxt: .max)
        #expect(bytes(try q.labelValues("v", [])) == both)
        #expect(bytes(try q.labelValues("v", [try LabelMatcher(.regexMatch, "v", ".+")])) == both)
        #expect(try q.select([try LabelMatcher(.equal, "__name__", "m")], hints: SelectHints(mint: .min, maxt: .max)).count == 2)
    }

    @Test func theHeadKeepsThemApart() throws {
        let head = Head()
        _ = append(head, Labels([("__name__", "m"), ("v", Self.nfc)]), [(1000, 1)])
        _ = append(head, Labels([("__name__", "m"), ("v", Self.nfd)]), [(1000, 2)])
        #expect(head.numSeries == 2)
        try Self.expectDistinct(head)
    }

    @Test func blocksAndTheHeadTogetherKeepThemApart() throws {
        let dir = try TempDir("unicode-labels"); defer { dir.remove() }
        var options = HeadOptions()
        options.chunkRange = hour
        let head = Head(options: options)
        for t in stride(from: Int64(0), to: 2 * hour, by: 60_000) {
            _ = append(head, Labels([("__name__", "m"), ("v", Self.nfc)]), [(t, 1)])
            _ = append(head, Labels([("__name__", "m"), ("v", Self.nfd)]), [(t, 2)])
        }
        let db = try DB(dir: dir.path, head: head)
        #expect(try db.compactHead().blocks.count == 1)
        // The first hour is in a block, the second still in the head; the merge keeps two values.
        try Self.expectDistinct(db)
        let all = try readAll(db)
        #expect(all.count == 2 && all.values.allSatisfy { $0.count == 120 })
    }

    /// Label names too (UTF-8 names are allowed since Prometheus 3): the block index keeps the
    /// two spellings of a name apart, as the head does.
    @Test func labelNamesStayApartInBlocksAndTheHead() throws {
        let dir = try TempDir("unicode-names"); defer { dir.remove() }
        var options = HeadOptions()
        options.chunkRange = hour
        let head = Head(options: options)
        for t in stride(from: Int64(0), to: 2 * hour, by: 60_000) {
            _ = append(head, Labels([("__name__", "m"), (Self.nfd, "x")]), [(t, 1)])
            _ = append(head, Labels([("__name__", "m"), (Self.nfc, "y")]), [(t, 2)])
        }
        let db = try DB(dir: dir.path, head: head)
        #expect(try db.compactHead().blocks.count == 1)
        for (mint, maxt) in [(Int64(0), hour - 1), (hour, 2 * hour)] { // the block, then the head
            let q = try db.querier(mint: mint, maxt: maxt)
            #expect(Self.bytes(try q.labelNames([])) == Self.bytes(["__name__", Self.nfd, Self.nfc]))
            #expect(Self.bytes(try q.labelValues(Self.nfd, [])) == [Array("x".utf8)])
            #expect(Self.bytes(try q.labelValues(Self.nfc, [])) == [Array("y".utf8)])
            let hints = SelectHints(mint: mint, maxt: maxt)
            for (name, value) in [(Self.nfd, "x"), (Self.nfc, "y")] {
                let got = try q.select([try LabelMatcher(.equal, name, value)], hints: hints)
                #expect(got.count == 1 && got.first?.labels.get(name).map { Array($0.utf8) } == Array(value.utf8))
            }
            #expect(try q.select([try LabelMatcher(.equal, Self.nfc, "x")], hints: hints).isEmpty)
        }
    }

    /// Metric metadata is kept per metric name as bytes too, sorted bytewise.
    @Test func metadataOfBothSpellingsIsKept() throws {
        let head = Head()
        let app = head.appender()
        app.appendMetadata(MetricMetadata(metricFamilyName: "m_" + Self.nfc, type: .gauge, help: "one", unit: ""))
        app.appendMetadata(MetricMetadata(metricFamilyName: "m_" + Self.nfd, type: .counter, help: "two", unit: ""))
        try app.commit()
        let got = head.metricMetadata
        #expect(Self.bytes(got.map(\.metricFamilyName)) == Self.bytes(["m_" + Self.nfd, "m_" + Self.nfc]))
        #expect(got.map(\.help) == ["two", "one"])
    }
}
