import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Turns a watch loop's events into log lines, as `coffer watch` prints them.
struct WatchLog: Sendable {
    var logger: Logger

    func log(_ event: WatchEvent) {
        switch event {
        case .started(let repository, let ref, let interval):
            logger.info("watch started", metadata: ["event": "start", "repo": "\(repository)", "ref": "\(ref)", "interval": "\(interval)s"])
        case .failed(let error, let delay):
            let cli = CLIError.from(error)
            logger.error("\(cli.message)", metadata: ["event": "error", "code": "\(cli.code)", "retry_in": "\(String(format: "%.1f", delay))s"])
        case .forcePushed(let previous, let commit):
            logger.warning("the ref was rewritten (force-push): \(previous.prefix(10)) is not an ancestor of \(commit.prefix(10))", metadata: ["event": "force-push", "commit": "\(commit)"])
        case .unchanged(let commit):
            logger.info("revision \(commit.prefix(10)) reconciled: no changes (its manifests are those applied)", metadata: ["event": "unchanged", "commit": "\(commit)"])
        case .invalid(let commit, let diagnostics):
            let errors = diagnostics.filter { $0.severity == .error }
            logger.error(
                "commit \(commit.prefix(10)) has invalid manifests; waiting for the next commit",
                metadata: ["event": "invalid", "commit": "\(commit)", "errors": "\(errors.count)",
                           "first": "\(errors.first.map { "\($0.location.map(\.description) ?? ""): \($0.summary)" } ?? "")"])
        case .driftFound(let commit, let plan):
            logger.warning("drift found: \(plan.drift.map(\.address.description).joined(separator: ", ")) (\(plan.summary.line))", metadata: ["event": "drift", "commit": "\(commit)"])
        case .inSync(let commit):
            logger.info("revision \(commit.prefix(10)) reconciled: no changes", metadata: ["event": "in-sync", "commit": "\(commit)"])
        case .stepFinished:
            break
        case .applied(let commit, let message, let repairedDrift, let summary):
            logger.info(
                "applied \(commit.prefix(10)) \(message.map { "(\($0)) " } ?? "")\(repairedDrift ? "to repair drift " : ""): \(summary.line)",
                metadata: ["event": repairedDrift ? "repaired" : "applied", "commit": "\(commit)", "add": "\(summary.add)", "change": "\(summary.change)", "destroy": "\(summary.destroy)"])
        case .stopped(let polls, let applies):
            logger.info("watch stopped", metadata: ["event": "stop", "polls": "\(polls)", "applies": "\(applies)"])
        case .elected(let group, let term, let commit):
            let from = commit.map { "from revision \($0.prefix(10))" } ?? "from no reconciled revision"
            logger.info(
                "leading group \(group) with term \(term), \(from)",
                metadata: ["event": "elected", "group": "\(group)", "term": "\(term)", "commit": "\(commit ?? "")"])
        case .following(let group, let leader, let term):
            let message = leader.map { "following \($0), leader of group \(group) with term \(term ?? 0)" } ?? "waiting for the lease of group \(group)"
            logger.info(
                "\(message)",
                metadata: ["event": "following", "group": "\(group)", "leader": "\(leader ?? "")", "term": "\(term ?? 0)"])
        case .deposed(let group, let term, let reason):
            logger.warning("no longer leading group \(group) (term \(term)): \(reason); following", metadata: ["event": "deposed", "group": "\(group)", "term": "\(term)"])
        }
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Follow a git branch and keep the platform converged.",
        discussion: """
            Polls the ref every --interval (fetching remotes), applies each new commit, and re-plans every \
            --drift-interval to repair changes made outside of coffer (or only report them, with --report-only). \
            Invalid manifests are never applied: watch reports them and waits for the next commit. Errors back \
            off exponentially (1 s doubling to 5 min, ±10 % jitter). SIGINT or SIGTERM stop it after the \
            current step, releasing the lock. Each event is one line on standard output: time, level, message \
            and key=value details, or one JSON object per line with --output json.

            Examples:
              coffer watch --repo /srv/backup-config --path manifests
              coffer watch --repo file:///srv/backup-config.git --ref main --interval 1m \\
                  --output json
              coffer watch --repo . --path manifests --once       # CI: exit 1 on failure
              coffer watch --repo https://git.example.com/backup-config.git --path manifests \\
                  --state-backend postgres://coffer@db.internal:5432/coffer --replicas-group prod

            With --replicas-group, several watch processes (on one machine or several, sharing the state \
            backend) form a group: one leads and reconciles, the others poll the lease every --interval and \
            take over within --lease-ttl plus one interval when the leader dies. A deposed leader's writes are \
            refused by the backend (fencing), so two replicas never apply at once.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: EndpointOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(help: ArgumentHelp("The repository: a path, or a file:// URL to clone.", valueName: "dir|url"), completion: .directory)
    var repo: String
    @Option(help: ArgumentHelp("The branch, tag or commit to follow.", valueName: "ref")) var ref = "main"
    @Option(help: ArgumentHelp("The manifests' folder inside the repository (default: its root).", valueName: "subdir")) var path: String?
    @Option(help: ArgumentHelp("How often to poll the ref, e.g. 30s or 1m.", valueName: "duration"), completion: .list(["10s", "30s", "1m", "5m"]))
    var interval = DurationArgument(argument: "30s")!
    @Option(
        name: .customLong("drift-interval"),
        help: ArgumentHelp("How often to re-plan without a new commit, to find changes made outside of coffer.", valueName: "duration"),
        completion: .list(["1m", "10m", "1h"]))
    var driftInterval = DurationArgument(argument: "10m")!
    @Flag(name: .customLong("report-only"), help: "Report drift between commits instead of repairing it.") var reportOnly = false
    @Flag(help: "Delete owned resources that left the manifests (protected VMs follow their deletionPolicy).") var prune = false
    @Flag(help: "Reconcile once and exit (for CI): exit 1 if that failed.") var once = false
    @Option(help: ArgumentHelp("Run up to this many independent steps of an apply at once.", valueName: "n"))
    var parallelism: Int = Applier.defaultParallelism
    @Option(
        name: .customLong("lock-timeout"), help: ArgumentHelp("How long each reconcile waits for the state lock.", valueName: "duration"),
        completion: .list(["0s", "30s", "1m", "5m"]))
    var lockTimeout = DurationArgument(argument: "60s")!
    @Option(
        name: .customLong("replicas-group"),
        help: ArgumentHelp("Run as one replica of this group: only the holder of the group's lease reconciles (needs --state-backend).", valueName: "name"))
    var replicasGroup: String?
    @Option(
        name: .customLong("lease-ttl"), help: ArgumentHelp("With --replicas-group: how long the leader's lease lasts unless renewed.", valueName: "duration"),
        completion: .list(["5s", "15s", "30s"]))
    var leaseTTL = DurationArgument(argument: "15s")!
    @Option(help: OutputFormat.help("one JSON object per event line (time, level, message, event and details).")) var output: OutputFormat = .text

    func validate() throws {
        if let replicasGroup, replicasGroup.isEmpty || replicasGroup.count > 200 {
            throw ValidationError("--replicas-group needs a name of 1 to 200 characters")
        }
        if replicasGroup != nil && leaseTTL.seconds <= 0 { throw ValidationError("--lease-ttl must be more than 0s") }
    }

    func run() async throws {
        try await remote.withWorkspace(global: global, backend: stateBackend) { workspace in try await run(workspace) }
    }

    func run(_ workspace: Workspace) async throws {
        let view = output.watchView
        let console = Console.current
        let logger = Logger(label: "coffer.watch") { _ in
            EventLogHandler(view: view, write: { line in
                console.print(line)
            })
        }
        let stop = StopSignal()
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.info("stopping after the current step", metadata: ["event": "signal", "signal": "\(signalNumber == SIGINT ? "SIGINT" : "SIGTERM")"])
                stop.stop()
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        var settings = WatchSettings(
            repository: repo, ref: ref, path: path, interval: interval.seconds, driftInterval: driftInterval.seconds,
            reportOnly: reportOnly, once: once, prune: prune, lockTimeout: lockTimeout.seconds)
        settings.parallelism = parallelism
        settings.replicasGroup = replicasGroup
        settings.leaseTTL = leaseTTL.seconds
        let log = WatchLog(logger: logger)
        let healthy = await WatchLoop(settings: settings, workspace: workspace, stop: stop, events: log.log).run()
        if once && !healthy { throw ExitCode(CofferExitCode.failure.rawValue) }
    }
}
