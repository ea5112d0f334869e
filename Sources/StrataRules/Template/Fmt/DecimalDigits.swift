/// Decimal digits of a finite double: value = 0.d1d2d3... × 10^decimalPoint.
/// Either exact (every digit of the binary value) or shortest round-trip,
/// which is what Go's strconv works from.
struct DecimalDigits {
    var digits: [UInt8]
    var decimalPoint: Int

    /// The shortest digits that round-trip, taken from Swift's own shortest printer.
    static func shortest(_ value: Double) -> DecimalDigits {
        let magnitude = abs(value)
        if magnitude == 0 { return DecimalDigits(digits: [], decimalPoint: 0) }
        let text = "\(magnitude)"
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1])! : 0
        var digits: [UInt8] = []
        var pointIndex = mantissa.count
        for (index, char) in mantissa.enumerated() {
            if char == "." {
                pointIndex = index
            } else {
                digits.append(UInt8(char.asciiValue! - 48))
            }
        }
        var point = pointIndex + exponent
        while let first = digits.first, first == 0 {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == 0 { digits.removeLast() }
        return DecimalDigits(digits: digits, decimalPoint: point)
    }

    /// Every decimal digit of the binary value (at most ~770 digits).
    static func exact(_ value: Double) -> DecimalDigits {
        let magnitude = abs(value)
        if magnitude == 0 { return DecimalDigits(digits: [], decimalPoint: 0) }
        var significand = magnitude.significandBitPattern | (magnitude.isNormal ? (1 << 52) : 0)
        var exponent = magnitude.isNormal ? Int(magnitude.exponentBitPattern) - 1075 : -1074
        while significand & 1 == 0 {
            significand >>= 1
            exponent += 1
        }
        // Base 1e9 limbs, least significant first.
        var limbs: [UInt64] = [significand % 1_000_000_000, significand / 1_000_000_000 % 1_000_000_000, significand / 1_000_000_000_000_000_000]
        func multiply(by factor: UInt64) {
            var carry: UInt64 = 0
            for index in limbs.indices {
                let product = limbs[index] * factor + carry
                limbs[index] = product % 1_000_000_000
                carry = product / 1_000_000_000
            }
            while carry > 0 {
                limbs.append(carry % 1_000_000_000)
                carry /= 1_000_000_000
            }
        }
        var fractionDigits = 0
        if exponent >= 0 {
            var remaining = exponent
            while remaining > 0 {
                let step = min(remaining, 30)
                multiply(by: 1 << UInt64(step))
                remaining -= step
            }
        } else {
            // m × 2^-k = m × 5^k / 10^k
            var remaining = -exponent
            fractionDigits = remaining
            while remaining > 0 {
                let step = min(remaining, 13)
                var power: UInt64 = 1
                for _ in 0..<step { power *= 5 }
                multiply(by: power)
                remaining -= step
            }
        }
        var text = ""
        for (index, limb) in limbs.reversed().enumerated() {
            let part = String(limb)
            text += index == 0 ? part : String(repeating: "0", count: 9 - part.count) + part
        }
        var digits = text.utf8.map { $0 - 48 }
        while let first = digits.first, first == 0 { digits.removeFirst() }
        var point = digits.count - fractionDigits
        while let last = digits.last, last == 0 { digits.removeLast() }
        if digits.isEmpty { point = 0 }
        return DecimalDigits(digits: digits, decimalPoint: point)
    }

    /// Keeps `count` leading digits, rounding half to even on exact ties (Go's decimal.Round).
    mutating func round(toDigits count: Int) {
        if count < 0 || count >= digits.count { return }
        let roundUp: Bool
        if digits[count] == 5 && count + 1 == digits.count {
            roundUp = count > 0 && digits[count - 1] % 2 == 1
        } else {
            roundUp = digits[count] >= 5
        }
        if roundUp {
            var index = count - 1
            while index >= 0 && digits[index] == 9 { index -= 1 }
            if index < 0 {
                digits = [1]
                decimalPoint += 1
            } else {
                digits[index] += 1
                digits = Array(digits[0...index])
            }
        } else {
            digits = Array(digits[0..<count])
            while let last = digits.last, last == 0 { digits.removeLast() }
        }
    }
}
