/// The TSDB admin operations the HTTP API offers when `--web.enable-admin-api` is set.
public protocol TSDBAdmin: Sendable {
    /// Writes a snapshot of all blocks (and the head, unless `skipHead`) under
    /// `<data dir>/snapshots/<name>` and returns its name.
    func snapshot(skipHead: Bool) throws -> String
}
