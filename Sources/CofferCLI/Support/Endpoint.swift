import ArgumentParser
import CofferARMClient
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

/// Where the reconciling commands find the platform: the embedded one in the state directory (the
/// default), or an ARM endpoint (`--endpoint`, `$COFFER_ENDPOINT`) reached over HTTPS with a bearer token.
/// The reconciler's own state (inventory, history, journal, lock) stays in the state directory either way.
struct EndpointOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Reconcile the platform behind this ARM endpoint, https://HOST[:PORT] (default: $COFFER_ENDPOINT, else the embedded platform).",
            valueName: "url"))
    var endpoint: String?
    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp("With an endpoint: the file holding the bearer token (default: $AZURE_ACCESS_TOKEN).", valueName: "file"),
        completion: .file())
    var tokenFile: String?
    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp("With an endpoint: trust this CA (PEM) instead of the system's, e.g. coffer serve's STATE/serve/ca.pem.", valueName: "file"),
        completion: .file())
    var caFile: String?
    @Option(
        name: .customLong("retry-deadline"),
        help: ArgumentHelp(
            "With an endpoint: how long a request is retried on 429, 5xx and dropped connections before the command fails.",
            valueName: "duration"),
        completion: .list(["30s", "2m", "10m"]))
    var retryDeadline = DurationArgument(argument: "2m")!

    /// The endpoint in force, if any.
    func endpointURL(environment: [String: String]) -> String? {
        if let endpoint, !endpoint.isEmpty { return endpoint }
        if let fromEnvironment = environment["COFFER_ENDPOINT"], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    /// The client configuration when an endpoint is given; nil for the embedded platform.
    func clientConfiguration(environment: [String: String]) throws -> ARMClientConfiguration? {
        guard let url = endpointURL(environment: environment) else {
            if tokenFile != nil || caFile != nil {
                throw CLIError(code: "usage", message: "--token-file and --ca-file need an endpoint",
                               hint: "give --endpoint URL (or set COFFER_ENDPOINT)", exitCode: .usage)
            }
            return nil
        }
        let token: String
        if let tokenFile {
            do {
                token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw CLIError(code: "token-file", message: "cannot read the token file '\(tokenFile)'", hint: "give a file that holds the bearer token",
                               exitCode: .usage, underlying: error)
            }
        } else if let fromEnvironment = environment["AZURE_ACCESS_TOKEN"], !fromEnvironment.isEmpty {
            token = fromEnvironment.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            throw CLIError(code: "token-missing", message: "the endpoint \(url) needs a bearer token",
                           hint: "give --token-file FILE or set AZURE_ACCESS_TOKEN (coffer serve token issue makes one)", exitCode: .usage)
        }
        guard !token.isEmpty else {
            throw CLIError(code: "token-missing", message: "the bearer token is empty", hint: "give --token-file FILE or set AZURE_ACCESS_TOKEN",
                           exitCode: .usage)
        }
        return ARMClientConfiguration(
            endpoint: url, token: token, caFile: caFile, retryDeadline: .milliseconds(Int64((retryDeadline.seconds * 1000).rounded())))
    }

    /// The workspace of the state directory, its provider the endpoint's when one is given; `body` runs with
    /// it, and the endpoint's connections are closed after it, whatever it ends in.
    func withWorkspace<T>(global: GlobalOptions, backend: StateBackendOptions, _ body: (Workspace) async throws -> T) async throws -> T {
        try await backend.withBackend { backend in try await withWorkspace(global: global, backend: backend, body) }
    }

    /// The same, with the reconciler's state in `backend` (nil: the state directory's files).
    func withWorkspace<T>(global: GlobalOptions, backend: (any StateBackend)?, _ body: (Workspace) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let state = global.stateDirectory(environment: environment)
        guard let configuration = try clientConfiguration(environment: environment) else {
            return try await body(Workspace(stateDirectory: state, backend: backend))
        }
        let provider: ARMClientProvider
        do {
            provider = try ARMClientProvider(configuration: configuration)
        } catch {
            throw CLIError.from(error)
        }
        let result: T
        do {
            result = try await body(Workspace(stateDirectory: state, backend: backend, provider: provider))
        } catch {
            try? await provider.shutdown()
            throw error
        }
        try? await provider.shutdown()
        return result
    }
}
