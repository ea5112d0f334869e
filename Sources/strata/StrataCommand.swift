import ArgumentParser
import Foundation
import StrataServer

@main
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "A single-binary Prometheus-compatible time-series database.",
        discussion: """
            Strata takes Prometheus remote write, keeps samples in Prometheus' formats and answers \
            queries over the Prometheus HTTP API.
            """,
        version: StrataVersion.current,
        subcommands: [Serve.self, Check.self, TestCommand.self, TSDB.self, BucketCommand.self, LoadgenCommand.self],
        defaultSubcommand: nil
    )

    /// The arguments with Prometheus' and Thanos Receive's names for `serve` flags turned into
    /// Strata's, each announced in one line, so a command line or unit file written for them works.
    static func main() async {
        let (args, notices) = FlagAliases.rewrite(Array(CommandLine.arguments.dropFirst()))
        for n in notices { FileHandle.standardError.write(Data((n + "\n").utf8)) }
        await main(args)
    }
}
