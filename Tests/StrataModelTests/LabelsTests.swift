import Testing
@testable import StrataModel

@Suite struct LabelsTests {
    @Test func buildsSortedBlobAndReadsBack() {
        let l = Labels([("job", "node"), ("__name__", "up"), ("instance", "a:9100")])
        #expect(l.pairs.map(\.name) == ["__name__", "instance", "job"])
        #expect(l.get("job") == "node")
        #expect(l.get("missing") == nil)
        #expect(l.metricName == "up")
        #expect(l.count == 3)
        #expect(l.description == #"{__name__="up", instance="a:9100", job="node"}"#)
    }

    @Test func emptyValuesAreDroppedAndDuplicatesReplaced() {
        let l = Labels([("a", "1"), ("b", ""), ("a", "2")])
        #expect(l.pairs.count == 1)
        #expect(l.get("a") == "2")
    }

    @Test func blobLayoutIsLengthPrefixed() {
        let l = Labels([("a", "bc")])
        #expect(l.bytes == [1, UInt8(ascii: "a"), 2, UInt8(ascii: "b"), UInt8(ascii: "c")])
        let long = String(repeating: "x", count: 200)
        let l2 = Labels([("n", long)])
        #expect(Array(l2.bytes.prefix(4)) == [1, UInt8(ascii: "n"), 0xC8, 0x01])
    }

    @Test func compareFollowsPrometheusOrder() {
        let a = Labels([("a", "1")])
        let ab = Labels([("a", "1"), ("b", "1")])
        let a2 = Labels([("a", "2")])
        let b = Labels([("b", "0")])
        #expect(Labels.compare(a, ab) < 0)   // prefix first
        #expect(Labels.compare(ab, a2) < 0)  // value decides before length
        #expect(Labels.compare(a2, b) < 0)   // name decides first
        #expect(Labels.compare(a, a) == 0)
        // Bytewise, not Unicode order: "Z" (0x5A) < "a" (0x61) < "é" (0xC3 0xA9).
        let sorted = [Labels([("n", "é")]), Labels([("n", "a")]), Labels([("n", "Z")])].sorted()
        #expect(sorted.map { $0.get("n")! } == ["Z", "a", "é"])
        // Long equal prefixes exercise the 8-byte comparison path.
        let p = String(repeating: "q", count: 40)
        #expect(Labels.compare(Labels([("n", p + "a")]), Labels([("n", p + "b")])) < 0)
    }

    /// The prefix-skipping compare agrees with the plain pairwise one (Prometheus' order) on label
    /// sets built to share prefixes: equal first labels, values that are prefixes of each other,
    /// lengths around the one- and two-byte varint boundary, names that differ only in length.
    @Test func compareAgreesWithThePairwiseDefinition() {
        func reference(_ a: Labels, _ b: Labels) -> Int {
            let x = a.dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            let y = b.dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (p, q) in zip(x, y) {
                for (s, t) in [(p.key, q.key), (p.value, q.value)] where s != t {
                    return s.utf8.lexicographicallyPrecedes(t.utf8) ? -1 : 1
                }
            }
            return x.count - y.count
        }
        var rng = SystemRandomNumberGenerator()
        let values = ["", "a", "ab", "b", String(repeating: "v", count: 126), String(repeating: "v", count: 127),
                      String(repeating: "v", count: 128), String(repeating: "v", count: 127) + "w", "é", "a\u{0}", "a\u{0}b", "a\u{1}"]
        let names = ["a", "ab", "b", "__name__", "instance", "instancf", String(repeating: "n", count: 130)]
        var sets: [Labels] = []
        for _ in 0 ..< 400 {
            var pairs: [(String, String)] = [("__name__", "node_cpu_seconds_total")]
            for _ in 0 ..< Int.random(in: 0 ... 4, using: &rng) { pairs.append((names.randomElement(using: &rng)!, values.randomElement(using: &rng)!)) }
            sets.append(Labels(pairs))
        }
        for a in sets { for b in sets.prefix(60) {
            let got = Labels.compare(a, b), want = reference(a, b)
            #expect(got.signum() == want.signum(), "\(a) vs \(b): \(got), want \(want)")
        } }
        // sortedOrder: the same order as sorting by compare, ties in input order.
        let order = Labels.sortedOrder(sets)
        #expect(order.map { sets[$0] } == sets.sorted { reference($0, $1) < 0 })
        #expect(zip(order, order.dropFirst()).allSatisfy { sets[$0] != sets[$1] || $0 < $1 })
    }

    @Test func goQuoteEscapes() {
        #expect(goQuote("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(goQuote("\u{01}") == #""\x01""#)
    }
}

@Suite struct MatcherTests {
    @Test func equalityMatchers() throws {
        let eq = try LabelMatcher(.equal, "job", "node")
        #expect(eq.matches("node") && !eq.matches("nodes"))
        #expect(!eq.matchesEmpty)
        let ne = try LabelMatcher(.notEqual, "job", "node")
        #expect(ne.matches("x") && !ne.matches("node") && ne.matchesEmpty)
        #expect(eq.description == #"job="node""#)
    }

    @Test(arguments: [
        (".*", "", true), (".*", "anything", true), (".+", "", false), (".+", "x", true),
        ("a|b", "a", true), ("a|b", "ab", false), ("a|b", "", false), ("foo.*", "foobar", true),
        ("foo.*", "xfoo", false), ("fo+", "foo", true), ("fo+", "foox", false), ("(?i)abc", "ABC", true),
        ("a.c", "a\nc", true), ("[0-9]+", "123", true), ("[0-9]+", "12a", false), ("", "", true), ("", "x", false),
        ("a|", "", true), (#"\d{2}"#, "42", true),
    ])
    func regexIsAnchoredWithDotAll(pattern: String, input: String, expected: Bool) throws {
        let m = try LabelMatcher(.regexMatch, "x", pattern)
        #expect(m.matches(input) == expected)
        let n = try LabelMatcher(.regexNoMatch, "x", pattern)
        #expect(n.matches(input) == !expected)
    }

    /// What a pattern matches follows Go: code points, not characters.
    @Test func goPatternsMatchCodePointByCodePoint() throws {
        for (pattern, input, expected) in [
            ("e.\u{301}", "ex\u{301}", true), ("e.\u{301}", "e\u{301}", false), (".", "e\u{301}", false),
            ("..", "e\u{301}", true), ("\u{E9}", "e\u{301}", false), ("[\u{E9}]+", "\u{E9}\u{E9}", true),
            (#"\Qa.b\E"#, "a.b", true), (#"\Qa.b\E"#, "axb", false),
        ] {
            #expect(try LabelMatcher(.regexMatch, "x", pattern).matches(input) == expected, "\(pattern) ~ \(input)")
        }
        #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "x", "\u{E9}(") }
    }

    @Test func invalidRegexIsAnError() {
        #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "x", "a(b") }
    }

    @Test(arguments: ["a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", #"(a)\1"#, "(?>ab)", "a*+", "a++", "a?+", "a{2}+"])
    func perlOnlySyntaxIsRejectedLikeRE2(pattern: String) {
        #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "x", pattern) }
    }

    @Test(arguments: [#"a\+"#, "[+*]+", "(?i)x", "(?:a|b)+", #"\d+"#, "[(?=]"])
    func re2SyntaxIsAccepted(pattern: String) throws {
        _ = try LabelMatcher(.regexMatch, "x", pattern)
    }
}
