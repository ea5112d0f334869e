import StrataModel
import StrataPromQL

extension JSONWriter {
    /// The `/api/v1/query[_range]` success envelope with `warnings` and `infos` when present;
    /// `storageWarnings` (what `partial_response` left out) come first, as they are.
    mutating func queryResult(_ r: QueryResult, query: String, storageWarnings: [String] = []) {
        raw("{\"status\":\"success\",\"data\":{\"resultType\":")
        switch r.value {
        case .scalar(let t, let v):
            raw("\"scalar\",\"result\":"); point(t, v)
        case .string(let t, let s):
            raw("\"string\",\"result\":[")
            timestamp(t); byte(UInt8(ascii: ",")); string(s); byte(UInt8(ascii: "]"))
        case .vector(let elements):
            raw("\"vector\",\"result\":[")
            for (i, e) in elements.enumerated() {
                if i > 0 { byte(UInt8(ascii: ",")) }
                raw("{\"metric\":"); labels(e.labels); raw(",\"value\":"); point(e.t, e.v); byte(UInt8(ascii: "}"))
            }
            byte(UInt8(ascii: "]"))
        case .matrix(let series):
            raw("\"matrix\",\"result\":[")
            for (i, s) in series.enumerated() {
                if i > 0 { byte(UInt8(ascii: ",")) }
                raw("{\"metric\":"); labels(s.labels); raw(",\"values\":[")
                for (j, p) in s.points.enumerated() {
                    if j > 0 { byte(UInt8(ascii: ",")) }
                    point(p.t, p.v)
                }
                raw("]}")
            }
            byte(UInt8(ascii: "]"))
        }
        byte(UInt8(ascii: "}"))
        let warnings = storageWarnings + r.warnings.map { $0.rendered(query: query) }
        let infos = r.infos.map { $0.rendered(query: query) }
        if !warnings.isEmpty { raw(",\"warnings\":"); stringArray(warnings) }
        if !infos.isEmpty { raw(",\"infos\":"); stringArray(infos) }
        byte(UInt8(ascii: "}"))
    }

    /// `[<seconds>,"<value>"]`
    mutating func point(_ t: Int64, _ v: Double) {
        byte(UInt8(ascii: "[")); timestamp(t); byte(UInt8(ascii: ",")); value(v); byte(UInt8(ascii: "]"))
    }
}
