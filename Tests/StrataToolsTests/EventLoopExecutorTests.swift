import NIOCore
import NIOPosix
@testable import StrataTools
import Testing

/// A shard's task runs on its event loop: every job of it, including the ones after a suspension
/// (a sleep, a yield), so a request and its response stay on the loop's thread.
@Suite struct EventLoopExecutorTests {
    @Test func aTaskPreferringTheExecutorRunsOnItsLoopAcrossSuspensions() async {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let executor = EventLoopExecutor(loop)
        let onLoop = await withTaskGroup(of: [Bool].self) { g in
            g.addTask(executorPreference: executor) {
                var seen = [loop.inEventLoop]
                for _ in 0 ..< 3 {
                    try? await Task.sleep(for: .milliseconds(1))
                    seen.append(loop.inEventLoop)
                    await Task.yield()
                    seen.append(loop.inEventLoop)
                }
                return seen
            }
            return await g.next() ?? []
        }
        #expect(onLoop.count == 7 && onLoop.allSatisfy { $0 }, "\(onLoop)")
        #expect(!loop.inEventLoop, "the test itself is not on the loop")
    }
}
