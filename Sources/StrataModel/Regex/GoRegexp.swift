// Public API: a linear-time, RE2-syntax regular expression with Go `regexp` semantics,
// always matched against the whole string, the way Prometheus uses label regexes.

/// A compiled Go/RE2-syntax regular expression, matched against whole strings.
///
/// Semantics are those of Go's `regexp.MustCompile("^(?s:" + pattern + ")$")`, which is how
/// Prometheus compiles label matchers and `label_replace` regexes: the match is anchored at
/// both ends, and `.` also matches `\n` (write `(?-s)` to turn that off). Matching time is
/// O(len(input) × len(program)) for every pattern; there is no backtracking.
/// Immutable and safe to share between threads.
public struct GoRegexp: Sendable {
    /// The pattern as given.
    public let pattern: String
    /// Index 0 is the whole match (nil); then each group in order of its `(`: its name or nil.
    public let captureNames: [String?]
    /// Number of capturing groups, not counting group 0.
    public var captureCount: Int { captureNames.count - 1 }

    private let prog: RegexProgram
    private let dfa: RegexDFA
    private let fast: RegexFastPath

    public init(_ pattern: String) throws(GoRegexpError) {
        self.pattern = pattern
        let parsed = try RegexParser.parse(pattern)
        captureNames = parsed.captureNames
        prog = try RegexCompiler.compile(parsed.root, captureCount: parsed.captureNames.count - 1, pattern: pattern)
        fast = RegexFastPath(parsed.root)
        dfa = RegexDFA(prog)
    }

    /// True if the whole of `s` matches (as `^(?s:pattern)$`).
    public func wholeMatch(_ s: String) -> Bool {
        if let r = s.utf8.withContiguousStorageIfAvailable({ wholeMatch($0) }) { return r }
        return Array(s.utf8).withUnsafeBufferPointer { wholeMatch($0) }
    }

    /// Same as `wholeMatch(_: String)`, over raw UTF-8 bytes. Invalid UTF-8 is read as Go
    /// reads it: each bad byte is one U+FFFD.
    public func wholeMatch(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        switch fast.match(utf8) {
        case .some(let r): return r
        case .none: return dfa.wholeMatch(utf8)
        }
    }

    /// Whole-string match with submatches: nil if `s` does not match; otherwise, for each
    /// group 0...captureCount, its UTF-8 byte range in `s`, or nil if it did not participate.
    /// Leftmost-first (Perl/Go) rules decide which submatch wins.
    public func wholeMatchGroups(_ s: String) -> [Range<Int>?]? {
        if let r = s.utf8.withContiguousStorageIfAvailable({ wholeMatchGroups($0) }) { return r }
        return Array(s.utf8).withUnsafeBufferPointer { wholeMatchGroups($0) }
    }

    /// Same as `wholeMatchGroups(_: String)`, over raw UTF-8 bytes.
    public func wholeMatchGroups(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        // The DFA rejects cheaply; the Pike VM only runs on strings that match.
        guard wholeMatch(utf8) else { return nil }
        var out: [Range<Int>?] = [0..<utf8.count]
        if captureCount == 0 { return out }
        guard let slots = PikeVM(prog).wholeMatch(utf8) else { return nil }
        for g in 1...captureCount {
            let a = Int(slots[2 * g]), b = Int(slots[2 * g + 1])
            out.append(a >= 0 && b >= 0 ? a..<b : nil)
        }
        return out
    }
}

extension GoRegexp: CustomStringConvertible {
    public var description: String { pattern }
}

/// Patterns that need no automaton at all (very common for label matchers):
/// literals and literal alternations (`api|web|db`), `lit.*`, `.*lit`, `.*lit.*`, `.*`.
/// `.*` here is the dot-matches-newline form, which accepts any byte string (bad bytes
/// read as U+FFFD, which `.` matches), so byte comparisons are exact.
enum RegexFastPath: Sendable {
    case none
    case oneOf([[UInt8]])
    case prefix([UInt8])
    case suffix([UInt8])
    case contains([UInt8])
    case anything

    private enum Piece { case lit(UInt32), dotStar }

    init(_ root: RegexNode) {
        self = .none
        if case .alternate(let alts) = Self.unwrap(root) {
            var lits: [[UInt8]] = []
            for a in alts {
                guard let ps = Self.pieces(a), let l = Self.literal(ps) else { return }
                lits.append(l)
            }
            self = .oneOf(lits)
            return
        }
        guard let ps = Self.pieces(root) else { return }
        if let l = Self.literal(ps) { self = .oneOf([l]); return }
        let firstStar: Bool, lastStar: Bool
        if case .dotStar = ps.first { firstStar = true } else { firstStar = false }
        if case .dotStar = ps.last { lastStar = true } else { lastStar = false }
        let inner = Array(ps.dropFirst(firstStar ? 1 : 0).dropLast(lastStar && ps.count > 1 ? 1 : 0))
        guard let lit = Self.literal(inner) else { return }
        switch (firstStar, lastStar) {
        case (true, true): self = lit.isEmpty ? .anything : .contains(lit)
        case (true, false): self = .suffix(lit)
        case (false, true): self = .prefix(lit)
        case (false, false): break
        }
    }

    private static func unwrap(_ n: RegexNode) -> RegexNode {
        if case .capture(_, let x) = n { return unwrap(x) }
        return n
    }

    /// Flattens a concatenation of literals and `.*` (captures ignored: only a Bool is wanted).
    private static func pieces(_ n: RegexNode) -> [Piece]? {
        switch n {
        case .capture(_, let x): return pieces(x)
        case .literal(let c): return c == 0xFFFD ? nil : [.lit(c)]
        case .empty: return []
        case .star(.anyChar, _): return [.dotStar]
        case .concat(let xs):
            var out: [Piece] = []
            for x in xs {
                guard let p = pieces(x) else { return nil }
                out += p
            }
            return out
        default: return nil
        }
    }

    private static func literal(_ ps: [Piece]) -> [UInt8]? {
        var s = String.UnicodeScalarView()
        for p in ps {
            guard case .lit(let c) = p, let u = Unicode.Scalar(c) else { return nil }
            s.append(u)
        }
        return Array(String(s).utf8)
    }

    /// nil: no fast path; run the automaton.
    @inline(__always)
    func match(_ p: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch self {
        case .none: return nil
        case .anything: return true
        case .oneOf(let lits):
            for l in lits where l.count == p.count && Self.equal(p, 0, l) { return true }
            return false
        case .prefix(let l): return p.count >= l.count && Self.equal(p, 0, l)
        case .suffix(let l): return p.count >= l.count && Self.equal(p, p.count - l.count, l)
        case .contains(let l):
            guard p.count >= l.count else { return false }
            if l.isEmpty { return true }
            let first = l[0]
            var i = 0
            while i <= p.count - l.count {
                if p[i] == first && Self.equal(p, i, l) { return true }
                i += 1
            }
            return false
        }
    }

    @inline(__always)
    private static func equal(_ p: UnsafeBufferPointer<UInt8>, _ at: Int, _ l: [UInt8]) -> Bool {
        l.withUnsafeBufferPointer { q in
            for k in 0..<q.count where p[at + k] != q[k] { return false }
            return true
        }
    }
}
