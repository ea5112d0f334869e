import NIOCore

/// Runs a task's jobs on one NIO event loop. A shard's task prefers the loop its connections live
/// on, so a request and its response stay on that thread: without it every exchange hops between
/// Swift's global executor and the loop (a wakeup each way), a tenth of the generator's CPU.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
