import ArgumentParser
import CofferModel
import CofferServe
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the simulated platform as an Azure Resource Manager endpoint over HTTPS.",
        discussion: ServeRunCommand.discussion + ServeRunCommand.examples,
        subcommands: [ServeRunCommand.self, ServeTokenCommand.self],
        defaultSubcommand: ServeRunCommand.self)
}

/// `coffer serve` itself (its default subcommand): the server in the foreground.
struct ServeRunCommand: AsyncParsableCommand {
    static let discussion = """
        Answers the ARM REST API of Microsoft.RecoveryServices (vaults, backup policies, protection, \
        Backup now, jobs, recovery points, restore), Microsoft.KeyVault (key vaults, access policies) and \
        Microsoft.Compute (VMs, disks) for the platform in the state directory, so that Azure's own SDKs \
        and tools drive it unchanged. The CLI may use the same state at the same time.

        TLS: on its first start serve makes a certificate authority and a server certificate for \
        localhost, 127.0.0.1 and ::1 (and the --listen host) under STATE/serve/; clients trust \
        STATE/serve/ca.pem (Python: connection_verify=... or REQUESTS_CA_BUNDLE=...). The CA's private key \
        is never written. Every request needs 'Authorization: Bearer TOKEN' with a token from \
        'coffer serve token'. Each request is logged as one line on standard output (one JSON object per \
        line with --output json); SIGINT or SIGTERM stop serve after the requests and operations in \
        flight finish.

        'coffer serve' runs 'coffer serve run': its options are --listen, --state, --page-size, --sync-grace \
        and --output ('coffer serve run --help').
        """

    static let examples = """

        Examples:
          coffer serve
          coffer serve --listen 127.0.0.1:0 --state /tmp/coffer --output json
          coffer serve token --expires-in 8h
        """

    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the ARM endpoint in the foreground (what 'coffer serve' does).",
        discussion: discussion + """

            Examples:
              coffer serve run
              coffer serve run --listen 127.0.0.1:0 --state /tmp/coffer --output json
              coffer serve run --listen [::1]:8443 --page-size 50
              coffer serve run --sync-grace 500ms
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The address to listen on, HOST:PORT (port 0: a free one).", valueName: "host:port"))
    var listen = "127.0.0.1:8443"
    @Option(
        name: .customLong("page-size"), help: ArgumentHelp("Items per page of a list before its nextLink.", valueName: "n"))
    var pageSize = 100
    @Option(
        name: .customLong("sync-grace"),
        help: ArgumentHelp(
            "How long a request that starts a long-running operation waits for it to end, to answer as its end (200, 204) rather than 202 "
                + "and a poll, e.g. 500ms (default 0: always 202, as Azure answers).",
            valueName: "duration"))
    var syncGrace = DurationArgument(argument: "0")!
    /// bench/serve.sh's baseline: a Hummingbird hello-world route on the same listener (not for users).
    @Flag(name: .customLong("baseline-route"), help: .hidden) var baselineRoute = false
    /// Injected faults for testing clients (not for users): see CofferServe's `FaultSpec`.
    @Option(name: .customLong("faults"), help: .hidden) var faults: String?
    @Option(help: OutputFormat.help("one JSON object per line: the listening event, then one per request.")) var output: OutputFormat = .text

    func validate() throws {
        guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size takes 1 to 1000") }
        guard syncGrace.seconds <= 60 else { throw ValidationError("--sync-grace takes 0 to 60s") }
        do {
            _ = try ServeConfiguration.parseListen(listen)
            _ = try faults.map { try FaultSpec.parse($0) }
        } catch let error as ServeError {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        let (host, port) = try ServeConfiguration.parseListen(listen)
        let configuration = ServeConfiguration(
            stateDirectory: state, host: host, port: port, pageSize: pageSize, syncGrace: .milliseconds(Int64((syncGrace.seconds * 1000).rounded())),
            baselineRoute: baselineRoute, faults: try faults.map { try FaultSpec.parse($0) })
        let view = output.watchView
        let console = Console.current
        // One line per request, written by a thread of its own (in batches under load).
        let writer = BufferedLineWriter(sink: console.writeOut)
        defer { writer.close() }
        let logger = Logger(label: "coffer.serve") { _ in EventLogHandler(view: view, write: { writer.write($0) }) }
        let format = output
        do {
            try await CofferServer.run(configuration: configuration, logger: logger) { endpoint in
                if format == .text {
                    writer.write("coffer serve: \(endpoint.url) (the platform in \(state))")
                    writer.write("  CA certificate: \(endpoint.caPath)\(endpoint.certificatesCreated ? " (new: clients must trust it)" : "")")
                    writer.write("  trust it:       connection_verify=\"\(endpoint.caPath)\" (Python SDK), or REQUESTS_CA_BUNDLE=\(endpoint.caPath)")
                    writer.write("  a token:        coffer serve token --state \(state)")
                    writer.write("  stop:           Ctrl-C (SIGINT) or SIGTERM")
                }
                logger.info(
                    "listening on \(endpoint.url)",
                    metadata: ["event": "listening", "url": "\(endpoint.url)", "port": "\(endpoint.port)", "ca": "\(endpoint.caPath)"])
            }
        } catch let error as ServeError {
            throw CLIError(code: error.errorCode, message: error.message, hint: error.hint, exitCode: .failure, underlying: error)
        }
        logger.info("stopped", metadata: ["event": "stopped"])
    }
}

struct ServeTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Issue, list and revoke the bearer tokens of coffer serve.",
        discussion: """
            'coffer serve token' issues a token ('coffer serve token issue'); 'list' shows them and 'revoke' \
            ends one.

            Examples:
              coffer serve token
              coffer serve token list
              coffer serve token revoke 3f2a9c0b1d4e
            """,
        subcommands: [ServeTokenIssueCommand.self, ServeTokenListCommand.self, ServeTokenRevokeCommand.self],
        defaultSubcommand: ServeTokenIssueCommand.self)
}

struct ServeTokenIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue", abstract: "Issue a bearer token for coffer serve (what 'coffer serve token' does).",
        discussion: """
            Prints a new random token once, on standard output; only its SHA-256 is kept (in \
            STATE/serve/tokens.json), so it cannot be shown again. It expires after --expires-in (at most 366 \
            days) and can be revoked at any time; a running serve sees a revocation at once. Clients send it \
            as 'Authorization: Bearer TOKEN' (in Python, from a TokenCredential's get_token).

            Examples:
              coffer serve token issue
              coffer serve token issue --expires-in 8h --description "CI run 1234" --output json
            """)

    @OptionGroup var global: GlobalOptions
    @Option(
        name: .customLong("expires-in"), help: ArgumentHelp("How long the token is valid, e.g. 8h, 30d.", valueName: "duration"),
        completion: .list(["1h", "8h", "1d", "30d"]))
    var expiresIn = DurationArgument(argument: "30d")!
    @Option(help: ArgumentHelp("What the token is for, shown by 'token list'.", valueName: "text")) var description: String?
    @Option(help: OutputFormat.help("id, token, created and expires.")) var output: OutputFormat = .text

    func validate() throws {
        guard expiresIn.seconds >= 1, expiresIn.seconds <= TokenStore.maximumLifetime else {
            throw ValidationError("--expires-in takes 1s to 366d")
        }
        if let description, description.count > 200 { throw ValidationError("--description takes at most 200 characters") }
    }

    func run() throws {
        let store = try ServeTokens.store(global)
        let issued = try ServeTokens.call { try store.issue(lifetime: expiresIn.seconds, description: description) }
        switch output {
        case .json:
            try JSONOutput.print(IssuedTokenDocument(id: issued.record.id, token: issued.token, created: issued.record.created, expires: issued.record.expires))
        case .text:
            Console.current.print(issued.token)
            Console.current.printError(
                "token \(issued.record.id) expires \(PlatformCLI.time(issued.record.expires)); it is shown only now (revoke it with 'coffer serve token revoke \(issued.record.id)')")
        }
    }
}

struct ServeTokenListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the tokens of coffer serve (never the tokens themselves).",
        discussion: """
            Shows each token's id, state (active, expired, revoked), creation and expiry, and description.

            Examples:
              coffer serve token list
              coffer serve token list --output json
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: OutputFormat.help("the tokens' records, without the tokens.")) var output: OutputFormat = .text

    func run() throws {
        let store = try ServeTokens.store(global)
        let records = try ServeTokens.call { try store.records() }
        let now = Date()
        let documents = records.map {
            TokenRecordDocument(id: $0.id, state: $0.state(at: now), created: $0.created, expires: $0.expires, revoked: $0.revoked, description: $0.description)
        }
        switch output {
        case .json:
            try JSONOutput.print(documents, under: "tokens")
        case .text:
            let rows = documents.map { [$0.id, $0.state, PlatformCLI.time($0.created), PlatformCLI.time($0.expires), $0.description ?? ""] }
            TextTable(headers: ["ID", "STATE", "CREATED", "EXPIRES", "DESCRIPTION"], rows: rows).print(empty: "no tokens: issue one with 'coffer serve token'")
        }
    }
}

struct ServeTokenRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a token of coffer serve.",
        discussion: """
            A revoked token is refused (401 InvalidAuthenticationToken) from the next request on, by a running \
            serve too.

            Examples:
              coffer serve token revoke 3f2a9c0b1d4e
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The token's id (the middle part of coffer.ID.SECRET, as 'token list' shows it).", valueName: "id")) var id: String

    func run() throws {
        let store = try ServeTokens.store(global)
        let record = try ServeTokens.call { try store.revoke(id: id) }
        Console.current.print("revoked token \(record.id)")
    }
}

/// What the token commands share.
enum ServeTokens {
    static func store(_ global: GlobalOptions) throws -> TokenStore {
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        guard FileManager.default.fileExists(atPath: (state as NSString).appendingPathComponent("platform.sqlite")) else {
            throw CLIError(
                code: ServeError.Code.notInitialized.rawValue, message: "there is no platform in \(state)",
                hint: "create one with 'coffer platform init --world examples/reference/world.yaml'", exitCode: .failure)
        }
        return TokenStore(directory: ServeConfiguration(stateDirectory: state).serveDirectory)
    }

    static func call<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ServeError {
            throw CLIError(code: error.errorCode, message: error.message, hint: error.hint, exitCode: .failure, underlying: error)
        }
    }
}

struct IssuedTokenDocument: Encodable {
    var id: String
    var token: String
    var created: Date
    var expires: Date
}

struct TokenRecordDocument: Encodable {
    var id: String
    var state: String
    var created: Date
    var expires: Date
    var revoked: Date?
    var description: String?
}
