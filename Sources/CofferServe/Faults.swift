import CofferARM
import Foundation
public import Hummingbird
import Logging
public import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults serve injects in front of its ARM pipeline, for testing clients (`coffer serve --faults SPEC`,
/// a test-only option): throttling, server errors, dropped connections, slow answers, and a crash after a
/// number of requests. Drawn from a seeded generator, so a spec with a seed gives the same sequence of draws
/// (the order in which concurrent requests draw is the scheduler's).
///
/// The spec is `KEY=VALUE` pairs separated by commas, e.g.
/// `seed=7,429=0.1,503=0.05,drop=0.05,drop-after=0.1,slow=0.1,kill-after=200`:
///
/// | key | what |
/// |---|---|
/// | `seed=N` | the generator's seed (0 by default) |
/// | `429=RATE` | answer 429 `TooManyRequests` with `Retry-After` (before the request is carried out) |
/// | `500=RATE`, `503=RATE` | answer 500 `InternalServerError` or 503 `ServiceUnavailable` (before it is carried out) |
/// | `drop=RATE` | close the connection without answering, before the request is carried out |
/// | `drop-after=RATE` | writes only: carry the request out, then close the connection without answering |
/// | `slow=RATE`, `slow-ms=MS` | wait MS milliseconds (500 by default) before handling the request |
/// | `retry-after=S` | the `Retry-After` seconds of a 429 (1 by default) |
/// | `kill-after=N` | carry out the Nth request, then end the process with SIGKILL before answering it |
/// | `only=writes` | inject faults into PUT, PATCH, POST and DELETE only (`kill-after` still counts every request) |
///
/// A RATE is a fraction from 0 to 1 or a percentage (`10%`). The answer faults (429, 500, 503, drop,
/// drop-after) are one draw and their rates add up to at most 1; `slow` is a draw of its own.
public struct FaultSpec: Sendable, Equatable {
    public var seed: UInt64 = 0
    public var throttled: Double = 0
    public var internalError: Double = 0
    public var unavailable: Double = 0
    public var dropBefore: Double = 0
    public var dropAfter: Double = 0
    public var slow: Double = 0
    public var slowMilliseconds: Int = 500
    public var retryAfter: Int = 1
    public var killAfter: Int?
    public var writesOnly = false

    public init() {}

    /// Parses a spec; a wrong key or value is `ServeError(.invalidFaults)`.
    public static func parse(_ text: String) throws(ServeError) -> FaultSpec {
        var spec = FaultSpec()
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                throw ServeError(.invalidFaults, "'\(item)' is not KEY=VALUE", hint: Self.hint)
            }
            let (key, value) = (pair[0].lowercased(), pair[1])
            switch key {
            case "seed":
                guard let seed = UInt64(value) else { throw ServeError(.invalidFaults, "seed takes a whole number, not '\(value)'", hint: hint) }
                spec.seed = seed
            case "429": spec.throttled = try rate(key, value)
            case "500": spec.internalError = try rate(key, value)
            case "503": spec.unavailable = try rate(key, value)
            case "drop": spec.dropBefore = try rate(key, value)
            case "drop-after": spec.dropAfter = try rate(key, value)
            case "slow": spec.slow = try rate(key, value)
            case "slow-ms": spec.slowMilliseconds = try count(key, value, in: 0...600_000)
            case "retry-after": spec.retryAfter = try count(key, value, in: 0...300)
            case "kill-after": spec.killAfter = try count(key, value, in: 1...Int.max)
            case "only":
                guard value.lowercased() == "writes" else { throw ServeError(.invalidFaults, "only takes 'writes', not '\(value)'", hint: hint) }
                spec.writesOnly = true
            default:
                throw ServeError(.invalidFaults, "unknown fault '\(key)'", hint: hint)
            }
        }
        let answers = spec.throttled + spec.internalError + spec.unavailable + spec.dropBefore + spec.dropAfter
        guard answers <= 1.000_000_1 else {
            throw ServeError(.invalidFaults, "the rates of 429, 500, 503, drop and drop-after add up to more than 1", hint: hint)
        }
        return spec
    }

    static let hint =
        "KEY=VALUE pairs separated by commas: seed=N, 429=RATE, 500=RATE, 503=RATE, drop=RATE, drop-after=RATE, slow=RATE, slow-ms=MS, retry-after=S, kill-after=N, only=writes"

    static func rate(_ key: String, _ value: String) throws(ServeError) -> Double {
        let number = value.hasSuffix("%") ? Double(value.dropLast()).map { $0 / 100 } : Double(value)
        guard let number, number.isFinite, (0...1).contains(number) else {
            throw ServeError(.invalidFaults, "\(key) takes a rate from 0 to 1 (or 0% to 100%), not '\(value)'", hint: hint)
        }
        return number
    }

    static func count(_ key: String, _ value: String, in range: ClosedRange<Int>) throws(ServeError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw ServeError(.invalidFaults, "\(key) takes a whole number from \(range.lowerBound), not '\(value)'", hint: hint)
        }
        return number
    }

    /// Whether the spec injects anything at all.
    public var isEmpty: Bool {
        throttled + internalError + unavailable + dropBefore + dropAfter + slow == 0 && killAfter == nil
    }
}

/// What one request gets.
enum Fault: String, Sendable {
    case none, throttled, internalError, unavailable, dropBefore, dropAfter
}

/// The draws of a fault spec: a SplitMix64 generator and the request count, under a lock.
final class FaultInjector: Sendable {
    let spec: FaultSpec
    private let state: Mutex<(generator: UInt64, requests: Int)>
    private let logger: Logger

    init(spec: FaultSpec, logger: Logger) {
        self.spec = spec
        self.logger = logger
        state = Mutex((spec.seed, 0))
    }

    /// The request's number, its answer fault and whether it is slowed.
    func draw(method: String) -> (number: Int, fault: Fault, slow: Bool) {
        let write = ["PUT", "PATCH", "POST", "DELETE"].contains(method)
        return state.withLock { state in
            state.requests += 1
            let answer = Self.next(&state.generator)
            let slowDraw = Self.next(&state.generator)
            guard write || !spec.writesOnly else { return (state.requests, .none, false) }
            var fault = Fault.none
            var bound = 0.0
            for (rate, candidate) in [
                (spec.throttled, Fault.throttled), (spec.internalError, .internalError), (spec.unavailable, .unavailable),
                (spec.dropBefore, .dropBefore), (spec.dropAfter, .dropAfter),
            ] {
                bound += rate
                if answer < bound {
                    fault = candidate
                    break
                }
            }
            if fault == .dropAfter && !write { fault = .none }
            return (state.requests, fault, slowDraw < spec.slow)
        }
    }

    /// A uniform draw in [0, 1) from SplitMix64.
    static func next(_ state: inout UInt64) -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// Answers a request through `handle`, with the fault its draw gives.
    func respond(to request: Request, channel: any Channel, handle: (Request) async throws -> Response) async throws -> Response {
        let method = request.method.rawValue
        let path = String(request.uri.path.prefix(300))
        let (number, fault, slow) = draw(method: method)
        if slow {
            log("slow", method, path, number)
            try await Task.sleep(for: .milliseconds(spec.slowMilliseconds))
        }
        switch fault {
        case .none, .dropAfter:
            break
        case .throttled:
            log("429", method, path, number)
            return ARMResponder.response(
                .error(ARMError(status: 429, code: "TooManyRequests", message: "The request is being throttled (an injected fault)."),
                       headers: [("Retry-After", "\(spec.retryAfter)")]))
        case .internalError:
            log("500", method, path, number)
            return ARMResponder.response(
                .error(ARMError(status: 500, code: "InternalServerError", message: "The server encountered an internal error (an injected fault).")))
        case .unavailable:
            log("503", method, path, number)
            return ARMResponder.response(
                .error(ARMError(status: 503, code: "ServiceUnavailable", message: "The service is unavailable (an injected fault).")))
        case .dropBefore:
            log("drop", method, path, number)
            try? await channel.close(mode: .all)
            throw DroppedConnection()
        }
        let response = try await handle(request)
        if let killAfter = spec.killAfter, number >= killAfter {
            log("kill", method, path, number)
            kill(getpid(), SIGKILL)
        }
        if fault == .dropAfter {
            log("drop-after", method, path, number)
            try? await channel.close(mode: .all)
            throw DroppedConnection()
        }
        return response
    }

    private func log(_ fault: String, _ method: String, _ path: String, _ number: Int) {
        logger.info("fault \(fault) \(method) \(path)", metadata: ["event": "fault", "fault": .string(fault), "request": "\(number)"])
    }
}

/// Thrown after a connection is closed on purpose: the answer Hummingbird then tries to write fails.
struct DroppedConnection: Error {}

/// Serve's request context: Hummingbird's basic one, and the channel, which a dropped connection closes.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The basic context the ARM pipeline and the baseline route take.
    var basic: BasicRequestContext {
        BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
    }
}
