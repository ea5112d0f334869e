import StrataModel

/// Label-set operations the evaluator needs, done on the flat blob without building Strings.
/// Names are passed as byte arrays prepared once per expression.
struct LabelNameSet: Sendable {
    let names: [[UInt8]]
    init(_ names: [String]) { self.names = names.map { Array($0.utf8) } }

    @inline(__always)
    func contains(_ name: UnsafeRawBufferPointer) -> Bool {
        for n in names where n.count == name.count {
            if n.withUnsafeBytes({ LabelBlob.compareBytes($0, name) == 0 }) { return true }
        }
        return false
    }
}

let metricNameBytes: [UInt8] = Array("__name__".utf8)

@inline(__always)
func isTypeOrUnit(_ name: UnsafeRawBufferPointer) -> Bool {
    name.count == 8 && (name.elementsEqual("__type__".utf8) || name.elementsEqual("__unit__".utf8))
}

@inline(__always)
func isMetricName(_ name: UnsafeRawBufferPointer) -> Bool {
    name.count == 8 && metricNameBytes.withUnsafeBytes { LabelBlob.compareBytes($0, name) == 0 }
}

extension Labels {
    /// The labels for which `keep` returns true, still canonical (order is preserved).
    func filtered(_ keep: (UnsafeRawBufferPointer) -> Bool) -> Labels {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        forEachRaw { n, v in
            if keep(n) {
                LabelBlob.appendUvarint(&out, n.count); out.append(contentsOf: n)
                LabelBlob.appendUvarint(&out, v.count); out.append(contentsOf: v)
            } else {
                changed = true
            }
        }
        return changed ? Labels(canonicalBytes: out) : self
    }

    /// Without `__name__` (and the `__type__`/`__unit__` metadata labels Prometheus drops with it).
    var withoutMetricName: Labels { filtered { !(isMetricName($0) || isTypeOrUnit($0)) } }

    /// Whether a `__type__` or `__unit__` label is there (the name removal takes them off too).
    var hasTypeOrUnit: Bool {
        var found = false
        forEachRaw { n, _ in if isTypeOrUnit(n) { found = true } }
        return found
    }

    var hasMetricName: Bool {
        var found = false
        forEachRaw { n, _ in if isMetricName(n) { found = true } }
        return found
    }

    /// Only the named labels (`on`, `by`).
    func keeping(_ names: LabelNameSet) -> Labels { filtered { names.contains($0) } }

    /// All but the named labels (`ignoring`, `without`).
    func removing(_ names: LabelNameSet) -> Labels { filtered { !names.contains($0) } }

    /// All but the named labels and `__name__`.
    func removingWithName(_ names: LabelNameSet) -> Labels { filtered { !isMetricName($0) && !names.contains($0) } }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    func setting(_ name: String, _ value: String) -> Labels {
        var b = LabelsBuilder(self)
        b.set(name, value)
        return b.labels()
    }

    /// The value of `name`, "" when absent (Prometheus' `Labels.Get`).
    func value(_ name: String) -> String { get(name) ?? "" }
}
