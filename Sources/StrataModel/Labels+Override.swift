extension Labels {
    /// These labels with `overrides` set on top (a name in both takes the value from
    /// `overrides`): how external labels (a tenant's, a block's `thanos.labels`) are attached to
    /// a series at query time, as Thanos attaches them. One merge of two sorted blobs, one
    /// allocation; an override with an empty value removes the label, as in Prometheus.
    public func overriding(_ overrides: Labels) -> Labels {
        if overrides.isEmpty { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + overrides.bytes.count)
        bytes.withUnsafeBytes { a in
            overrides.bytes.withUnsafeBytes { b in
                var i = 0, j = 0
                // The pair at i (or j): name and value ranges, read without moving past them.
                func pair(_ buf: UnsafeRawBufferPointer, _ at: Int) -> (name: Range<Int>, value: Range<Int>, end: Int) {
                    var k = at
                    let nl = LabelBlob.readUvarint(buf, &k)
                    let name = k ..< k + nl
                    k += nl
                    let vl = LabelBlob.readUvarint(buf, &k)
                    return (name, k ..< k + vl, k + vl)
                }
                func copy(_ buf: UnsafeRawBufferPointer, _ p: (name: Range<Int>, value: Range<Int>, end: Int)) {
                    if p.value.isEmpty { return }
                    LabelBlob.appendUvarint(&out, p.name.count)
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[p.name]))
                    LabelBlob.appendUvarint(&out, p.value.count)
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[p.value]))
                }
                while i < a.count || j < b.count {
                    if j >= b.count {
                        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: a[i...]))
                        break
                    }
                    let pb = pair(b, j)
                    if i >= a.count { copy(b, pb); j = pb.end; continue }
                    let pa = pair(a, i)
                    let c = LabelBlob.compareBytes(UnsafeRawBufferPointer(rebasing: a[pa.name]), UnsafeRawBufferPointer(rebasing: b[pb.name]))
                    if c < 0 {
                        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: a[i ..< pa.end]))
                        i = pa.end
                    } else {
                        copy(b, pb)
                        j = pb.end
                        if c == 0 { i = pa.end }
                    }
                }
            }
        }
        return Labels(canonicalBytes: out)
    }
}
