import CofferARM
import Foundation

/// A request as the handlers see it: routed, authenticated, its api-version checked, its body read within
/// the limit.
struct ARMRequest: Sendable {
    var method: String
    var path: ARMPath
    var match: ARMPathMatch
    /// Query parameters, names and values percent-decoded (`api-version`, `$filter`, `$skipToken`).
    var query: [String: String]
    var body: [UInt8]
    /// `https://HOST:PORT` as the client addressed serve: poll and page links are built on it.
    var baseURL: String
    /// The platform's change stamp read before the request was handled, under which what it reads may be
    /// kept (`Handlers.readModel`); nil when nothing is cached.
    var stamp: Int64? = nil

    subscript(_ parameter: String) -> String { match[parameter] }

    /// The JSON body decoded as `T`, or `InvalidRequestContent`.
    func decode<T: Decodable>(_ type: T.Type) throws(ARMError) -> T {
        try ARMBody.decode(type, from: body)
    }

    /// An absolute URL on serve's own address for a path, with the request's api-version.
    func url(_ path: String, extraQuery: [(String, String)] = []) -> String {
        var items = [("api-version", query["api-version"] ?? "")] + extraQuery
        items = items.filter { !$0.1.isEmpty }
        let text = items.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return baseURL + Self.encodePath(path) + (text.isEmpty ? "" : "?" + text)
    }

    /// Percent-encodes a query name or value.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? text
    }

    /// Percent-encodes what a path segment may not hold as is (`;` stays: the service writes it plainly).
    static func encodePath(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: pathAllowed) ?? path
    }

    private static let queryAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~$")
        return set
    }()

    private static let pathAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~/;:@")
        return set
    }()

    /// Parses a raw query: `&`-separated `name=value`, each percent-decoded; nil when an escape is
    /// malformed. A repeated name keeps its first value.
    static func parseQuery(_ raw: String?) -> [String: String]? {
        guard let raw, !raw.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.flatMap({ String($0).removingPercentEncoding }) else { return nil }
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding : ""
            guard let value else { return nil }
            if result[name] == nil { result[name] = value }
        }
        return result
    }
}

/// What a handler answers.
struct ARMResponse: Sendable {
    var status: Int
    var body: Data?
    var headers: [(String, String)]

    init(status: Int, body: Data? = nil, headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// A JSON body with a status.
    static func json<T: Encodable>(_ value: T, status: Int = 200, headers: [(String, String)] = []) -> ARMResponse {
        ARMResponse(status: status, body: ARMBody.encode(value), headers: headers)
    }

    static func error(_ error: ARMError, headers: [(String, String)] = []) -> ARMResponse {
        ARMResponse(status: error.status, body: ARMBody.encode(error.response), headers: headers)
    }
}
