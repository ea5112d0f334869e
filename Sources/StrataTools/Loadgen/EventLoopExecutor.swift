import NIOCore

/// Runs a task's jobs on one NIO event loop. A shard's task runs on a loop of the HTTP client's
/// group, and AsyncHTTPClient prefers a connection on the calling loop, so a request and its
/// response mostly stay on that thread; on Swift's global executor every exchange hopped between
/// threads (a wakeup each way): a tenth of the generator's CPU. The shard's encoding and snappy
/// run on the loop too, which serves only this run's connections.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
