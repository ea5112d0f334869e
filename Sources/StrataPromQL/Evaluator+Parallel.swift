import StrataModel
import StrataPromQLParser
import StrataRuntime
import StrataStorage

extension Evaluator {
    /// A range function over a range selector, its series decoded and evaluated on up to
    /// `parallelism` threads: the per-series work (chunk decoding, the windows, the kernel)
    /// is most of such a query and shares nothing between series. The outputs are the ones the
    /// serial path gives, handed to `emit` in the same order between rounds, on this thread, the
    /// only one that touches the query context (sample limit, annotations). The helpers are
    /// threads of their own, not the dispatch pool, which Swift's concurrency runtime (the HTTP
    /// handlers) also runs on.
    func parallelRangeFunction(_ ms: MatrixSelector, name: String, scalars: [[Double]], dropName: Bool, stepInvariant: Bool,
                               isCounterFunction: Bool, position: PositionRange, sortSeries: Bool,
                               _ emit: (Series) throws -> Void) throws {
        let vs = ms.vectorSelector
        let w = RangeWindows(range: ms.range, offset: vs.originalOffset, at: vs.timestamp)
        let mint = (vs.timestamp ?? start) - vs.originalOffset - ms.range + 1
        let maxt = (vs.timestamp ?? end) - vs.originalOffset
        let series = try selectSeries(vs, mint: mint, maxt: maxt, range: ms.range, sortSeries: sortSeries)
        let workers = series.count >= ctx.options.parallelSeriesThreshold ? ctx.options.parallelism : 1
        let interrupt = ctx.storageInterrupt
        let (start, end, interval) = (self.start, self.end, self.interval)

        /// One worker's share of a round: its outputs in series order, and the largest input it held.
        struct Share {
            var outputs: [Series] = []
            var largestInput = 0
            var error: (any Error)?
        }
        // Rounds bound what is decoded before the sample limit is checked (about 2M points),
        // and are large enough that starting the helpers costs little beside them.
        let round = Swift.max(workers * 256, Swift.min(8192, 2_000_000 / Swift.max(1, numSteps)))
        var from = 0
        while from < series.count {
            let first = from, to = Swift.min(series.count, from + round)
            let per = (to - first + workers - 1) / workers
            var shares = [Share](repeating: Share(), count: workers)
            shares.withUnsafeMutableBufferPointer { out in
                let out = UnsafeSendable(out)
                BlockingThread.parallel(workers) { k in
                    var share = Share()
                    do {
                        let lo = first + k * per, hi = Swift.min(to, lo + per)
                        guard lo < hi else { out.value[k] = share; return }
                        let kernel = try Self.rangeKernel(name, scalars: scalars, start: start, interval: interval)
                        var checks = 0
                        let check = {
                            checks &+= 1
                            if checks & 63 == 0 { try interrupt() }
                        }
                        var buf: [Sample] = []
                        for i in lo ..< hi {
                            try interrupt()
                            buf.removeAll(keepingCapacity: true)
                            do { try series[i].samples(mint: mint, maxt: maxt, into: &buf) } catch {
                                throw QueryError(.storage, "expanding series: \(error)")
                            }
                            buf.removeAll { StaleNaN.isStale($0.v) }
                            share.largestInput = Swift.max(share.largestInput, buf.count)
                            guard !buf.isEmpty else { continue }
                            let points = try Self.windowPoints(buf, w, start: start, end: end, interval: interval, stepInvariant: stepInvariant,
                                                               check: check, kernel)
                            if !points.isEmpty { share.outputs.append(Series(labels: series[i].labels, points: points, dropName: dropName)) }
                        }
                    } catch {
                        share.error = error
                    }
                    out.value[k] = share
                }
            }
            // Each worker held one series' samples at a time; then the round's outputs are kept.
            let held = shares.reduce(0) { $0 + $1.largestInput }
            try ctx.addSamples(held)
            ctx.releaseSamples(held)
            // The round's outputs are all held until the last is handed on: counted together first.
            for share in shares {
                if let error = share.error { throw error }
                try ctx.addSamples(share.outputs.reduce(0) { $0 + $1.points.count })
            }
            for share in shares {
                for s in share.outputs {
                    if isCounterFunction { annotateIfNotCounter(s.labels, position: position) }
                    try emit(s)
                }
            }
            from = to
        }
    }
}

/// Hands a buffer to the worker threads, each of which writes only its own element.
private struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
