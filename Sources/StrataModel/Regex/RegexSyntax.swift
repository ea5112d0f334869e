// RE2 / Go `regexp/syntax` parser (Perl flags): pattern text -> RegexNode tree.
// Iterative (an explicit group stack), so deeply nested patterns cannot overflow the
// call stack; error texts follow Go's `error parsing regexp: <code>: `<expr>``.

/// Parse or compile failure, with Go's message text.
public struct GoRegexpError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ code: Code, _ expr: String) {
        description = "error parsing regexp: \(code.rawValue): `\(expr)`"
    }

    enum Code: String {
        case invalidCharClass = "invalid character class"
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNamedCapture = "invalid named capture"
        case invalidPerlOp = "invalid or unsupported Perl syntax"
        case invalidRepeatOp = "invalid nested repetition operator"
        case invalidRepeatSize = "invalid repeat count"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        case large = "expression too large"
        case unsupportedScript = "unsupported Unicode script class (Swift has no script property)"
    }
}

/// Zero-width assertions, as bit flags so a match context can be tested with one AND.
enum RegexAssertion: UInt8, Sendable {
    case beginLine = 1, endLine = 2, beginText = 4, endText = 8, wordBoundary = 16, noWordBoundary = 32
}

indirect enum RegexNode: Sendable {
    case empty
    case literal(UInt32)
    case charSet(RegexCharSet)
    case anyChar
    case anyCharNotNL
    case assertion(RegexAssertion)
    case capture(Int, RegexNode)
    case star(RegexNode, greedy: Bool)
    case plus(RegexNode, greedy: Bool)
    case quest(RegexNode, greedy: Bool)
    /// `{min,max}`; max == -1 means unbounded. Expanded by the compiler.
    case repetition(RegexNode, min: Int, max: Int, greedy: Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
}

struct RegexFlags: Sendable, Equatable {
    var foldCase = false
    var dotNL = true       // this API behaves as Prometheus' `(?s:...)` wrapper
    var multiLine = false  // Go's !OneLine
    var nonGreedy = false
}

struct RegexParseResult: Sendable {
    var root: RegexNode
    var captureNames: [String?]  // [nil, group1, ...]
}

struct RegexParser {
    private let s: [Unicode.Scalar]
    private var i = 0
    private var flags = RegexFlags()
    private var names: [String?] = [nil]

    private struct Frame {
        var alternatives: [RegexNode] = []
        var alternativesHeight = 0
        var items: [RegexNode] = []
        var heights: [Int] = []  // tree height of each item (Go limits height, not group count)
        var savedFlags: RegexFlags
        var capture: Int  // 0: non-capturing
    }
    private var stack: [Frame]

    static let maxNesting = 1000
    static let maxRepeat = 1000

    static func parse(_ pattern: String) throws(GoRegexpError) -> RegexParseResult {
        var p = RegexParser(pattern)
        return try p.run()
    }

    private init(_ pattern: String) {
        s = Array(pattern.unicodeScalars)
        stack = [Frame(savedFlags: RegexFlags(), capture: 0)]
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[from..<min(to, s.count)])
        return String(out)
    }
    private var whole: String { text(0, s.count) }
    private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

    /// A leaf (height 1).
    private mutating func push(_ node: RegexNode) {
        stack[stack.count - 1].items.append(node)
        stack[stack.count - 1].heights.append(1)
    }

    private mutating func push(_ node: RegexNode, height: Int) throws(GoRegexpError) {
        if height > Self.maxNesting { throw GoRegexpError(.nestingDepth, whole) }
        stack[stack.count - 1].items.append(node)
        stack[stack.count - 1].heights.append(height)
    }

    private mutating func pushLiteral(_ c: UInt32) {
        if flags.foldCase {
            let orbit = regexFoldOrbit(c)
            if orbit.count > 1 {
                push(.charSet(RegexCharSet(orbit.map { RegexRange($0, $0) })))
                return
            }
        }
        push(.literal(c))
    }

    /// Nested concatenations/alternations are flattened (as Go's parser does), so
    /// `(?:a|(?:b|(?:c|...)))` does not count against the height limit per level.
    private static func concatNode(_ items: [RegexNode], _ heights: [Int]) -> (RegexNode, Int) {
        switch items.count {
        case 0: return (.empty, 1)
        case 1: return (items[0], heights[0])
        default:
            var flat: [RegexNode] = [], h = 0
            for (x, xh) in zip(items, heights) {
                if case .concat(let xs) = x { flat += xs; h = max(h, xh - 1) } else { flat.append(x); h = max(h, xh) }
            }
            return (.concat(flat), h + 1)
        }
    }

    private static func groupNode(_ f: Frame) -> (RegexNode, Int) {
        let (last, lastHeight) = concatNode(f.items, f.heights)
        if f.alternatives.isEmpty { return (last, lastHeight) }
        var flat: [RegexNode] = [], h = f.alternativesHeight
        for x in f.alternatives + [last] {
            if case .alternate(let xs) = x { flat += xs } else { flat.append(x) }
        }
        if case .alternate = last { h = max(h, lastHeight - 1) } else { h = max(h, lastHeight) }
        return (.alternate(flat), h + 1)
    }

    private mutating func run() throws(GoRegexpError) -> RegexParseResult {
        var lastRepeat: Int? = nil  // start of the repetition operator parsed in the previous step
        while i < s.count {
            var thisRepeat: Int? = nil
            let c = s[i]
            switch c {
            case "(":
                if peek(1) == "?" {
                    try parseGroupFlags()
                } else {
                    names.append(nil)
                    try openGroup(capture: names.count - 1, saved: flags)
                    i += 1
                }
            case "|":
                let f = stack[stack.count - 1]
                let (node, h) = Self.concatNode(f.items, f.heights)
                stack[stack.count - 1].alternatives.append(node)
                // Height of the alternatives' members (an alternation member is flattened later).
                let memberHeight: Int
                if case .alternate = node { memberHeight = h - 1 } else { memberHeight = h }
                stack[stack.count - 1].alternativesHeight = max(f.alternativesHeight, memberHeight)
                stack[stack.count - 1].items = []
                stack[stack.count - 1].heights = []
                i += 1
            case ")":
                guard stack.count > 1 else { throw GoRegexpError(.unexpectedParen, whole) }
                let f = stack.removeLast()
                var (node, h) = Self.groupNode(f)
                if f.capture > 0 { node = .capture(f.capture, node); h += 1 }
                flags = f.savedFlags
                try push(node, height: h)
                i += 1
            case "^":
                push(.assertion(flags.multiLine ? .beginLine : .beginText)); i += 1
            case "$":
                push(.assertion(flags.multiLine ? .endLine : .endText)); i += 1
            case ".":
                push(flags.dotNL ? .anyChar : .anyCharNotNL); i += 1
            case "[":
                try parseClass()
            case "*", "+", "?":
                let start = i
                i += 1
                try applyRepeat(op: c, min: 0, max: 0, start: start, lastRepeat: lastRepeat)
                thisRepeat = start
            case "{":
                let start = i
                guard let (lo, hi, end) = parseRepeatBraces() else {
                    push(.literal(0x7B)); i += 1  // not a valid repeat: literal '{'
                    break
                }
                if lo < 0 || lo > Self.maxRepeat || hi > Self.maxRepeat || (hi >= 0 && lo > hi) {
                    throw GoRegexpError(.invalidRepeatSize, text(start, end))
                }
                i = end
                try applyRepeat(op: "{", min: lo, max: hi, start: start, lastRepeat: lastRepeat)
                thisRepeat = start
            case "\\":
                try parseBackslash()
            default:
                pushLiteral(c.value); i += 1
            }
            lastRepeat = thisRepeat
        }
        if stack.count != 1 { throw GoRegexpError(.missingParen, whole) }
        let (root, h) = Self.groupNode(stack[0])
        if h > Self.maxNesting { throw GoRegexpError(.nestingDepth, whole) }
        return RegexParseResult(root: root, captureNames: names)
    }

    private mutating func openGroup(capture: Int, saved: RegexFlags) throws(GoRegexpError) {
        stack.append(Frame(savedFlags: saved, capture: capture))
    }

    // MARK: Repetition

    /// `{n}`, `{n,}`, `{n,m}` at i; nil if not of that form (then '{' is a literal).
    /// Returns min == -1 for numbers too large to represent.
    private func parseRepeatBraces() -> (Int, Int, Int)? {
        var j = i + 1
        func isDigit(_ k: Int) -> Bool { k < s.count && s[k] >= "0" && s[k] <= "9" }
        // Decimal without leading zeros; nil: not a number; .some(nil): too large.
        func int() -> Int?? {
            guard isDigit(j) else { return nil }
            if s[j] == "0" && isDigit(j + 1) { return nil }
            var n = 0, big = false
            while isDigit(j) {
                if n >= 100_000_000 { big = true } else { n = n * 10 + Int(s[j].value - 0x30) }
                j += 1
            }
            return .some(big ? nil : n)
        }
        guard let minR = int() else { return nil }
        var lo = minR ?? -1
        var hi: Int
        guard j < s.count else { return nil }
        if s[j] != "," {
            hi = lo
        } else {
            j += 1
            guard j < s.count else { return nil }
            if s[j] == "}" {
                hi = -1
            } else {
                guard let maxR = int() else { return nil }
                if let m = maxR { hi = m } else { hi = -1; lo = -1 }
            }
        }
        guard j < s.count, s[j] == "}" else { return nil }
        return (lo, hi, j + 1)
    }

    /// Wraps the last item of the current concatenation. `i` is just past the operator.
    private mutating func applyRepeat(op: Unicode.Scalar, min: Int, max: Int, start: Int, lastRepeat: Int?) throws(GoRegexpError) {
        var greedy = !flags.nonGreedy
        if peek() == "?" { i += 1; greedy.toggle() }
        if let lr = lastRepeat {
            // Perl: a** is an error, not a doubled star; a*+ (possessive) is unsupported.
            throw GoRegexpError(.invalidRepeatOp, text(lr, i))
        }
        guard let sub = stack[stack.count - 1].items.popLast() else {
            throw GoRegexpError(.missingRepeatArgument, text(start, i))
        }
        let height = stack[stack.count - 1].heights.removeLast() + 1
        let node: RegexNode
        switch op {
        case "*": node = .star(sub, greedy: greedy)
        case "+": node = .plus(sub, greedy: greedy)
        case "?": node = .quest(sub, greedy: greedy)
        default: node = .repetition(sub, min: min, max: max, greedy: greedy)
        }
        if op == "{" && (min >= 2 || max >= 2) && !Self.repeatIsValid(node, Self.maxRepeat) {
            throw GoRegexpError(.invalidRepeatSize, text(start, i))
        }
        try push(node, height: height)
    }

    /// Nested counted repetitions may not multiply past `limit` copies of the innermost item.
    private static func repeatIsValid(_ n: RegexNode, _ limit: Int) -> Bool {
        var limit = limit
        switch n {
        case .repetition(let x, let lo, let hi, _):
            let m = hi == 0 ? 0 : (hi < 0 ? lo : hi)
            if hi == 0 { return true }
            if m > limit { return false }
            if m > 0 { limit /= m }
            return repeatIsValid(x, limit)
        case .capture(_, let x), .star(let x, _), .plus(let x, _), .quest(let x, _):
            return repeatIsValid(x, limit)
        case .concat(let xs), .alternate(let xs):
            return xs.allSatisfy { repeatIsValid($0, limit) }
        default:
            return true
        }
    }

    // MARK: Groups and flags

    private static func isNameChar(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c == "_" || (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z"))
    }

    /// At `(?`: named group `(?P<n>` / `(?<n>`, non-capturing `(?:`, flag group `(?i-s:` or `(?U)`.
    private mutating func parseGroupFlags() throws(GoRegexpError) {
        let start = i
        let startsWithP = s.count - i > 4 && s[i + 2] == "P" && s[i + 3] == "<"
        let startsWithName = s.count - i > 3 && s[i + 2] == "<"
        if startsWithP || startsWithName {
            let nameStart = i + (startsWithP ? 4 : 3)
            // Like Go, the name runs to the first '>' anywhere after; so `(?<=x)` is a bad name.
            guard let end = s[i...].firstIndex(of: ">") else {
                throw GoRegexpError(.invalidNamedCapture, text(start, s.count))
            }
            let name = text(nameStart, end)
            if name.isEmpty || !s[nameStart..<end].allSatisfy(Self.isNameChar) {
                throw GoRegexpError(.invalidNamedCapture, text(start, end + 1))
            }
            names.append(name)
            try openGroup(capture: names.count - 1, saved: flags)
            i = end + 1
            return
        }
        var j = i + 2
        var nf = flags
        var negate = false, sawFlag = false
        while j < s.count {
            let c = s[j]
            j += 1
            switch c {
            case "i": nf.foldCase = !negate; sawFlag = true
            case "m": nf.multiLine = !negate; sawFlag = true
            case "s": nf.dotNL = !negate; sawFlag = true
            case "U": nf.nonGreedy = !negate; sawFlag = true
            case "-":
                if negate { throw GoRegexpError(.invalidPerlOp, text(start, j)) }
                negate = true; sawFlag = false
            case ":", ")":
                if negate && !sawFlag { throw GoRegexpError(.invalidPerlOp, text(start, j)) }
                if c == ":" { try openGroup(capture: 0, saved: flags) }
                flags = nf
                i = j
                return
            default:
                throw GoRegexpError(.invalidPerlOp, text(start, j))
            }
        }
        throw GoRegexpError(.invalidPerlOp, text(start, j))
    }

    // MARK: Escapes

    private mutating func parseBackslash() throws(GoRegexpError) {
        if let n = peek(1) {
            switch n {
            case "A": push(.assertion(.beginText)); i += 2; return
            case "z": push(.assertion(.endText)); i += 2; return
            case "b": push(.assertion(.wordBoundary)); i += 2; return
            case "B": push(.assertion(.noWordBoundary)); i += 2; return
            case "C": throw GoRegexpError(.invalidEscape, "\\C")  // any byte: unsupported, as in Go
            case "Q":
                // \Q...\E: everything up to \E (or the end) is literal.
                var j = i + 2
                while j < s.count {
                    if s[j] == "\\", j + 1 < s.count, s[j + 1] == "E" { break }
                    pushLiteral(s[j].value)
                    j += 1
                }
                i = min(j + 2, s.count)
                return
            default: break
            }
        }
        if let set = try parseClassEscape() {
            push(.charSet(set))
            return
        }
        let c = try parseEscape()
        pushLiteral(c)
    }

    /// `\p..`/`\P..` or `\d \s \w` and negations at i; nil if not one of those.
    private mutating func parseClassEscape() throws(GoRegexpError) -> RegexCharSet? {
        guard let n = peek(1) else { return nil }
        if n == "p" || n == "P" {
            var negated = n == "P"
            let start = i
            var name: String
            let seqEnd: Int
            if peek(2) == "{" {
                guard let close = s[i...].firstIndex(of: "}") else {
                    throw GoRegexpError(.invalidCharRange, text(start, s.count))
                }
                name = text(i + 3, close)
                seqEnd = close + 1
            } else {
                name = i + 2 < s.count ? String(Character(s[i + 2])) : ""
                seqEnd = min(i + 3, s.count)
            }
            if name.hasPrefix("^") { negated.toggle(); name.removeFirst() }
            guard var set = regexUnicodeClass(name) else {
                if regexUnicodeScriptNames.contains(name) {
                    throw GoRegexpError(.unsupportedScript, text(start, seqEnd))
                }
                throw GoRegexpError(.invalidCharRange, text(start, seqEnd))
            }
            if flags.foldCase && name != "Any" { set = set.caseFolded() }
            i = seqEnd
            return negated ? set.negated() : set
        }
        if let (base, negated) = regexPerlClass(Character(n)) {
            i += 2
            let set = flags.foldCase ? base.caseFolded() : base
            return negated ? set.negated() : set
        }
        return nil
    }

    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 0x30
        case "a"..."f": return c.value - 0x61 + 10
        case "A"..."F": return c.value - 0x41 + 10
        default: return nil
        }
    }

    /// A single-character escape at i (which is at the backslash).
    private mutating func parseEscape() throws(GoRegexpError) -> UInt32 {
        let start = i
        guard i + 1 < s.count else { throw GoRegexpError(.trailingBackslash, "") }
        let c = s[i + 1]
        i += 2
        func bad() -> GoRegexpError { GoRegexpError(.invalidEscape, text(start, i)) }
        func isOctal(_ k: Int) -> Bool { k < s.count && s[k] >= "0" && s[k] <= "7" }
        switch c {
        case "1"..."7" where !isOctal(i):
            throw bad()  // \1 would be a backreference: unsupported
        case "0"..."7":
            var r = c.value - 0x30
            for _ in 1..<3 where isOctal(i) {
                r = r * 8 + s[i].value - 0x30
                i += 1
            }
            return r
        case "x":
            guard i < s.count else { throw bad() }
            if s[i] == "{" {
                i += 1
                var r: UInt32 = 0, digits = 0
                while true {
                    guard i < s.count else { throw bad() }
                    let d = s[i]
                    i += 1
                    if d == "}" { break }
                    guard let v = Self.hexValue(d) else { throw bad() }
                    r = r * 16 + v
                    if r > regexMaxScalar { throw bad() }
                    digits += 1
                }
                if digits == 0 { throw bad() }
                return r
            }
            let x = Self.hexValue(s[i])
            i += 1
            let y = i < s.count ? Self.hexValue(s[i]) : nil
            if i < s.count { i += 1 }
            guard let x, let y else { throw bad() }
            return x * 16 + y
        case "a": return 7
        case "f": return 12
        case "n": return 10
        case "r": return 13
        case "t": return 9
        case "v": return 11
        default:
            // Escaped ASCII punctuation is itself; letters/digits/non-ASCII are errors.
            if c.isASCII && !Self.isAlnum(c) { return c.value }
            throw bad()
        }
    }

    private static func isAlnum(_ c: Unicode.Scalar) -> Bool {
        (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    // MARK: Bracket classes

    private mutating func parseClass() throws(GoRegexpError) {
        let classStart = i
        i += 1
        var set = RegexCharSet()
        var negated = false
        if peek() == "^" { negated = true; i += 1 }
        var first = true  // ']' is literal as the first member
        while i >= s.count || s[i] != "]" || first {
            first = false
            guard i < s.count else { throw GoRegexpError(.missingBracket, text(classStart, s.count)) }
            // [:alpha:] and [:^alpha:]
            if s[i] == "[", peek(1) == ":", s.count - i > 2 {
                if let close = findColonBracket(from: i + 2) {
                    let seq = text(i, close + 2)
                    var name = text(i + 2, close)
                    var neg = false
                    if name.hasPrefix("^") { neg = true; name.removeFirst() }
                    guard let base = regexPOSIXClass(name) else { throw GoRegexpError(.invalidCharRange, seq) }
                    let g = flags.foldCase ? base.caseFolded() : base
                    set.add(neg ? g.negated() : g)
                    i = close + 2
                    continue
                }
            }
            if s[i] == "\\", let g = try parseClassEscape() {
                set.add(g)
                continue
            }
            let rangeStart = i
            let lo = try parseClassChar(classStart)
            var hi = lo
            if s.count - i >= 2, s[i] == "-", s[i + 1] != "]" {
                i += 1
                hi = try parseClassChar(classStart)
                if hi < lo { throw GoRegexpError(.invalidCharRange, text(rangeStart, i)) }
            }
            if flags.foldCase {
                set.add(RegexCharSet([RegexRange(lo, hi)]).caseFolded())
            } else {
                set.add(lo, hi)
            }
        }
        i += 1  // ']'
        set.normalize()
        push(.charSet(negated ? set.negated() : set))
    }

    private func findColonBracket(from j: Int) -> Int? {
        var k = j
        while k + 1 < s.count {
            if s[k] == ":" && s[k + 1] == "]" { return k }
            k += 1
        }
        return nil
    }

    private mutating func parseClassChar(_ classStart: Int) throws(GoRegexpError) -> UInt32 {
        guard i < s.count else { throw GoRegexpError(.missingBracket, text(classStart, s.count)) }
        if s[i] == "\\" { return try parseEscape() }
        i += 1
        return s[i - 1].value
    }
}
