import Foundation
import Synchronization
import Testing
@testable import StrataRuntime
#if canImport(Glibc)
import Glibc
#endif

final class HogFlags: Sendable {
    let started = Atomic<Bool>(false)
    let release = Atomic<Bool>(false)

    /// Takes a slot of `scheduler` with a job that holds it until `release` is set; returns once
    /// the job runs.
    static func holdSlot(of scheduler: ConcurrencyGate) async throws -> (Task<Int, Never>, HogFlags) {
        let flags = HogFlags()
        let hog = Task {
            await scheduler.run {
                flags.started.store(true, ordering: .relaxed)
                while !flags.release.load(ordering: .relaxed) { usleep(1000) }
                return 0
            }
        }
        while !flags.started.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
        return (hog, flags)
    }
}

final class Gauge: Sendable {
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

@Suite struct ConcurrencyGateTests {
    /// A larger gate lets waiters in at once; a smaller one takes effect as holders leave, and
    /// never lets more run than it has slots.
    @Test func resizingStartsWaitersOrWaitsForHolders() async throws {
        let gate = ConcurrencyGate(maxConcurrency: 1)
        let first = try #require(gate.tryHold())
        let waiter = Task { await gate.hold(timeout: .seconds(30)) }
        while gate.load.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        gate.setMaxConcurrency(2)
        let second = try #require(await waiter.value)
        #expect(gate.load.running == 2 && gate.load.waiting == 0)
        // Down to one: the two holders keep their slots; a newcomer waits until both left.
        gate.setMaxConcurrency(1)
        #expect(gate.tryHold() == nil)
        let third = Task { await gate.hold(timeout: .seconds(30)) }
        while gate.load.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        first.release()
        #expect(gate.load.running == 1 && gate.load.waiting == 1)
        second.release()
        let slot = try #require(await third.value)
        #expect(gate.load.running == 1 && gate.maxConcurrency == 1)
        slot.release()
        #expect(gate.load.running == 0)
    }

    /// A held slot (a streamed remote-read body) keeps others waiting until it is released,
    /// once, explicitly or by dropping the token.
    @Test func aHeldSlotIsFreedOnceByReleaseOrWhenDropped() async throws {
        let scheduler = ConcurrencyGate(maxConcurrency: 1)
        var slot = await scheduler.hold(unless: nil)
        #expect(slot != nil && scheduler.load.running == 1)
        let waiter = Task { await scheduler.run { 7 } }
        while scheduler.load.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
        slot?.release()
        slot?.release() // a second release must not free a slot someone else holds
        #expect(await waiter.value == 7)
        #expect(scheduler.load.running == 0 && scheduler.load.waiting == 0)
        slot = await scheduler.hold(unless: nil)
        #expect(scheduler.load.running == 1)
        slot = nil // dropped without release: freed all the same
        #expect(scheduler.load.running == 0)
        let cancelled = QueryCancellation()
        cancelled.cancel()
        #expect(await scheduler.hold(unless: cancelled) == nil)
        #expect(scheduler.load.running == 0)
    }

    /// The write path's way in: a free slot without suspending, else a bounded wait.
    @Test func tryHoldAndATimedWait() async throws {
        let gate = ConcurrencyGate(maxConcurrency: 1)
        let first = try #require(gate.tryHold())
        #expect(gate.tryHold() == nil)
        let started = ContinuousClock.now
        #expect(await gate.hold(timeout: .milliseconds(50)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(gate.load.running == 1 && gate.load.waiting == 0)
        // A slot freed while a timed waiter waits goes to it.
        let waiter = Task { await gate.hold(timeout: .seconds(30)) }
        while gate.load.waiting < 1 { try await Task.sleep(for: .milliseconds(2)) }
        first.release()
        let second = await waiter.value
        #expect(second != nil && gate.load.running == 1)
        second?.release()
        #expect(gate.load.running == 0)
    }

    /// Six blocking queries through a limit of two: never more than two at once, all finish.
    @Test func limitsConcurrencyAndQueuesTheRest() async {
        let scheduler = ConcurrencyGate(maxConcurrency: 2)
        let gauge = Gauge()
        await withTaskGroup(of: Int.self) { group in
            for i in 0 ..< 6 {
                group.addTask {
                    await scheduler.run {
                        let now = gauge.running.add(1, ordering: .relaxed).newValue
                        _ = gauge.peak.max(now, ordering: .relaxed)
                        // Wait (up to 2 s) for a second job to run beside this one, so the peak
                        // does not depend on how fast a loaded machine starts threads.
                        var waited = 0
                        while gauge.running.load(ordering: .relaxed) < 2 && waited < 2000 { usleep(1000); waited += 1 }
                        _ = gauge.peak.max(gauge.running.load(ordering: .relaxed), ordering: .relaxed)
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

    /// A waiting query whose client went away leaves the queue without running; the slot it
    /// would have had goes to the next one in line.
    @Test func aCancelledWaiterLeavesTheQueueAndNeverRuns() async throws {
        let scheduler = ConcurrencyGate(maxConcurrency: 1)
        let (hog, flags) = try await HogFlags.holdSlot(of: scheduler)
        let counter = Gauge()
        let gone = QueryCancellation()
        let cancelled = Task { await scheduler.run(unless: gone) { counter.running.add(1, ordering: .relaxed); return 1 } }
        while scheduler.load.waiting < 1 { try await Task.sleep(for: .milliseconds(2)) }
        let next = Task { await scheduler.run(unless: QueryCancellation()) { counter.running.add(10, ordering: .relaxed); return 2 } }
        while scheduler.load.waiting < 2 { try await Task.sleep(for: .milliseconds(2)) }
        gone.cancel()
        #expect(await cancelled.value == nil)   // answered while the slot is still held
        #expect(scheduler.load.waiting == 1)
        flags.release.store(true, ordering: .relaxed)
        #expect(await hog.value == 0)
        #expect(await next.value == 2)
        #expect(counter.running.load(ordering: .relaxed) == 10)
        #expect(scheduler.load.running == 0 && scheduler.load.waiting == 0)
        // Already cancelled: never queued, never run.
        #expect(await scheduler.run(unless: gone) { counter.running.add(100, ordering: .relaxed); return 3 } == nil)
        #expect(counter.running.load(ordering: .relaxed) == 10)
    }

    /// Cancelling the calling task also takes a waiting query out of the queue.
    @Test func cancellingTheTaskLeavesTheQueue() async throws {
        let scheduler = ConcurrencyGate(maxConcurrency: 1)
        let (hog, flags) = try await HogFlags.holdSlot(of: scheduler)
        let waiter = Task { await scheduler.run(unless: nil) { 1 } }
        while scheduler.load.waiting < 1 { try await Task.sleep(for: .milliseconds(2)) }
        waiter.cancel()
        #expect(await waiter.value == nil)
        flags.release.store(true, ordering: .relaxed)
        _ = await hog.value
        #expect(scheduler.load.running == 0 && scheduler.load.waiting == 0)
    }
}
