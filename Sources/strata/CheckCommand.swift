import ArgumentParser
import Foundation
import StrataRules
import StrataTSDB

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check configuration files (the same checks and messages as promtool check).",
        subcommands: [CheckRules.self]
    )
}

/// `promtool check rules`, with its output, its lint and its exit statuses: 0 valid, 1 a file
/// has errors, 3 only lint findings and `--lint-fatal`.
struct CheckRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check that rule files are valid: YAML, groups, rule names and labels, PromQL expressions, templates.",
        discussion: "Prints each file's result as promtool check rules does; problems go to standard error, one per line, with line:column."
    )

    enum Lint: String, ExpressibleByArgument, CaseIterable {
        case all, none
        case duplicateRules = "duplicate-rules"
    }

    @Option(help: "Linting checks to apply: all, duplicate-rules, none.")
    var lint: Lint = .duplicateRules

    @Flag(name: .customLong("lint-fatal"), help: "Make lint findings exit with status 3.")
    var lintFatal = false

    @Argument(help: "Rule files to check.")
    var files: [String]

    func run() throws {
        let parser = RuleFileParser(checkTemplate: AlertTemplates.parseCheck)
        var failed = false, hasErrors = false
        for path in files {
            print("Checking \(path)")
            do {
                let file = try parser.load(path: path)
                if lint != .none, let report = file.duplicateRulesReport {
                    failed = true
                    printToStandardError("  FAILED:\n" + report)
                } else {
                    print("  SUCCESS: \(file.ruleCount) rules found")
                }
            } catch {
                failed = true
                hasErrors = true
                printToStandardError("  FAILED:\n" + error.description)
            }
            print("")
        }
        if failed && hasErrors { throw ExitCode(1) }
        if failed && lintFatal { throw ExitCode(3) }
    }
}

func printToStandardError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run unit tests (the same files and output as promtool test).",
        subcommands: [TestRules.self]
    )
}

/// `promtool test rules`: rule unit test files run with Strata's engine and templates.
struct TestRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Run rule unit tests (promtool's test file format: rule_files, input_series, alert_rule_test, promql_expr_test).",
        discussion: "Exit status 0 when every test passes, 1 otherwise. Problems go to standard error."
    )

    @Argument(help: "Test files.")
    var files: [String]

    func run() throws {
        var tester = RuleUnitTester(parser: RuleFileParser(checkTemplate: AlertTemplates.parseCheck),
                                    makeStorage: { Head() },
                                    makeTemplater: { GoAlertTemplater(externalLabels: $0, externalURL: $1) })
        tester.warn = { printToStandardError($0) }
        var failed = false
        for path in files {
            print("Unit Testing:  \(path)")
            let problems = tester.run(path: path)
            if problems.isEmpty {
                print("  SUCCESS")
            } else {
                failed = true
                printToStandardError("  FAILED:")
                for p in problems {
                    printToStandardError(p)
                    print("")
                }
            }
            print("")
        }
        if failed { throw ExitCode(1) }
    }
}
