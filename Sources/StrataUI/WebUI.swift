import HTTPTypes
import Hummingbird
import NIOCore

/// The web UI, served from the binary (`ui/`, embedded by `scripts/embed-ui.py`): `/` sends
/// the browser to `/graph`, the query page, as Prometheus does; the metrics explorer, TSDB
/// status, blocks, rules, alerts, status, flags and config pages; `/ui/<file>` serves the
/// scripts and styles. Nothing is fetched from elsewhere at run time.
public enum WebUI {
    /// The UI's pages, all the same document (`ui/app.js` renders by path): the query page
    /// at Prometheus' old and new paths, then the others.
    static let pages = ["/graph", "/query", "/explore", "/tsdb-status", "/blocks", "/rules", "/alerts", "/status", "/flags", "/config"]

    public static func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/") { _, _ in
            Response(status: .found, headers: [.location: "/graph"])
        }
        for page in pages {
            router.get(RouterPath(page)) { _, _ in asset("index.html") ?? notFound() }
        }
        router.get("/ui/{file}") { _, context in
            guard let name = context.parameters.get("file"), name != "index.html", let r = asset(name) else { return notFound() }
            return r
        }
    }

    /// An embedded file as a response (revalidated on every load: the binary may have changed).
    static func asset(_ name: String) -> Response? {
        guard let file = UIAssets.files[name] else { return nil }
        return Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(string: file.body)))
    }

    static func notFound() -> Response {
        Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "404 page not found\n")))
    }
}
