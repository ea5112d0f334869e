import StrataPromQL

/// Checks warnings and infos in their rendered form (`PromQL warning: … (1:5)`): every expected
/// line must match a returned annotation and every returned one must match an expected line.
/// Without any `warn`/`no_warn` line warnings are not checked at all; likewise for infos.
enum AnnotationCheck {
    static func check(_ annotations: [Annotation], for ev: EvalCommand) -> String? {
        let warnings = annotations.filter { $0.kind == .warning }.map { $0.rendered(query: ev.query) }
        let infos = annotations.filter { $0.kind == .info }.map { $0.rendered(query: ev.query) }
        if ev.requireWarning && warnings.isEmpty { return "expected a warning, got none" }
        if ev.requireInfo && infos.isEmpty { return "expected an info annotation, got none" }
        if let r = match(ev.expectedWarnings, warnings, kind: "warning") { return r }
        if let r = match(ev.expectedInfos, infos, kind: "info annotation") { return r }
        if ev.forbidWarnings, let w = warnings.first { return "unexpected warning \(goQuoted(w))" }
        if ev.forbidInfos, let i = infos.first { return "unexpected info annotation \(goQuoted(i))" }
        return nil
    }

    private static func match(_ expected: [TextExpectation], _ actual: [String], kind: String) -> String? {
        guard !expected.isEmpty else { return nil }
        if actual.isEmpty { return "expected a \(kind) matching \(expected[0]), got none" }
        for e in expected where !actual.contains(where: e.matches) {
            return "expected a \(kind) matching \(e), got \(actual.map(goQuoted).joined(separator: ", "))"
        }
        for a in actual where !expected.contains(where: { $0.matches(a) }) {
            return "unexpected \(kind) \(goQuoted(a))"
        }
        return nil
    }

    private static func goQuoted(_ s: String) -> String { "\"\(s)\"" }
}
