/// Go's net.SplitHostPort / JoinHostPort / ParseIP, as stripPort and stripDomain use them.
enum HostPort {
    static func split(_ hostPort: String) -> (host: String, port: String)? {
        guard let lastColon = hostPort.lastIndex(of: ":") else { return nil }
        var host: Substring
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            let afterClose = hostPort.index(after: close)
            // "]" must be followed directly by the port's colon.
            guard afterClose == lastColon else { return nil }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            if host.contains("[") || host.contains("]") { return nil }
        } else {
            host = hostPort[..<lastColon]
            if host.contains(":") || host.contains("[") || host.contains("]") { return nil }
        }
        let port = hostPort[hostPort.index(after: lastColon)...]
        if port.contains("[") || port.contains("]") { return nil }
        return (String(host), String(port))
    }

    static func join(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func isIP(_ text: String) -> Bool {
        isIPv4(text) || isIPv6(text)
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            guard part.count == 1 || !part.hasPrefix("0") else { return false }
            return Int(part)! <= 255
        }
    }

    private static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":") else { return false }
        var groups = text.components(separatedBy: ":")
        var hasEmbeddedIPv4 = false
        if let last = groups.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            groups.removeLast()
            hasEmbeddedIPv4 = true
        }
        let doubleColons = text.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        let nonEmpty = groups.filter { !$0.isEmpty }
        guard nonEmpty.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
        let groupCount = nonEmpty.count + (hasEmbeddedIPv4 ? 2 : 0)
        return doubleColons == 1 ? groupCount < 8 : groupCount == 8 && groups.count == nonEmpty.count
    }
}
