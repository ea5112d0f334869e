import Hummingbird
import NIOCore
import StrataModel
import StrataStorage

/// `GET /federate?match[]=…`: the newest sample (within the lookback delta, not stale) of every
/// matching series in the Prometheus text format, grouped by metric name as `untyped`
/// families, as Prometheus' federation endpoint answers it.
extension PrometheusAPI {
    func registerFederate(on router: APIRouter<Context>) {
        router.get("/federate") { req, ctx in
            await self.serve(req, ctx, gate: self.scheduler, errors: .text) { scope in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: try self.federate(scope.params))))
            }
        }
    }

    func federate(_ p: Params) throws -> String {
        let sets = try matcherSets(p)
        let maxt = Self.nowMillis(), mint = maxt - options.engine.lookbackDelta
        let q = try querier(p, mint, maxt)
        var latest: [Labels: Sample] = [:]
        var buf: [Sample] = []
        for m in sets {
            for s in try q.select(m, hints: SelectHints(mint: mint, maxt: maxt)) where latest[s.labels] == nil {
                buf.removeAll(keepingCapacity: true)
                try s.samples(mint: mint + 1, maxt: maxt, into: &buf)
                if let last = buf.last, !StaleNaN.isStale(last.v) { latest[s.labels] = last }
            }
        }
        // Families by name, series in label order.
        let ordered = latest.keys.sorted { a, b in
            let na = a.metricName ?? "", nb = b.metricName ?? ""
            return !na.utf8.elementsEqual(nb.utf8) ? na.utf8.lexicographicallyPrecedes(nb.utf8) : Labels.compare(a, b) < 0
        }
        var out = ""
        var family: String? = nil
        for labels in ordered {
            // Nameless series cannot be written in the text format; Prometheus skips them too.
            guard let name = labels.metricName, !name.isEmpty else { continue }
            if family.map({ !$0.utf8.elementsEqual(name.utf8) }) ?? true { out += "# TYPE \(name) untyped\n"; family = name }
            out += name
            var pairs: [String] = []
            labels.forEach { n, v in if n != "__name__" { pairs.append(n + "=\"" + Self.escapeLabelValue(v) + "\"") } }
            // Like Prometheus (which adds it as an external label), an empty instance label, so a
            // federating server with honor_labels does not attach its own.
            if labels.get("instance") == nil { pairs.append("instance=\"\"") }
            out += "{" + pairs.joined(separator: ",") + "}"
            let s = latest[labels]!
            out += " " + Self.exposition(s.v) + " \(s.t)\n"
        }
        return out
    }

    /// The text format's float spelling (Go's `%g` shortest form, `+Inf`, `-Inf`, `NaN`).
    static func exposition(_ v: Double) -> String { GoFloat.formatG(v) }

    static func escapeLabelValue(_ v: String) -> String {
        var out = ""
        for c in v.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
