import Foundation
import Hummingbird
import Logging
import NIOCore
import StrataHTTPAPI
import StrataTSDB

/// Builds the whole server: storage opened from `config.tsdbPath`, and the HTTP API on top.
/// Tests call this too, so what they exercise is what `strata serve` runs.
public func buildApplication(
    config: ServerConfig,
    logger: Logger = Logger(label: "strata"),
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try FileManager.default.createDirectory(atPath: config.tsdbPath, withIntermediateDirectories: true)

    var headOptions = HeadOptions()
    headOptions.chunkRange = config.blockDuration
    let head = Head(options: headOptions)

    var apiOptions = APIOptions()
    apiOptions.maxRequestBytes = config.maxRequestBytes
    apiOptions.lookbackDelta = config.lookbackDelta
    apiOptions.buildInfo.version = StrataVersion.current

    let router = Router()
    PrometheusAPI<BasicRequestContext>(storage: head, options: apiOptions).register(on: router)

    logger.info("starting Strata", metadata: [
        "version": "\(StrataVersion.current)", "http": "\(config.httpHost):\(config.httpPort)",
        "tsdb.path": "\(config.tsdbPath)",
    ])
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "Strata"),
        onServerRunning: onServerRunning,
        logger: logger
    )
}

public enum StrataVersion {
    public static let current = "0.1.0"
}
