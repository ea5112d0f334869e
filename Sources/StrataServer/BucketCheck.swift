import StrataObjectStore

/// The bucket check `strata serve` runs before it replays anything: a read of an object no
/// block has (wrong credentials, an unreachable endpoint) and a listing under a prefix no block
/// has (a missing bucket), so that these stop the server at once with a line that says which,
/// instead of as upload failures much later. Both answers are small whatever the bucket's size.
public enum BucketCheck {
    public static func run(_ config: ServerConfig, timeout: Duration = .seconds(15)) async throws {
        guard config.shipping else { return }
        let store = config.effectiveObjectStore
        let bucket: any Bucket
        do { bucket = try store.makeBucket() } catch { throw ConfigError("objstore: \(error)") }
        let outcome: Result<Void, any Error>? = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do {
                    _ = try await bucket.exists("strata-startup-check")
                    _ = try await bucket.list("strata-startup-check/", recursive: false)
                    return .success(())
                } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case .success: return
        case .none:
            throw ConfigError("objstore \(store.kind): no answer within \(timeout); check the endpoint (or start with --no-shipper)")
        case .failure(let error):
            let hint: String
            switch (error as? ObjectStoreError)?.kind {
            case .denied: hint = "the credentials were refused"
            case .notFound: hint = "the bucket does not exist"
            default: hint = "the bucket cannot be reached"
            }
            throw ConfigError("objstore \(store.kind): \(hint): \(error)")
        }
    }
}
