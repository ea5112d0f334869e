/// Go's eq/ne/lt/le/gt/ge with its type rules: only basic kinds compare, and
/// ints never compare with floats ("incompatible types for comparison").
enum Comparison {
    private enum Kind: Equatable { case invalid, bool, int, uint, float, string }

    static let badComparison = FunctionError("incompatible types for comparison")
    static let badComparisonType = FunctionError("invalid type for comparison")

    private static func kind(_ value: GoValue) -> Kind {
        switch value {
        case .bool: return .bool
        case .int: return .int
        case .uint8: return .uint
        case .float: return .float
        case .string, .html: return .string
        default: return .invalid
        }
    }

    private static func isComparable(_ value: GoValue) -> Bool {
        switch value {
        case .stringMap, .anyMap, .list, .queryResult, .structure: return false
        default: return true
        }
    }

    private static func intValue(_ value: GoValue) -> Int {
        switch value {
        case .int(let int): return int
        case .uint8(let byte): return Int(byte)
        default: return 0
        }
    }

    private static func stringValue(_ value: GoValue) -> String {
        switch value {
        case .string(let text), .html(let text): return text
        default: return ""
        }
    }

    static func eq(_ first: GoValue, _ others: [GoValue]) throws(FunctionError) -> Bool {
        if others.isEmpty { throw FunctionError("missing argument for comparison") }
        let firstKind = kind(first)
        for other in others {
            let otherKind = kind(other)
            var truth = false
            if firstKind != otherKind {
                if (firstKind == .int && otherKind == .uint) || (firstKind == .uint && otherKind == .int) {
                    truth = intValue(first) == intValue(other)
                } else if first.isValid && other.isValid {
                    throw badComparison
                }
            } else {
                switch (first, other) {
                case (.bool(let lhs), .bool(let rhs)): truth = lhs == rhs
                case (.float(let lhs), .float(let rhs)): truth = lhs == rhs
                case (.int, _), (.uint8, _): truth = intValue(first) == intValue(other)
                case (.string, _), (.html, _): truth = stringValue(first) == stringValue(other)
                default:
                    if !first.isValid || !other.isValid {
                        truth = !first.isValid && !other.isValid
                    } else if first.typeName != other.typeName {
                        throw FunctionError("non-comparable types \(GoPrinter.sprint([first])): \(first.typeName), \(other.typeName): \(GoPrinter.sprint([other]))")
                    } else if !isComparable(other) {
                        throw FunctionError("non-comparable type \(GoPrinter.sprint([other])): \(other.typeName)")
                    } else {
                        truth = sameValue(first, other)
                    }
                }
            }
            if truth { return true }
        }
        return false
    }

    private static func sameValue(_ lhs: GoValue, _ rhs: GoValue) -> Bool {
        switch (lhs, rhs) {
        case (.sample(let a), .sample(let b)): return a == b
        case (.time(let a), .time(let b)): return a == b
        default: return false
        }
    }

    static func lt(_ first: GoValue, _ second: GoValue) throws(FunctionError) -> Bool {
        let firstKind = kind(first)
        if firstKind == .invalid { throw badComparisonType }
        let secondKind = kind(second)
        if secondKind == .invalid { throw badComparisonType }
        if firstKind != secondKind {
            if (firstKind == .int && secondKind == .uint) || (firstKind == .uint && secondKind == .int) {
                return intValue(first) < intValue(second)
            }
            throw badComparison
        }
        switch (first, second) {
        case (.bool, _): throw badComparisonType
        case (.float(let lhs), .float(let rhs)): return lhs < rhs
        case (.int, _), (.uint8, _): return intValue(first) < intValue(second)
        default: return goStringLess(stringValue(first), stringValue(second))
        }
    }

    static func le(_ first: GoValue, _ second: GoValue) throws(FunctionError) -> Bool {
        if try lt(first, second) { return true }
        return try eq(first, [second])
    }
}
