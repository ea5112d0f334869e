import Testing
@testable import StrataModel

/// The DFA (eager part, per-call lazy continuation, cache flushes) must agree with the
/// Pike VM on every input; tiny budgets force the lazy and flush paths.
@Suite struct DFAAgreesWithPikeVM {
    static let patterns = [
        "(?:a|b)*a(?:a|b){6}", ".*a.{5}", "(a|ab)(c|bcd)(d*)", "(?m)(?:^a|b$|\\bc)+.{3}",
        "\\b(?:ab|b)\\B.*", "(?i)k+(?:é|\\W)*", "[^a]*a[^b]*", "(?:x*\\z|a)*",
    ]

    @Test(arguments: patterns)
    func randomInputs(_ pattern: String) throws {
        let parsed = try RegexParser.parse(pattern)
        let prog = try RegexCompiler.compile(parsed.root, captureCount: parsed.captureNames.count - 1, pattern: pattern)
        let pike = PikeVM(prog)
        let full = RegexDFA(prog)
        let tiny = RegexDFA(prog, eagerBudget: 0, lazyBudget: 0)
        let alphabet: [[UInt8]] = [[0x61], [0x62], [0x63], [0x64], [0x6B], [0x0A], [0x20], [0x78], Array("é".utf8), Array("\u{212A}".utf8), [0xFF]]
        var seed: UInt64 = 42
        for _ in 0..<3000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let len = Int(seed >> 59)  // 0...31
            var bytes: [UInt8] = []
            for k in 0..<len { bytes += alphabet[Int((seed >> UInt64(k % 50)) % UInt64(alphabet.count))] ; seed = seed &* 2862933555777941757 &+ 3037000493 }
            bytes.withUnsafeBufferPointer { p in
                let want = pike.wholeMatch(p) != nil
                #expect(full.wholeMatch(p) == want, "\(pattern) on \(bytes)")
                #expect(tiny.wholeMatch(p) == want, "\(pattern) on \(bytes) (tiny cache)")
            }
        }
    }

    @Test func eagerDFACompletesForTypicalPatterns() throws {
        for p in ["api|web|db", "prod-.*", "(?i)error.*", "[a-z]+-[0-9]{3}", "\\pL+"] {
            let parsed = try RegexParser.parse(p)
            let prog = try RegexCompiler.compile(parsed.root, captureCount: parsed.captureNames.count - 1, pattern: p)
            #expect(RegexDFA(prog).complete, "\(p)")
        }
        let parsed = try RegexParser.parse(".*a.{14}")
        #expect(!RegexDFA(try RegexCompiler.compile(parsed.root, captureCount: 0, pattern: "")).complete)
    }
}
