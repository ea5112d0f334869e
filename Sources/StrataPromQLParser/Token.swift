import StrataModel

/// Token kinds of Prometheus' lexer (`ItemType`), with the groups its error messages use.
enum TokenKind: Equatable {
    case eof
    case identifier, metricIdentifier, number, duration, string
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket, comma, colon
    /// `=`, a label matcher operator (and an error anywhere else).
    case equal
    // Operators.
    case add, sub, mul, div, mod, pow, atan2
    case eqlc, neq, lss, lte, gtr, gte, eqlRegex, neqRegex
    case land, lor, lunless, at
    /// `</` and `>/`: native-histogram trim operators.
    case trimUpper, trimLower
    case aggregator(AggregateOp)
    // Keywords.
    case bool, by, without, on, ignoring, groupLeft, groupRight, offset, anchored, smoothed
    case fill, fillLeft, fillRight
    // Preprocessors: `@ start()`, `@ end()` and duration-expression functions.
    case start, end, step, range, maxOf, minOf

    /// Keywords by lower-case spelling; `inf` and `nan` are numbers.
    static let keywords: [String: TokenKind] = {
        var k: [String: TokenKind] = [
            "and": .land, "or": .lor, "unless": .lunless, "atan2": .atan2,
            "offset": .offset, "smoothed": .smoothed, "anchored": .anchored, "by": .by, "without": .without,
            "on": .on, "ignoring": .ignoring, "group_left": .groupLeft, "group_right": .groupRight,
            "fill": .fill, "fill_left": .fillLeft, "fill_right": .fillRight, "bool": .bool,
            "start": .start, "end": .end, "step": .step, "range": .range, "max_of": .maxOf, "min_of": .minOf,
            "inf": .number, "nan": .number,
        ]
        for op in AggregateOp.allCases { k[op.rawValue] = .aggregator(op) }
        return k
    }()

    var isOperator: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod, .pow, .atan2, .eqlc, .neq, .lss, .lte, .gtr, .gte,
             .eqlRegex, .neqRegex, .land, .lor, .lunless, .at, .trimUpper, .trimLower:
            return true
        default:
            return false
        }
    }

    var isKeyword: Bool {
        switch self {
        case .bool, .by, .without, .on, .ignoring, .groupLeft, .groupRight, .offset, .anchored, .smoothed,
             .fill, .fillLeft, .fillRight:
            return true
        default:
            return false
        }
    }

    var binaryOperator: BinaryOp? {
        switch self {
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        case .mod: return .mod
        case .pow: return .pow
        case .atan2: return .atan2
        case .eqlc: return .eql
        case .neq: return .neq
        case .lss: return .lss
        case .lte: return .lte
        case .gtr: return .gtr
        case .gte: return .gte
        case .land: return .land
        case .lor: return .lor
        case .lunless: return .lunless
        default: return nil
        }
    }

    var labelMatchKind: LabelMatcher.Kind? {
        switch self {
        case .equal: return .equal
        case .neq: return .notEqual
        case .eqlRegex: return .regexMatch
        case .neqRegex: return .regexNoMatch
        default: return nil
        }
    }

    /// Tokens the grammar accepts as a metric name (`metric_identifier`).
    var canBeMetricName: Bool {
        switch self {
        case .identifier, .metricIdentifier, .aggregator, .by, .without, .offset, .land, .lor, .lunless,
             .fill, .fillLeft, .fillRight, .start, .end, .step, .range, .anchored, .smoothed, .maxOf, .minOf:
            return true
        default:
            return false
        }
    }

    /// Tokens the grammar accepts as a label in `by (…)`, `on (…)`, … (`maybe_label`).
    var canBeGroupingLabel: Bool {
        switch self {
        case .identifier, .metricIdentifier, .aggregator, .bool, .by, .groupLeft, .groupRight, .fill, .fillLeft,
             .fillRight, .ignoring, .land, .lor, .lunless, .offset, .on, .start, .end, .atan2, .step, .range,
             .anchored, .smoothed, .maxOf, .minOf:
            return true
        default:
            return false
        }
    }

    /// Tokens that start an (experimental) duration expression other than a plain literal.
    var startsDurationExpression: Bool {
        switch self {
        case .leftParen, .step, .range, .maxOf, .minOf: return true
        default: return false
        }
    }

    /// Arithmetic that would continue a duration expression inside `[…]`.
    var isDurationArithmetic: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod, .pow: return true
        default: return false
        }
    }
}

/// A lexed token: its kind, where it starts and its text exactly as written.
struct Token {
    var kind: TokenKind
    var start: Int
    var text: String

    var end: Int { start + text.utf8.count }
    var range: PositionRange { PositionRange(start: start, end: end) }

    /// How Prometheus names the token in "unexpected …" messages (`Item.desc`).
    var errorDescription: String {
        switch kind {
        case .eof: return "end of input"
        case .identifier: return "identifier \(goQuoteString(text))"
        case .metricIdentifier: return "metric identifier \(goQuoteString(text))"
        case .number: return "number \(shortQuoted)"
        case .duration: return "duration \(shortQuoted)"
        case .string: return "string \(shortQuoted)"
        case .aggregator: return "<aggr:\(text)>"
        default:
            if kind.isOperator { return "<op:\(text)>" }
            if kind.isKeyword { return "<\(text)>" }
            return shortQuoted
        }
    }

    /// Go's `%q`, or `%.10q...` for values longer than 10 bytes.
    private var shortQuoted: String {
        guard text.utf8.count > 10 else { return goQuoteString(text) }
        return goQuoteString(String(text.unicodeScalars.prefix(10).map(Character.init))) + "..."
    }
}
