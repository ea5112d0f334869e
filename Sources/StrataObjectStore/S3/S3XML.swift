import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The few S3 XML documents the bucket reads: list results, errors, multipart upload ids.
final class S3XML: NSObject, XMLParserDelegate {
    /// Text of every element by its path (`ListBucketResult/Contents/Key`), in document order.
    private(set) var values: [(path: String, text: String)] = []
    private var stack: [String] = []
    private var text = ""

    static func parse(_ bytes: [UInt8]) -> S3XML {
        let doc = S3XML()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = doc
        _ = parser.parse()
        return doc
    }

    func all(_ path: String) -> [String] { values.filter { $0.path == path }.map(\.text) }
    func first(_ path: String) -> String? { values.first { $0.path == path }?.text }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        stack.append(name)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        values.append((stack.joined(separator: "/"), text))
        stack.removeLast()
        text = ""
    }

    /// XML-escapes `s` for a request body (the multipart completion's ETags).
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
