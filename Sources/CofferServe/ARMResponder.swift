import CofferARM
import Foundation
public import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// `x-ms-request-id` values: GUID-shaped, 64 random bits drawn once per process and a counter, so that each
/// is unique without a call to the system's random source per request.
enum RequestID {
    private static let prefix = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)
    private static let digits = Array("0123456789abcdef".utf8)

    static func next() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var bytes = [UInt8](repeating: 0x2d, count: 36)
        var index = 0
        for (word, range) in [(prefix, 0..<16), (count, 16..<32)] {
            for nibble in range {
                if [8, 13, 18, 23].contains(index) { index += 1 }
                let shift = UInt64(60 - 4 * (nibble - range.lowerBound))
                bytes[index] = digits[Int((word >> shift) & 0xf)]
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One route: a method and a path shape, the provider whose api-versions it takes, and its handler.
struct Route: Sendable {
    var method: String
    var pattern: ARMPathPattern
    var provider: ARMProvider
    var handler: @Sendable (ARMRequest) async throws(ARMError) -> ARMResponse
    /// Whether the route takes only paths that end with `/` (the cross-region restore lists, which differ
    /// from the active stamp's by it alone); such a route is preferred for those paths.
    var trailingSlash = false
    /// Whether a 200 answer depends on nothing but the platform's state and the request's path, query and
    /// address, so that `ReadCache` may keep it until the platform changes (not so for operations, whose
    /// state lives in serve, nor for the cross-region restore's access tokens).
    var cached = false
}

/// The whole of serve's request handling, in ARM's order: request ids; the bearer token (401); the route
/// (404 for an unknown path, 405 for a method the resource does not take); the api-version (400); the
/// subscription (404 `SubscriptionNotFound`) and resource group (404 `ResourceGroupNotFound`); the body
/// (400 when over 4 MiB, not JSON, too deep or of the wrong shape); then the handler. Every response
/// carries `x-ms-request-id` and `x-ms-correlation-request-id`, and every error ARM's envelope.
public struct ARMResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let routes: [Route]
    let tokens: TokenStore
    let world: ServedWorld
    let scheme: String
    let logger: Logger
    /// The answers of cached routes at the platform's current change stamp; nil: every request reads the
    /// platform.
    let readCache: ReadCache?

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = RequestID.next()
        let correlationID = request.headers[Self.correlationHeader].flatMap(Self.plainHeaderValue) ?? requestID
        var armResponse = await handle(request)
        armResponse.headers.append(("x-ms-request-id", requestID))
        armResponse.headers.append(("x-ms-correlation-request-id", correlationID))
        let elapsed = ContinuousClock.now - started
        logger.info(
            "\(request.method.rawValue) \(Self.logged(request.uri.path)) \(armResponse.status)",
            metadata: [
                "request-id": .string(requestID),
                "ms": .stringConvertible(Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)),
            ])
        return Self.response(armResponse)
    }

    static let correlationHeader = HTTPField.Name("x-ms-correlation-request-id")!

    /// A path as the request log shows it: its first 300 characters.
    static func logged(_ path: String) -> Substring {
        path.utf8.count <= 300 ? path[...] : path.prefix(300)
    }

    /// A header value echoed back only when it is short and plain (a GUID, say).
    static func plainHeaderValue(_ value: String) -> String? {
        guard value.count <= 100, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return nil }
        return value
    }

    func handle(_ request: Request) async -> ARMResponse {
        // The token first: nothing else is looked at for an unauthenticated caller.
        if let error = authenticate(request.headers[.authorization]) {
            return .error(error, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"\(error.code)\"")])
        }
        let method = request.method.rawValue
        // A GET answered at the platform's current stamp is answered again as it was: routing, the
        // api-version and the world's checks depend on the path and query alone.
        var cacheEntry: (key: String, stamp: Int64)?
        if method == "GET", let readCache, let stamp = readCache.currentStamp() {
            let key = baseURL(request.head.authority) + request.uri.path + "?" + (request.uri.query ?? "")
            if let answer = readCache.response(key, at: stamp) { return answer }
            cacheEntry = (key, stamp)
        }
        guard let path = ARMPath(raw: request.uri.path) else {
            return .error(ARMError(status: 400, code: "InvalidRequestUri", message: "The request path is malformed or longer than \(ARMPath.maximumLength) bytes."))
        }
        guard let query = ARMRequest.parseQuery(request.uri.query) else {
            return .error(ARMError(status: 400, code: "InvalidRequestUri", message: "The query string holds a malformed percent-escape."))
        }
        let matching = routes.filter { !$0.trailingSlash || path.hasTrailingSlash }.compactMap { route in path.match(route.pattern).map { (route, $0) } }
        let candidates = matching.filter { $0.0.trailingSlash } + matching.filter { !$0.0.trailingSlash }
        guard !candidates.isEmpty else { return .error(.noRoute(method: method, path: path.description)) }
        guard let (route, match) = candidates.first(where: { $0.0.method == method }) else {
            return .error(.methodNotAllowed(method: method, path: path.description))
        }
        if let error = APIVersions.check(query["api-version"], for: route.provider) { return .error(error) }
        if let subscription = match.values["subscription"] {
            guard world.subscription(id: subscription) != nil else { return .error(.subscriptionNotFound(subscription)) }
            if let group = match.values["resourceGroup"], world.resourceGroup(subscriptionID: subscription, name: group) == nil {
                return .error(.resourceGroupNotFound(group))
            }
        }
        var body: [UInt8] = []
        if ["PUT", "POST", "PATCH"].contains(method) {
            if let length = request.headers[.contentLength].flatMap(Int.init), length > ARMBody.maximumSize {
                return .error(.requestContentTooLarge(limit: ARMBody.maximumSize), headers: [("Connection", "close")])
            }
            var request = request
            do {
                let buffer = try await request.collectBody(upTo: ARMBody.maximumSize)
                body = Array(buffer.readableBytesView)
            } catch {
                return .error(.requestContentTooLarge(limit: ARMBody.maximumSize), headers: [("Connection", "close")])
            }
        }
        let armRequest = ARMRequest(
            method: method, path: path, match: match, query: query, body: body,
            baseURL: baseURL(request.head.authority), stamp: cacheEntry?.stamp)
        do {
            let response = try await route.handler(armRequest)
            if route.cached, response.status == 200, let cacheEntry { readCache?.store(response, cacheEntry.key, at: cacheEntry.stamp) }
            return response
        } catch {
            if error.status >= 500 { logger.error("\(method) \(path): \(error.message)") }
            return .error(error)
        }
    }

    /// Nil when the `Authorization` header holds a live token; else the 401 to answer.
    func authenticate(_ header: String?) -> ARMError? {
        guard let header, !header.isEmpty else { return .authenticationHeaderMissing() }
        guard let token = Self.bearerToken(header) else { return .authenticationHeaderMalformed() }
        if let reason = tokens.refusal(of: token) {
            return .invalidAuthenticationToken(reason)
        }
        return nil
    }

    /// The token of `Bearer TOKEN` (the scheme in any case, spaces or tabs around the token); nil for any
    /// other form. Read byte by byte: it runs on every request.
    static func bearerToken(_ header: String) -> String? {
        let bytes = Array(header.utf8)
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        var start = 0
        while start < bytes.count, isBlank(bytes[start]) { start += 1 }
        let scheme = Array("bearer".utf8)
        guard bytes.count - start > scheme.count else { return nil }
        for (offset, letter) in scheme.enumerated() where bytes[start + offset] | 0x20 != letter { return nil }
        var tokenStart = start + scheme.count
        guard isBlank(bytes[tokenStart]) else { return nil }
        while tokenStart < bytes.count, isBlank(bytes[tokenStart]) { tokenStart += 1 }
        var end = bytes.count
        while end > tokenStart, isBlank(bytes[end - 1]) { end -= 1 }
        guard end > tokenStart else { return nil }
        return String(decoding: bytes[tokenStart..<end], as: UTF8.self)
    }

    /// `https://HOST:PORT` from the request's authority (its `Host`); the loopback address when it has none
    /// or it holds characters an authority may not.
    func baseURL(_ authority: String?) -> String {
        if let authority, !authority.isEmpty, authority.utf8.count <= 255, authority.utf8.allSatisfy(Self.isAuthorityByte) {
            return "\(scheme)://\(authority)"
        }
        return "\(scheme)://127.0.0.1"
    }

    /// Letters, digits and `.-:[]`: what a host, an IPv6 literal and a port are written with.
    static func isAuthorityByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"): true
        default: false
        }
    }

    static func response(_ armResponse: ARMResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in armResponse.headers {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        guard let body = armResponse.body else {
            if armResponse.status != 204 && armResponse.status != 304 { headers[.contentLength] = "0" }
            return Response(status: .init(code: armResponse.status), headers: headers)
        }
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .init(code: armResponse.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
