import Synchronization
import Testing
@testable import StrataHTTPAPI
#if canImport(Glibc)
import Glibc
#endif

final class Gauge: Sendable {
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

@Suite struct QuerySchedulerTests {
    /// Six blocking queries through a limit of two: never more than two at once, all finish.
    @Test func limitsConcurrencyAndQueuesTheRest() async {
        let scheduler = QueryScheduler(maxConcurrency: 2)
        let gauge = Gauge()
        await withTaskGroup(of: Int.self) { group in
            for i in 0 ..< 6 {
                group.addTask {
                    await scheduler.run {
                        let now = gauge.running.add(1, ordering: .relaxed).newValue
                        _ = gauge.peak.max(now, ordering: .relaxed)
                        usleep(30_000)
                        gauge.running.subtract(1, ordering: .relaxed)
                        return i
                    }
                }
            }
            var done = Set<Int>()
            for await i in group { done.insert(i) }
            #expect(done == Set(0 ..< 6))
        }
        #expect(gauge.peak.load(ordering: .relaxed) == 2)
        #expect(scheduler.load.running == 0 && scheduler.load.waiting == 0)
    }
}
