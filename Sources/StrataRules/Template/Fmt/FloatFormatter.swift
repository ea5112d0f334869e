/// strconv.FormatFloat(value, 'e'|'E'|'f'|'g'|'G', precision, 64) with Go's exact output.
enum FloatFormatter {
    /// A precision of -1 means "shortest representation that round-trips".
    static func format(_ value: Double, verb: Character, precision: Int) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let negative = value.sign == .minus
        let shortest = precision < 0
        var digits: DecimalDigits
        var prec = precision
        if shortest {
            digits = DecimalDigits.shortest(value)
            switch verb {
            case "e", "E": prec = max(digits.digits.count - 1, 0)
            case "f": prec = max(digits.digits.count - digits.decimalPoint, 0)
            default: prec = digits.digits.count
            }
        } else {
            digits = DecimalDigits.exact(value)
            switch verb {
            case "e", "E": digits.round(toDigits: prec + 1)
            case "f": digits.round(toDigits: digits.decimalPoint + prec)
            default:
                if prec == 0 { prec = 1 }
                digits.round(toDigits: prec)
            }
        }
        let sign = negative ? "-" : ""
        switch verb {
        case "e", "E":
            return sign + exponential(digits, precision: prec, upper: verb == "E")
        case "f":
            return sign + fixed(digits, precision: prec)
        default:
            var exponentLimit = prec
            if exponentLimit > digits.digits.count && digits.digits.count >= digits.decimalPoint {
                exponentLimit = digits.digits.count
            }
            if shortest { exponentLimit = 6 }
            let exponent = digits.decimalPoint - 1
            if exponent < -4 || exponent >= exponentLimit {
                if prec > digits.digits.count { prec = digits.digits.count }
                return sign + exponential(digits, precision: prec - 1, upper: verb == "G")
            }
            if prec > digits.decimalPoint { prec = digits.digits.count }
            return sign + fixed(digits, precision: max(prec - digits.decimalPoint, 0))
        }
    }

    private static func character(_ digit: UInt8) -> Character {
        Character(Unicode.Scalar(digit + 48))
    }

    /// d.ddddde±dd
    static func exponential(_ digits: DecimalDigits, precision: Int, upper: Bool) -> String {
        var out = ""
        let count = digits.digits.count
        out.append(count == 0 ? "0" : character(digits.digits[0]))
        if precision > 0 {
            out.append(".")
            var index = 1
            let limit = min(count, precision + 1)
            while index < limit {
                out.append(character(digits.digits[index]))
                index += 1
            }
            while index <= precision {
                out.append("0")
                index += 1
            }
        }
        out.append(upper ? "E" : "e")
        var exponent = count == 0 ? 0 : digits.decimalPoint - 1
        if exponent < 0 {
            out.append("-")
            exponent = -exponent
        } else {
            out.append("+")
        }
        out += exponent < 10 ? "0\(exponent)" : "\(exponent)"
        return out
    }

    /// ddd.dddd
    static func fixed(_ digits: DecimalDigits, precision: Int) -> String {
        var out = ""
        let count = digits.digits.count
        if digits.decimalPoint > 0 {
            let integerDigits = min(count, digits.decimalPoint)
            for index in 0..<integerDigits { out.append(character(digits.digits[index])) }
            if digits.decimalPoint > integerDigits {
                out += String(repeating: "0", count: digits.decimalPoint - integerDigits)
            }
        } else {
            out = "0"
        }
        if precision > 0 {
            out.append(".")
            for offset in 1...precision {
                let index = digits.decimalPoint + offset - 1
                out.append(index >= 0 && index < count ? character(digits.digits[index]) : "0")
            }
        }
        return out
    }
}
