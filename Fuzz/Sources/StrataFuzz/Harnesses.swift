import Foundation
import StrataBlock
import StrataEncoding
import StrataModel
import StrataObjectStore
import StrataPromQLParser
import StrataRemote
import StrataRules
import StrataRuntime
import StrataServer
import StrataStorage
import StrataTSDB

/// One fuzz target: a name for `STRATA_FUZZ_HARNESS` and a function over one input. A harness
/// calls the real decoding code; errors it throws are expected, and only a crash, a trap, an ASan
/// report, a timeout or a broken invariant (a `precondition` below) is a finding.
struct Harness: Sendable {
    let name: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void

    static let all: [Harness] = [
        Harness(name: "remote-write", run: RemoteWriteHarness.run),
        Harness(name: "snappy", run: SnappyHarness.run),
        Harness(name: "promql", run: PromQLHarness.run),
        Harness(name: "wal", run: WALHarness.run),
        Harness(name: "index", run: IndexHarness.run),
        Harness(name: "chunks", run: ChunkHarness.run),
        Harness(name: "objstore-config", run: ObjectStoreConfigHarness.run),
        Harness(name: "web-config", run: WebConfigHarness.run),
        Harness(name: "limits-config", run: LimitsConfigHarness.run),
        Harness(name: "rule-file", run: RuleFileHarness.run),
        Harness(name: "alert-template", run: AlertTemplateHarness.run),
    ]
}

// MARK: remote write

/// Accepts every sample, like a head with no limits; a series whose label blob the head would
/// refuse (`LabelValidation`) is rejected as the head rejects it, so the decoder's failure path
/// (`printLabels` over a malformed blob) runs too. A valid blob is read back as `Labels`.
final class AcceptingAppender: Appender {
    func append(labels: UnsafeRawBufferPointer, samples: UnsafeBufferPointer<Sample>) -> AppendResult {
        if let why = LabelValidation.validate(labels) {
            return AppendResult(accepted: 0, rejected: samples.count, firstFailure: (0, .invalidLabels(why)))
        }
        let l = Labels(canonicalBytes: Array(labels))
        _ = l.description
        return AppendResult(accepted: samples.count)
    }
    func appendMetadata(_ metadata: MetricMetadata) { _ = metadata.metricFamilyName.utf8.count }
    func commit() throws {}
    func rollback() {}
}

enum RemoteWriteHarness {
    // Reused across inputs as the server's `DecoderPool` reuses decoders.
    nonisolated(unsafe) static let decoder = WriteRequestDecoder()
    nonisolated(unsafe) static let appender = AcceptingAppender()

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        do {
            let s = try decoder.decode(protobuf: Array(input), into: appender)
            if let f = s.firstFailure { _ = f.labels + f.failure.message }
        } catch {
            _ = error.message
        }
    }
}

// MARK: snappy

enum SnappyHarness {
    /// Enough for any input libFuzzer makes; larger announced lengths are refused up front.
    static let limit = 4 << 20

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        _ = try? Snappy.decodedLength(input)
        var out: [UInt8] = []
        _ = try? Snappy.decompress(input, into: &out, limit: limit)
        // The server's path: snappy body straight into the protobuf decoder.
        _ = try? RemoteWriteHarness.decoder.decode(snappyBody: input, maxDecodedBytes: limit, into: RemoteWriteHarness.appender)
        // And the other direction: whatever is compressed decompresses to itself.
        let compressed = Snappy.compress(input)
        guard let back = try? Snappy.decompress(compressed) else { preconditionFailure("snappy: cannot decompress what it compressed") }
        precondition(back.elementsEqual(input), "snappy: round trip changed the bytes")
    }
}

// MARK: PromQL

enum PromQLHarness {
    static let options = ParserOptions(experimentalFunctions: true)
    /// Parsing, checking and printing recurse once per level; the server runs them on threads
    /// with `BlockingThread.queryStackBytes` of stack, so the harness does too (ASan's larger
    /// frames would otherwise overflow the main thread's 8 MiB on inputs the server handles).
    static let worker = BigStackWorker(stackBytes: BlockingThread.queryStackBytes)

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        let query = String(decoding: input, as: UTF8.self)
        worker.run { check(query) }
    }

    static func check(_ query: String) {
        do { _ = try PromQLParser.parseMetricSelector(query) } catch { _ = error.description }
        let expr: Expr
        do { expr = try PromQLParser.parse(query, options: options) } catch {
            _ = error.description // line and column of the error position
            return
        }
        // The printer's promise (Printer.swift): printing and parsing again gives the same text.
        let printed = expr.description
        let again: Expr
        do { again = try PromQLParser.parse(printed, options: options) } catch {
            preconditionFailure("printed form does not parse: \(query.debugDescription) printed as \(printed.debugDescription): \(error)")
        }
        let reprinted = again.description
        precondition(reprinted == printed, "print(parse(print(e))) != print(e): \(query.debugDescription) → \(printed.debugDescription) → \(reprinted.debugDescription)")
        // `format_query`'s output must parse to the same expression too.
        let pretty = expr.pretty()
        do {
            let p = try PromQLParser.parse(pretty, options: options)
            precondition(p.description == printed, "prettified form parses differently: \(query.debugDescription) → \(pretty.debugDescription) → \(p.description.debugDescription), expected \(printed.debugDescription)")
        } catch {
            preconditionFailure("prettified form does not parse: \(query.debugDescription) → \(pretty.debugDescription): \(error)")
        }
    }
}

// MARK: WAL

enum WALHarness {
    /// Small pages let inputs of a few KiB cross page boundaries (the writer's pages are 32 KiB).
    static let smallPage = 128

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        var scratch: [UInt8] = [], decoded: [UInt8] = []
        // 1. The segment as it is: the CRC stops almost every mutation at the first fragment.
        read(input, &scratch, &decoded, pageSize: WAL.pageSize)
        // 2. With every fragment's CRC recomputed, so the fragment and record rules are reached,
        //    at the real page size and at a small one.
        for pageSize in [WAL.pageSize, smallPage] {
            var fixed = Array(input)
            CRCRepair.walSegment(&fixed, pageSize: pageSize)
            fixed.withUnsafeBytes { read($0, &scratch, &decoded, pageSize: pageSize) }
        }
        // 3. The record decoders on the input itself.
        decodeRecord(input, asType: .series)
        decodeRecord(input, asType: .samples)
    }

    static func read(_ buf: UnsafeRawBufferPointer, _ scratch: inout [UInt8], _ decoded: inout [UInt8], pageSize: Int) {
        do {
            try WALReader.read(segment: 0, buf, &scratch, &decoded, pageSize: pageSize) { rec in
                if let type = WALRecordDecoder.type(rec) { decodeRecord(rec, asType: type) }
            }
        } catch {
            _ = "\(error)"
        }
    }

    /// As replay and checkpointing read records; a decoded series' labels must be a well-formed
    /// blob (the head builds series from them unchecked).
    static func decodeRecord(_ rec: UnsafeRawBufferPointer, asType type: WALRecordType) {
        switch type {
        case .series:
            var series: [WALSeries] = []
            do { try WALRecordDecoder.series(rec, into: &series) } catch { return }
            for s in series {
                var n = 0
                s.labels.forEach { _, _ in n += 1 }
                _ = s.labels.description
            }
        case .samples:
            var samples: [WALSample] = []
            _ = try? WALRecordDecoder.samples(rec, into: &samples)
        default:
            break
        }
    }
}

// MARK: block index

enum IndexHarness {
    /// Caps on the work per input (an index can name millions of series in a few bytes).
    static let maxNames = 32, maxValues = 64, maxSeries = 256

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        walk(bytes)
        // Again with the TOC's, the sections' and the series' CRCs recomputed, so the fuzzer
        // reaches the decoding behind them.
        var fixed = bytes
        CRCRepair.index(&fixed)
        if fixed != bytes { walk(fixed) }
    }

    static func walk(_ bytes: [UInt8]) {
        guard let r = try? IndexReader(InMemoryBytes(bytes, name: "fuzz")) else { return }
        _ = r.symbolCount
        _ = try? r.allSymbolBytes()
        var work = 0
        for name in r.labelNames().prefix(maxNames) {
            guard let values = try? r.labelValues(name) else { continue }
            for v in values.prefix(maxValues) {
                _ = try? r.postings(name, v)
                work += 1
            }
            _ = try? r.postings(name, where: { $0.hasPrefix("a") }, interrupt: {
                work += 1
                if work > 10_000 { throw CancellationError() }
            })
        }
        guard let refs = try? r.allPostings() else { return }
        var chunks: [ChunkMeta] = []
        for ref in refs.prefix(maxSeries) {
            if let labels = try? r.series(ref, chunks: &chunks) {
                _ = labels.description
            }
        }
    }
}

// MARK: chunks

enum ChunkHarness {
    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        // XOR chunk: every sample, a time window, an early stop.
        var out: [Sample] = []
        _ = try? XORDecoder.samples(bytes, into: &out)
        out.removeAll()
        _ = try? XORDecoder.samples(bytes, mint: 0, maxt: 1_000_000, into: &out)
        var n = 0
        _ = try? XORDecoder.decode(input) { _, _ in n += 1; return n < 3 }
        _ = XORChunk.sampleCount(bytes)
        // Resuming a chunk read back from disk and appending to it.
        if var app = try? XORAppender(resuming: bytes), app.count < Int(UInt16.max) {
            var b = bytes
            app.append(t: 1, v: 1, to: &b)
        }
        // Aggregate chunk: each aggregate, the window count, the counter series.
        for aggr in AggrChunk.Aggr.allCases {
            _ = try? AggrChunk.samples(bytes, aggr)
            _ = try? AggrChunk.subChunk(bytes, aggr)
        }
        _ = AggrChunk.sampleCount(bytes)
        _ = try? AggrChunk.counterSamples([bytes, bytes], chunkStarts: false)
    }
}

// MARK: YAML configuration files

enum ObjectStoreConfigHarness {
    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        do { _ = try ObjectStoreConfig.parse(String(decoding: input, as: UTF8.self)) } catch { _ = "\(error)" }
    }
}

enum WebConfigHarness {
    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        do { _ = try WebConfig.parse(String(decoding: input, as: UTF8.self), directory: "/etc/strata") } catch { _ = "\(error)" }
    }
}

/// Thanos Receive's limits file (`--receive.limits-config-file`): what loads must also answer
/// for any tenant, as every write asks it.
enum LimitsConfigHarness {
    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        do {
            let limits = try LimitsConfig.parse(String(decoding: input, as: UTF8.self))
            for tenant in ["default-tenant", "acme", ""] + Array(limits.tenants.keys.prefix(4)) {
                _ = limits.effective(for: tenant)
            }
        } catch { _ = "\(error)" }
    }
}

// MARK: rules

/// A rule file checked as `strata check rules` and a start-up check it: YAML, PromQL of every
/// expression, Go templates of alerting rules; on a query-sized stack as the server parses them.
enum RuleFileHarness {
    static let parser = RuleFileParser(parserOptions: ParserOptions(experimentalFunctions: true), checkTemplate: AlertTemplates.parseCheck)
    static let worker = BigStackWorker(stackBytes: BlockingThread.queryStackBytes)

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        worker.run {
            do {
                let file = try parser.parse(text, path: "fuzz.yml")
                _ = file.duplicateRulesReport
                for g in file.groups { for r in g.rules { _ = r.parsed.description } }
            } catch { _ = "\(error)" }
        }
    }
}

/// The input as an alert annotation, parsed and executed with Prometheus' data and functions
/// (`query` answering two samples), as rule evaluation renders it.
enum AlertTemplateHarness {
    static let worker = BigStackWorker(stackBytes: BlockingThread.queryStackBytes)
    static let expander = AlertTemplateExpander(
        alertName: "Fuzz", labels: ["job": "api", "instance": "a.example:9090", "__name__": "up"],
        externalLabels: ["cluster": "lab"], externalURL: "http://strata.example:9090/prefix", value: 1234.5,
        timestamp: 1_700_000_000_000,
        query: { _, _ in [TemplateSample(labels: ["instance": "b", "job": "api"], value: 2), TemplateSample(labels: [:], value: .nan)] })

    @Sendable static func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        worker.run {
            _ = AlertTemplateExpander.parseTest(alertName: "Fuzz", text)
            let (rendered, error) = expander.expand(text)
            // A failure renders as Prometheus renders it, never as nothing.
            precondition(error == nil || rendered.hasPrefix("<error expanding template: "))
        }
    }
}

// MARK: a thread with a large stack

/// Runs closures one at a time, synchronously, on one long-lived thread that `BlockingThread`
/// started with `stackBytes` of stack: one thread for every input instead of one per input.
final class BigStackWorker: @unchecked Sendable {
    private var work: (() -> Void)?
    private let start = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(stackBytes: Int) {
        BlockingThread.start(stackBytes: stackBytes) { [self] in
            while true {
                start.wait()
                work!()
                done.signal()
            }
        }
    }

    func run(_ body: () -> Void) {
        withoutActuallyEscaping(body) { b in
            work = b
            start.signal()
            done.wait()
            work = nil
        }
    }
}
