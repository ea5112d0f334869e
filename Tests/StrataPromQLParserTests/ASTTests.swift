import StrataModel
import Testing
@testable import StrataPromQLParser

/// What the parser puts into the AST: values in the engine's units, matcher order, positions.
@Suite struct ASTTests {
    @Test func selectorWithNameHasTheNameMatcherFirst() throws {
        guard case .vectorSelector(let vs) = try PromQLParser.parse(#"foo{b=~"x.*", a!="1"}"#) else { Issue.record(); return }
        #expect(vs.name == "foo")
        #expect(vs.matchers.map(\.description) == [#"__name__="foo""#, #"b=~"x.*""#, #"a!="1""#])
        #expect(vs.matchers[1].kind == .regexMatch)
        #expect(vs.position == PositionRange(start: 0, end: 21))
    }

    @Test func quotedNamesInsideBraces() throws {
        guard case .vectorSelector(let vs) = try PromQLParser.parse(#"{"my.metric", "lbl.x"="v"}"#) else { Issue.record(); return }
        #expect(vs.name == nil)
        #expect(vs.matchers.map(\.name) == ["__name__", "lbl.x"])
        #expect(vs.matchers.map(\.value) == ["my.metric", "v"])
    }

    @Test func modifiersInMilliseconds() throws {
        guard case .vectorSelector(let vs) = try PromQLParser.parse("foo offset -1m30s @ 1.5") else { Issue.record(); return }
        #expect(vs.originalOffset == -90_000)
        #expect(vs.timestamp == 1500)
        #expect(vs.position == PositionRange(start: 0, end: 23))

        guard case .matrixSelector(let m) = try PromQLParser.parse("foo[300] offset 50 @ end()") else { Issue.record(); return }
        #expect(m.range == 300_000)
        #expect(m.vectorSelector.originalOffset == 50_000)
        #expect(m.vectorSelector.startOrEnd == .end)
        #expect(m.vectorSelector.timestamp == nil)
        #expect(Expr.matrixSelector(m).positionRange == PositionRange(start: 0, end: 26))

        guard case .subquery(let s) = try PromQLParser.parse("rate(x[5m])[1h:10s] @ start()") else { Issue.record(); return }
        #expect(s.range == 3_600_000)
        #expect(s.step == 10_000)
        #expect(s.startOrEnd == .start)
        guard case .subquery(let d) = try PromQLParser.parse("x[5m:]") else { Issue.record(); return }
        #expect(d.step == 0)
    }

    @Test func vectorMatchingOnlyBetweenVectors() throws {
        guard case .binary(let scalarSide) = try PromQLParser.parse("foo * 2") else { Issue.record(); return }
        #expect(scalarSide.matching == nil)
        guard case .binary(let plain) = try PromQLParser.parse("foo * bar") else { Issue.record(); return }
        #expect(plain.matching?.card == .oneToOne)
        #expect(plain.matching?.on == false)
        guard case .binary(let set) = try PromQLParser.parse("foo and on(a) bar") else { Issue.record(); return }
        #expect(set.matching?.card == .manyToMany)
        #expect(set.matching?.matchingLabels == ["a"])
        #expect(set.matching?.on == true)
        guard case .binary(let grouped) = try PromQLParser.parse("foo / ignoring(a) group_right(b, c) bar") else { Issue.record(); return }
        #expect(grouped.matching?.card == .oneToMany)
        #expect(grouped.matching?.on == false)
        #expect(grouped.matching?.include == ["b", "c"])
        guard case .binary(let boolean) = try PromQLParser.parse("1 > bool 2") else { Issue.record(); return }
        #expect(boolean.returnBool)
        #expect(boolean.op == .gtr)
    }

    @Test func precedenceAndAssociativity() throws {
        // `-1 ^ 2` is `-(1 ^ 2)`.
        guard case .unary(let u) = try PromQLParser.parse("-1 ^ 2"), case .binary(let pow) = u.expr else { Issue.record(); return }
        #expect(pow.op == .pow)
        // `^` is right-associative.
        guard case .binary(let top) = try PromQLParser.parse("2 ^ 3 ^ 2"), case .binary(let right) = top.rhs else { Issue.record(); return }
        #expect(right.op == .pow)
        // `-` is left-associative; `*` binds tighter.
        guard case .binary(let sub) = try PromQLParser.parse("1 - 2 * 3 - 4"), case .binary(let left) = sub.lhs else { Issue.record(); return }
        #expect(sub.op == .sub && left.op == .sub)
        // `or` is the loosest.
        guard case .binary(let or) = try PromQLParser.parse("a and b or c unless d") else { Issue.record(); return }
        #expect(or.op == .lor)
        // `-a * b` is `(-a) * b`.
        guard case .binary(let mul) = try PromQLParser.parse("-a * b"), case .unary = mul.lhs else { Issue.record(); return }
        #expect(mul.op == .mul)
    }

    @Test func numbers() throws {
        func value(_ q: String) throws -> Double {
            guard case .number(let n) = try PromQLParser.parse(q) else { return .nan }
            return n.value
        }
        #expect(try value("1h") == 3600)
        #expect(try value("-1h30m") == -5400)
        #expect(try value("0x1F") == 31)
        #expect(try value("1e3") == 1000)
        #expect(try value("-Inf") == -.infinity)
        #expect(try value("NaN").isNaN)
        #expect(try value("+5") == 5)
        guard case .number(let n) = try PromQLParser.parse("  -5") else { Issue.record(); return }
        #expect(n.position == PositionRange(start: 2, end: 4))
    }

    @Test func aggregationParts() throws {
        guard case .aggregate(let a) = try PromQLParser.parse(#"count_values without (a) ("v", x)"#) else { Issue.record(); return }
        #expect(a.op == .countValues)
        #expect(a.without)
        #expect(a.grouping == ["a"])
        guard case .string(let param)? = a.param else { Issue.record(); return }
        #expect(param.value == "v")
        #expect(a.position == PositionRange(start: 0, end: 33))
        guard case .aggregate(let trailing) = try PromQLParser.parse("sum(x) by (job)") else { Issue.record(); return }
        #expect(trailing.position == PositionRange(start: 0, end: 15))
    }

    @Test func calls() throws {
        guard case .call(let c) = try PromQLParser.parse("round(x, 5)") else { Issue.record(); return }
        #expect(c.function.name == "round")
        #expect(c.args.count == 2)
        #expect(c.position == PositionRange(start: 0, end: 11))
    }

    @Test func metricSelectorParameter() throws {
        let matchers = try PromQLParser.parseMetricSelector(#"up{job="a", instance=~"b.*"}"#)
        #expect(matchers.map(\.description) == [#"__name__="up""#, #"job="a""#, #"instance=~"b.*""#])
        #expect(try PromQLParser.parseMetricSelector(#"{__name__=~"a.+"}"#).count == 1)
        #expect(try PromQLParser.parseMetricSelector("sum").map(\.value) == ["sum"])
        #expect(try PromQLParser.parseMetricSelector("{}").isEmpty)
        for (input, message) in [
            ("up offset 5m", "1:4: parse error: unexpected <offset>"),
            ("", "1:1: parse error: unexpected end of input"),
            ("rate(x[5m])", #"1:5: parse error: unexpected "(""#),
            ("1", #"1:1: parse error: unexpected number "1""#),
            (#"up{a=~"("}"#, nil),
        ] as [(String, String?)] {
            do {
                _ = try PromQLParser.parseMetricSelector(input)
                Issue.record("\(input) parsed")
            } catch {
                if let message { #expect(error.description == message) }
            }
        }
    }
}
