import StrataStorage
import Testing

/// The failure messages are part of the remote-write contract (they start the 400 response body),
/// and match Prometheus' wording for the same conditions.
@Suite struct AppendFailureTests {
    @Test func messagesMatchPrometheusWording() {
        #expect(AppendFailure.outOfOrder.message == "out of order sample")
        #expect(AppendFailure.duplicate.message == "duplicate sample for timestamp")
        #expect(AppendFailure.outOfBounds.message == "out of bounds")
        #expect(AppendFailure.invalidLabels("empty label name").message == "invalid labels: empty label name")
        #expect(AppendFailure.unsupported("native histograms are not supported yet").message == "native histograms are not supported yet")
    }

    @Test func resultsCompareByCountsAndFirstFailure() {
        let a = AppendResult(accepted: 2, rejected: 1, firstFailure: (1, .outOfOrder))
        #expect(a == AppendResult(accepted: 2, rejected: 1, firstFailure: (1, .outOfOrder)))
        #expect(a != AppendResult(accepted: 2, rejected: 1, firstFailure: (0, .outOfOrder)))
        #expect(a != AppendResult(accepted: 2, rejected: 1, firstFailure: (1, .duplicate)))
        #expect(AppendResult() == AppendResult(accepted: 0, rejected: 0, firstFailure: nil))
    }
}
