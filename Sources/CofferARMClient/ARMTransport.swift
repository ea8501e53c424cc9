import AsyncHTTPClient
import CofferARM
import CofferModel
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where and how the ARM client talks: the endpoint, the bearer token, the CA to trust, and the limits of
/// its retries and concurrency.
public struct ARMClientConfiguration: Sendable {
    /// `https://HOST[:PORT]`, without a path.
    public var endpoint: String
    /// The bearer token sent with every request; never printed.
    public var token: String
    /// A PEM file of the CA to trust instead of the system's roots (coffer serve's `ca.pem`).
    public var caFile: String?
    /// Requests in flight at once for the list calls of a refresh.
    public var concurrency: Int
    /// How long a request is retried (429, 5xx, a dropped connection) before the provider gives up.
    public var retryDeadline: Duration
    /// How long a long-running operation is polled before the provider gives up.
    public var operationDeadline: Duration
    /// The first backoff delay; it doubles with each retry, up to `maximumBackoff`, with full jitter.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// How long one request may take.
    public var requestTimeout: Duration

    public init(
        endpoint: String, token: String, caFile: String? = nil, concurrency: Int = 8, retryDeadline: Duration = .seconds(120),
        operationDeadline: Duration = .seconds(1800), initialBackoff: Duration = .milliseconds(250), maximumBackoff: Duration = .seconds(30),
        requestTimeout: Duration = .seconds(60)
    ) {
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.token = token
        self.caFile = caFile
        self.concurrency = max(1, concurrency)
        self.retryDeadline = retryDeadline
        self.operationDeadline = operationDeadline
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.requestTimeout = requestTimeout
    }
}

/// The api-version the client sends, per resource provider (the versions coffer serve is tested with).
enum ClientAPIVersion {
    static let resources = "2022-12-01"
    static let vaults = "2026-11-01"
    static let backup = "2026-10-01"
    static let keyVault = "2026-05-15"
    static let compute = "2026-04-01"
    static let authorization = "2022-04-01"
}

/// One HTTP/1.1 connection pool to the endpoint, over TLS, with ARM's retry and long-running operation
/// rules (reference/arm-api.md section 3): 429 and 5xx retried with exponential backoff and full jitter,
/// honouring `Retry-After`, until `retryDeadline`; other 4xx answers terminal, as a `ProviderError` with
/// ARM's code; a 201 or 202 with `Azure-AsyncOperation` or `Location` polled to its end.
final class ARMTransport: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    let client: HTTPClient
    let configuration: ARMClientConfiguration

    init(configuration: ARMClientConfiguration) throws {
        guard let url = URL(string: configuration.endpoint), url.scheme?.lowercased() == "https", url.host != nil,
            url.path.isEmpty || url.path == "/"
        else {
            throw ProviderError(
                code: "InvalidEndpoint", message: "'\(configuration.endpoint)' is not an https://HOST[:PORT] endpoint",
                hint: "ARM is reached over TLS only; give the endpoint's base URL, such as https://127.0.0.1:8443")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = configuration.caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw ProviderError(code: "InvalidCAFile", message: "cannot read the CA certificate '\(caFile)': \(error)",
                                    hint: "give a PEM file, such as coffer serve's STATE/serve/ca.pem")
            }
        }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(Int64(configuration.requestTimeout.components.seconds))),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(configuration.concurrency, 1)))
        http.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        self.configuration = configuration
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// An absolute URL for a path (with its query), or the URL itself when it is one (a `nextLink`, an
    /// operation's status URL).
    func url(_ pathOrURL: String) -> String {
        pathOrURL.lowercased().hasPrefix("https://") ? pathOrURL : configuration.endpoint + pathOrURL
    }

    /// A path with its api-version: `path` is an ARM id or path, percent-encoded where ARM needs it.
    static func path(_ path: String, apiVersion: String, query: [(String, String)] = []) -> String {
        let encoded = path.addingPercentEncoding(withAllowedCharacters: pathAllowed) ?? path
        let items = [("api-version", apiVersion)] + query
        return encoded + "?" + items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? $0.1)" }.joined(separator: "&")
    }

    static let pathAllowed: CharacterSet = {
        var set = CharacterSet.urlPathAllowed
        set.remove(charactersIn: "?#%")
        return set
    }()

    static let queryAllowed: CharacterSet = {
        var set = CharacterSet.urlQueryAllowed
        set.remove(charactersIn: "&=+?#%")
        return set
    }()

    // MARK: Requests

    /// Sends a request, retrying throttling, server errors and dropped connections until the deadline. The
    /// reply is any status below 500 but 429; a 4xx is the caller's to judge (`check`).
    ///
    /// A request that is not `idempotent` (a POST that starts a backup or a restore) is retried only when the
    /// endpoint said it did not carry it out (429, 503): after a dropped connection or another server error
    /// it may have started, and a second attempt could start it twice, so the error says to look before trying
    /// again.
    func send(_ method: HTTPMethod, _ pathOrURL: String, body: [UInt8]? = nil, idempotent: Bool = true) async throws -> Reply {
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.retryDeadline
        var attempt = 0
        var last = ""
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url(pathOrURL))
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(configuration.token)")
            request.headers.add(name: "Accept", value: "application/json")
            request.headers.add(name: "User-Agent", value: "coffer-arm-client")
            request.headers.add(name: "x-ms-client-request-id", value: UUID().uuidString.lowercased())
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            var wait: Duration?
            do {
                let response = try await client.execute(request, timeout: .seconds(Int64(configuration.requestTimeout.components.seconds)))
                let buffer = try await response.body.collect(upTo: 64 << 20)
                let reply = Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
                guard reply.status == 429 || reply.status >= 500 else { return reply }
                last = "\(reply.status) \(Self.errorDetail(reply)?.code ?? "")"
                if !idempotent && reply.status != 429 && reply.status != 503 {
                    throw Self.mayHaveStarted(method, pathOrURL, last)
                }
                wait = Self.retryAfter(reply)
            } catch let error as NIOSSLError {
                throw Self.tlsFailure(error)
            } catch let error as NIOSSLExtraError {
                throw Self.tlsFailure(error)
            } catch let error as ProviderError {
                throw error
            } catch {
                last = Self.describe(error)
                if !idempotent { throw Self.mayHaveStarted(method, pathOrURL, last) }
            }
            let backoff = wait ?? jittered(attempt: attempt)
            if clock.now + backoff > deadline {
                throw ProviderError(
                    code: "RetryDeadlineExceeded",
                    message: "\(method.rawValue) \(Self.shown(pathOrURL)) did not succeed within \(Self.seconds(configuration.retryDeadline)) s "
                        + "(\(attempt) attempt\(attempt == 1 ? "" : "s"); last: \(last))",
                    hint: "the endpoint is throttling or failing; try again later", retryable: true)
            }
            try await Task.sleep(for: backoff)
        }
    }

    /// The error of a request that is not retried because it may have been carried out.
    static func mayHaveStarted(_ method: HTTPMethod, _ pathOrURL: String, _ last: String) -> ProviderError {
        ProviderError(
            code: "OutcomeUnknown",
            message: "\(method.rawValue) \(shown(pathOrURL)) failed (\(last)) after it was sent: the operation may have started",
            hint: "look at 'coffer get jobs' before trying again, so that it does not run twice")
    }

    /// A TLS failure (an untrusted certificate, a name it does not cover) is not retried.
    static func tlsFailure(_ error: any Error) -> ProviderError {
        ProviderError(
            code: "TLSFailure", message: "the TLS connection to the endpoint failed: \(describe(error))",
            hint: "trust the endpoint's CA with --ca-file (coffer serve's is STATE/serve/ca.pem)", underlying: error)
    }

    /// Full jitter: a random delay up to the exponential backoff of this attempt.
    func jittered(attempt: Int) -> Duration {
        let base = Double(configuration.initialBackoff.components.seconds) + Double(configuration.initialBackoff.components.attoseconds) / 1e18
        let cap = Double(configuration.maximumBackoff.components.seconds)
        let ceiling = min(cap, base * pow(2, Double(min(attempt - 1, 20))))
        return .milliseconds(Int64(Double.random(in: 0.5...1) * ceiling * 1000))
    }

    /// `Retry-After` in seconds (ARM's form), bounded to five minutes.
    static func retryAfter(_ reply: Reply) -> Duration? {
        guard let text = reply.header("Retry-After"), let seconds = Int(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return .seconds(min(seconds, 300))
    }

    /// The reply when it is a success; else the provider error ARM's envelope names.
    func check(_ reply: Reply, _ what: String) throws -> Reply {
        guard reply.status >= 400 else { return reply }
        throw Self.providerError(reply, what)
    }

    static func providerError(_ reply: Reply, _ what: String) -> ProviderError {
        if let detail = errorDetail(reply) {
            return ProviderError(code: detail.code, message: detail.message, retryable: reply.status == 409 && detail.code == "BackupOperationInProgress")
        }
        return ProviderError(code: "HttpStatus\(reply.status)", message: "\(what) answered \(reply.status) without ARM's error envelope")
    }

    static func errorDetail(_ reply: Reply) -> ARMErrorDetail? {
        guard !reply.body.isEmpty else { return nil }
        return (try? JSONDecoder().decode(ARMErrorResponse.self, from: Data(reply.body)))?.error
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error).prefix(200).description
    }

    /// A URL or path as errors show it: without its query.
    static func shown(_ pathOrURL: String) -> String {
        String(pathOrURL.prefix { $0 != "?" }).prefix(300).description
    }

    static func seconds(_ duration: Duration) -> Int64 { duration.components.seconds }

    // MARK: JSON

    func get<T: Decodable>(_ type: T.Type, _ pathOrURL: String, what: String) async throws -> T? {
        let reply = try await send(.GET, pathOrURL)
        if reply.status == 404 { return nil }
        return try decode(type, try check(reply, what), what)
    }

    func decode<T: Decodable>(_ type: T.Type, _ reply: Reply, _ what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(reply.body))
        } catch {
            throw ProviderError(code: "InvalidResponse", message: "\(what): the endpoint's answer is not the expected body: \(Self.describe(error))")
        }
    }

    /// Every page of a list, following `nextLink`; nil when the list's parent does not exist (404).
    func list<T: Decodable & Sendable>(_ type: T.Type, _ path: String, what: String) async throws -> [T]? {
        var items: [T] = []
        var next: String? = path
        var pages = 0
        while let link = next {
            pages += 1
            if pages > 100_000 { throw ProviderError(code: "InvalidResponse", message: "\(what): the list does not end") }
            guard let page = try await get(ARMPage<T>.self, link, what: what) else {
                if pages == 1 { return nil }
                throw ProviderError(code: "ResourceNotFound", message: "\(what): a page of the list is gone")
            }
            items += page.value
            next = page.nextLink.flatMap { $0.isEmpty ? nil : $0 }
        }
        return items
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    // MARK: Long-running operations

    /// Sends a write and waits for its end: a 200 or 201 without operation headers is the end; a 201 or 202
    /// with `Azure-AsyncOperation` is polled until `Succeeded` (then its `Location`, if any, is read), or
    /// `Failed`/`Canceled` (its error, with ARM's code); a 202 with `Location` only is polled until 200 or 204.
    @discardableResult
    func write(_ method: HTTPMethod, _ path: String, body: [UInt8]?, what: String) async throws -> Reply {
        let first = try check(try await send(method, path, body: body), what)
        guard first.status == 201 || first.status == 202 else { return first }
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.operationDeadline
        if let status = first.header("Azure-AsyncOperation") {
            let (reply, _) = try await pollStatus(status, first: first, deadline: deadline, clock: clock, what: what)
            guard let location = first.header("Location") else { return reply }
            return try await pollLocation(location, first: first, deadline: deadline, clock: clock, what: what)
        }
        if let location = first.header("Location") {
            return try await pollLocation(location, first: first, deadline: deadline, clock: clock, what: what)
        }
        return first
    }

    /// Polls an `Azure-AsyncOperation` status until `Succeeded` (its answer and document); `Failed` or
    /// `Canceled` throw the operation's error, with ARM's code.
    func pollStatus(
        _ status: String, first: Reply, deadline: ContinuousClock.Instant, clock: ContinuousClock, what: String
    ) async throws -> (Reply, OperationStatusDocument) {
        var wait = Self.retryAfter(first) ?? .seconds(1)
        while true {
            try await pause(wait, until: deadline, clock: clock, what: what)
            let reply = try check(try await send(.GET, status), what)
            let document = try decode(OperationStatusDocument.self, reply, what)
            switch document.status?.lowercased() {
            case "succeeded":
                return (reply, document)
            case "failed", "canceled", "cancelled":
                let error = document.error ?? ARMErrorDetail(code: "OperationFailed", message: "\(what) ended \(document.status ?? "")")
                throw ProviderError(code: error.code, message: error.message)
            default:
                wait = Self.retryAfter(reply) ?? wait
            }
        }
    }

    /// Polls a `Location` until it answers 200 or 204 (202 while the operation runs).
    func pollLocation(_ location: String, first: Reply, deadline: ContinuousClock.Instant, clock: ContinuousClock, what: String) async throws -> Reply {
        var wait = Self.retryAfter(first) ?? .seconds(1)
        var polls = 0
        while true {
            if polls > 0 || first.header("Azure-AsyncOperation") == nil { try await pause(wait, until: deadline, clock: clock, what: what) }
            polls += 1
            let reply = try check(try await send(.GET, location), what)
            guard reply.status == 202 else { return reply }
            wait = Self.retryAfter(reply) ?? wait
        }
    }

    func pause(_ wait: Duration, until deadline: ContinuousClock.Instant, clock: ContinuousClock, what: String) async throws {
        guard clock.now + wait <= deadline else {
            throw ProviderError(
                code: "OperationDeadlineExceeded",
                message: "\(what) did not finish within \(Self.seconds(configuration.operationDeadline)) s", hint: "it may still finish: plan again later",
                retryable: true)
        }
        try await Task.sleep(for: wait)
    }
}

/// An operation's status document (`Azure-AsyncOperation`), read leniently.
struct OperationStatusDocument: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        /// The job a Backup now or a restore started.
        var jobId: String?
    }

    var status: String?
    var error: ARMErrorDetail?
    var properties: Properties?
}
