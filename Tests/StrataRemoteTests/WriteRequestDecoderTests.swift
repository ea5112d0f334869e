import StrataEncoding
import StrataModel
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataRemote
@testable import StrataTSDB

@Suite struct WriteRequestDecoderTests {
    func decode(_ b: WriteRequestBuilder, into head: Head) throws -> WriteSummary {
        let body = b.snappyBody()
        let decoder = WriteRequestDecoder()
        let app = head.appender()
        let s = try body.withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 1 << 20, into: app) }
        try app.commit()
        return s
    }

    func stored(_ head: Head) throws -> [String: [Sample]] {
        let q = try head.querier(mint: .min, maxt: .max)
        var out: [String: [Sample]] = [:]
        for s in try q.select([try LabelMatcher(.regexMatch, "__name__", ".+")], hints: SelectHints(mint: .min, maxt: .max)) {
            var b: [Sample] = []
            try s.samples(mint: .min, maxt: .max, into: &b)
            out[s.labels.description] = b
        }
        return out
    }

    @Test func decodesSeriesSamplesAndMetadata() throws {
        let head = Head()
        var b = WriteRequestBuilder()
        b.add([("__name__", "up"), ("job", "a")], [(1000, 1), (2000, 0), (3000, StaleNaN.value)])
        b.add([("__name__", "temp"), ("room", "k")], [(0, -3.5), (-5, 2)].reversed())
        b.metadata = [MetricMetadata(metricFamilyName: "up", type: .gauge, help: "Up.", unit: "")]
        let s = try decode(b, into: head)
        #expect(s.series == 2 && s.samplesAccepted == 5 && s.firstFailure == nil && s.metadata == 1)
        let got = try stored(head)
        #expect(got[#"{__name__="up", job="a"}"#]?.map(\.t) == [1000, 2000, 3000])
        #expect(got[#"{__name__="up", job="a"}"#]?[2].v.bitPattern == StaleNaN.bits)
        #expect(got[#"{__name__="temp", room="k"}"#] == [Sample(t: -5, v: 2), Sample(t: 0, v: -3.5)])
        #expect(head.metricMetadata.first { $0.metricFamilyName == "up" } == MetricMetadata(metricFamilyName: "up", type: .gauge, help: "Up.", unit: ""))
    }

    @Test func existingSeriesAreFoundByTheirBytes() throws {
        let head = Head()
        var b = WriteRequestBuilder()
        for i in 0 ..< 100 { b.add([("__name__", "m"), ("i", String(i))], [(1000, Double(i))]) }
        _ = try decode(b, into: head)
        var b2 = WriteRequestBuilder()
        for i in 0 ..< 100 { b2.add([("__name__", "m"), ("i", String(i))], [(2000, Double(i))]) }
        let s = try decode(b2, into: head)
        #expect(s.samplesAccepted == 100)
        #expect(head.numSeries == 100)
    }

    @Test func emptyLabelValuesAreIgnored() throws {
        let head = Head()
        var b = WriteRequestBuilder()
        b.add([("__name__", "m"), ("empty", ""), ("z", "1")], [(1000, 1)])
        b.add([("__name__", "m"), ("z", "1")], [(2000, 2)])
        _ = try decode(b, into: head)
        #expect(try stored(head) == [#"{__name__="m", z="1"}"#: [Sample(t: 1000, v: 1), Sample(t: 2000, v: 2)]])
    }

    /// Labels as every client encodes them take a shortcut; any other valid encoding of the same
    /// label (fields reversed, an unknown field, a padded length, a long value) must give the
    /// same series, and an empty value must still drop the label on both paths.
    @Test func everyEncodingOfALabelGivesTheSameSeries() throws {
        func field(_ n: UInt64, _ bytes: [UInt8], paddedLength: Bool = false) -> [UInt8] {
            var out = [UInt8(n << 3 | 2)]
            if paddedLength { out += [UInt8(bytes.count) | 0x80, 0x00] } else { Varint.appendUvarint(&out, UInt64(bytes.count)) }
            return out + bytes
        }
        let long = String(repeating: "v", count: 200)
        let encodings: [(name: String, value: String, message: [UInt8])] = [
            ("job", "a", field(1, Array("job".utf8)) + field(2, Array("a".utf8))),
            ("job", "a", field(2, Array("a".utf8)) + field(1, Array("job".utf8))),
            ("job", "a", field(1, Array("job".utf8)) + [0x18, 0x07] + field(2, Array("a".utf8))),
            ("job", "a", field(1, Array("job".utf8), paddedLength: true) + field(2, Array("a".utf8))),
            ("job", long, field(1, Array("job".utf8)) + field(2, Array(long.utf8))),
            ("job", "", field(1, Array("job".utf8)) + field(2, [])),
            ("job", "", field(2, []) + field(1, Array("job".utf8))),
        ]
        for (i, e) in encodings.enumerated() {
            let name = field(1, Array("__name__".utf8)) + field(2, Array("m".utf8))
            let sample: [UInt8] = [0x09] + withUnsafeBytes(of: Double(i).bitPattern.littleEndian, Array.init) + [0x10, 0x01]
            let series = field(1, name) + field(1, e.message) + field(2, sample)
            let head = Head()
            let app = head.appender()
            let summary = try WriteRequestDecoder().decode(protobuf: field(1, series), into: app)
            try app.commit()
            #expect(summary.samplesAccepted == 1, "encoding \(i)")
            let expected = e.value.isEmpty ? #"{__name__="m"}"# : Labels([("__name__", "m"), (e.name, e.value)]).description
            #expect(try stored(head) == [expected: [Sample(t: 1, v: Double(i))]], "encoding \(i)")
        }
    }

    @Test func partlyBadRequestKeepsValidSeriesAndReportsTheFirstFailure() throws {
        let head = Head()
        var first = WriteRequestBuilder()
        first.add([("__name__", "a")], [(5000, 1)])
        _ = try decode(first, into: head)
        var b = WriteRequestBuilder()
        b.add([("__name__", "ok")], [(1000, 1)])
        b.add([("__name__", "a")], [(4000, 2), (6000, 3)])        // first sample out of order
        b.add([("job", "nameless")], [(1000, 1)])                  // invalid labels
        b.series.append(.init(labels: [("__name__", "h")], samples: [], histograms: 2))
        let s = try decode(b, into: head)
        #expect(s.samplesAccepted == 2)
        #expect(s.samplesRejected == 2)
        #expect(s.histogramsRejected == 2)
        #expect(s.seriesRejected == 3, "a, the nameless one and h")
        #expect(s.firstFailure?.labels == #"{__name__="a"}"#)
        #expect(s.firstFailure?.failure == .outOfOrder)
        let got = try stored(head)
        #expect(got[#"{__name__="a"}"#] == [Sample(t: 5000, v: 1), Sample(t: 6000, v: 3)])
        #expect(got[#"{__name__="ok"}"#] == [Sample(t: 1000, v: 1)])
        #expect(got.count == 2)
    }

    @Test func malformedBodiesStoreNothing() throws {
        let head = Head()
        var b = WriteRequestBuilder()
        b.add([("__name__", "m")], [(1000, 1)])
        let good = b.protobuf()
        let cases: [([UInt8], String)] = [
            (Array(good.dropLast(3)), "unexpected end"),
            (good + [0x0A, 0x05, 0x01], "unexpected end"),       // length past the end
            (good + [0x00], "illegal tag 0"),
            (good + [0x2B], "unsupported wire type 3"),
            (good + [0x0B], "wrong wireType = 3 for field 1 in WriteRequest"),
            (good + [0x0A] + [UInt8](repeating: 0xFF, count: 11), "varint overflow"),
        ]
        for (raw, why) in cases {
            let decoder = WriteRequestDecoder()
            #expect(throws: RemoteWriteError.protobuf(why == "unexpected end" ? "unexpected end of message" : why)) {
                _ = try decoder.decode(protobuf: raw, into: head.appender())
            }
        }
        #expect(head.numSeries == 0)
    }

    @Test func snappyErrorsAndDecodedSizeLimit() throws {
        let head = Head()
        let decoder = WriteRequestDecoder()
        var b = WriteRequestBuilder()
        for i in 0 ..< 200 { b.add([("__name__", "m"), ("i", String(i))], [(1000, 1)]) }
        let body = b.snappyBody()
        #expect(throws: RemoteWriteError.snappy("corrupt input")) {
            _ = try [UInt8](repeating: 0xFF, count: 10).withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 1 << 20, into: head.appender()) }
        }
        let raw = b.protobuf().count
        #expect(throws: RemoteWriteError.tooLarge(decodedBytes: raw, limit: 100)) {
            _ = try body.withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 100, into: head.appender()) }
        }
        #expect(head.numSeries == 0)
        // The same decoder still works afterwards.
        let s = try body.withUnsafeBytes { try decoder.decode(snappyBody: $0, maxDecodedBytes: 1 << 20, into: head.appender()) }
        #expect(s.samplesAccepted == 200)
    }
}
