import Foundation
import StrataModel

/// Go's `%f` (six decimals) for the engine's messages; the other Go number formats are
/// `GoFloat` in StrataModel. Go and C agree for finite values.
func goFloatF6(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
    return String(format: "%f", v)
}

/// Natural ordering used by `sort_by_label`: digit runs compare as numbers.
func naturalLess(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var i = 0, j = 0
    func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    while i < x.count && j < y.count {
        if isDigit(x[i]) && isDigit(y[j]) {
            var i2 = i, j2 = j
            while i2 < x.count && isDigit(x[i2]) { i2 += 1 }
            while j2 < y.count && isDigit(y[j2]) { j2 += 1 }
            // Compare numerically: strip leading zeros, then by length, then bytewise.
            var si = i, sj = j
            while si < i2 - 1 && x[si] == 48 { si += 1 }
            while sj < j2 - 1 && y[sj] == 48 { sj += 1 }
            let la = i2 - si, lb = j2 - sj
            if la != lb { return la < lb }
            for k in 0 ..< la where x[si + k] != y[sj + k] { return x[si + k] < y[sj + k] }
            if (i2 - i) != (j2 - j) { return (i2 - i) < (j2 - j) }
            i = i2; j = j2
        } else {
            if x[i] != y[j] { return x[i] < y[j] }
            i += 1; j += 1
        }
    }
    return x.count - i < y.count - j
}
