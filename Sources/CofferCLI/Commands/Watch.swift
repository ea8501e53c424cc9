import ArgumentParser
import CofferGit
import CofferModel
import CofferReconciler
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Settings of a watch loop.
struct WatchSettings: Sendable {
    var repository: String
    var ref: String
    var path: String?
    var interval: Double
    var driftInterval: Double
    /// Report drift found between commits instead of repairing it.
    var reportOnly: Bool
    var once: Bool
    var prune: Bool
    var lockTimeout: Double
    /// Backoff after errors: base, cap, and ± jitter fraction.
    var backoffBase: Double = 1
    var backoffCap: Double = 300
    var jitter: Double = 0.1
}

/// A flag that a signal handler sets and a sleeper can wait on.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    var isStopped: Bool { lock.withLock { stopped } }

    func stop() {
        lock.withLock { stopped = true }
    }

    /// Sleeps up to `seconds` without holding a thread, waking within a few milliseconds when stopped.
    /// Returns false when stopped.
    @discardableResult
    func sleep(_ seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, seconds) * 1000))
        while !isStopped {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            try? await Task.sleep(for: min(left, .milliseconds(20)))
        }
        return false
    }
}

/// The GitOps loop: poll the ref, apply each new commit, re-plan every drift interval, back off on errors,
/// stop cleanly on request. Polls that find nothing new read no manifests. One task runs it; only `stop`
/// is touched from others.
final class WatchLoop: @unchecked Sendable {
    let settings: WatchSettings
    let workspace: Workspace
    let logger: Logger
    let stop: StopSignal
    /// The randomness of the jitter, replaceable in tests.
    var random: () -> Double = { Double.random(in: 0..<1) }

    private(set) var appliedCommit: String?
    private var appliedTree: String?
    private var invalidCommit: String?
    private var lastReconcile: Date?
    private(set) var consecutiveFailures = 0
    /// Counts, for tests and the final log line.
    private(set) var polls = 0
    private(set) var manifestLoads = 0
    private(set) var applies = 0

    init(settings: WatchSettings, workspace: Workspace, logger: Logger, stop: StopSignal) {
        self.settings = settings
        self.workspace = workspace
        self.logger = logger
        self.stop = stop
    }

    /// Runs until stopped (or once). Returns whether the last reconcile succeeded.
    @discardableResult
    func run() async -> Bool {
        logger.info("watch started", metadata: ["event": "start", "repo": "\(settings.repository)", "ref": "\(settings.ref)", "interval": "\(settings.interval)s"])
        var healthy = true
        while !stop.isStopped {
            do {
                try await poll()
                consecutiveFailures = 0
                healthy = true
            } catch {
                consecutiveFailures += 1
                healthy = false
                let delay = backoff(consecutiveFailures)
                let cli = CLIError.from(error)
                logger.error("\(cli.message)", metadata: ["event": "error", "code": "\(cli.code)", "retry_in": "\(String(format: "%.1f", delay))s"])
                if settings.once { break }
                await stop.sleep(delay)
                continue
            }
            if settings.once { break }
            await stop.sleep(settings.interval)
        }
        logger.info("watch stopped", metadata: ["event": "stop", "polls": "\(polls)", "applies": "\(applies)"])
        return healthy
    }

    /// The delay before retry `n` (1-based): exponential from the base, capped, with ± jitter.
    func backoff(_ n: Int) -> Double {
        let raw = min(settings.backoffCap, settings.backoffBase * pow(2, Double(n - 1)))
        return raw * (1 + settings.jitter * (2 * random() - 1))
    }

    /// One poll: fetch, resolve, and reconcile when there is a new commit or drift is due.
    func poll() async throws {
        polls += 1
        let repo = try GitSource.open(settings.repository, stateDirectory: workspace.stateDirectory, fetch: true)
        let commit = try repo.resolve(settings.ref)
        let driftDue = lastReconcile.map { Date().timeIntervalSince($0) >= settings.driftInterval } ?? true
        let newCommit = commit != appliedCommit && commit != invalidCommit
        guard newCommit || (driftDue && appliedCommit != nil) else { return }

        if newCommit, let previous = appliedCommit, !(try repo.isAncestor(previous, of: commit)) {
            logger.warning("the ref was rewritten (force-push): \(previous.prefix(10)) is not an ancestor of \(commit.prefix(10))", metadata: ["event": "force-push", "commit": "\(commit)"])
        }
        let tree = try repo.treeID(at: commit, under: settings.path)
        if newCommit, tree == appliedTree, !driftDue {
            logger.info("commit \(commit.prefix(10)) does not change the manifests", metadata: ["event": "unchanged", "commit": "\(commit)"])
            appliedCommit = commit
            return
        }

        manifestLoads += 1
        let target = newCommit ? commit : appliedCommit!
        let loaded = try ManifestSource.load(repo: repo, repository: settings.repository, ref: settings.ref, commit: target, path: settings.path)
        guard let desired = loaded.result.state else {
            invalidCommit = commit
            let errors = loaded.result.diagnostics.filter { $0.severity == .error }
            logger.error(
                "commit \(commit.prefix(10)) has invalid manifests; waiting for the next commit",
                metadata: ["event": "invalid", "commit": "\(commit)", "errors": "\(errors.count)",
                           "first": "\(errors.first.map { "\($0.location.map(\.description) ?? ""): \($0.summary)" } ?? "")"])
            return
        }

        let lock = try workspace.lock("watch", timeout: settings.lockTimeout)
        defer { lock.release() }
        let provider = try workspace.provider()
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: try workspace.store.inventory(), options: PlanOptions(prune: settings.prune))
        lastReconcile = Date()
        if plan.hasErrors {
            invalidCommit = commit
            let first = plan.diagnostics.first { $0.severity == .error }
            throw CLIError(code: first?.code ?? "plan-has-errors", message: "the plan for \(commit.prefix(10)) has errors: \(first?.summary ?? "")", hint: first?.hint, exitCode: .failure)
        }
        if !newCommit && settings.reportOnly {
            if !plan.drift.isEmpty || plan.hasChanges {
                logger.warning("drift found: \(plan.drift.map(\.address.description).joined(separator: ", ")) (\(plan.summary.line))", metadata: ["event": "drift", "commit": "\(target)"])
            }
            return
        }
        if !plan.hasChanges && !plan.changes.contains(where: { $0.reason == .adopt }) {
            if newCommit {
                appliedCommit = commit
                appliedTree = tree
                logger.info("commit \(commit.prefix(10)) is already applied: no changes", metadata: ["event": "in-sync", "commit": "\(commit)"])
            }
            return
        }
        var applier = Applier(provider: provider, store: workspace.store)
        let stop = self.stop
        applier.isCancelled = { stop.isStopped }
        let outcome = try await applier.apply(plan, source: loaded.applySource)
        applies += 1
        let summary = plan.summary
        try? repo.addNote(to: target, message: "coffer apply \(outcome.result.rawValue) at \(ISO8601DateFormatter().string(from: Date()))\n\(summary.line)" + (outcome.error.map { "\nerror[\($0.code)]: \($0.message)" } ?? ""))
        if let error = outcome.error { throw error }
        appliedCommit = target
        appliedTree = tree
        logger.info(
            "applied \(target.prefix(10)) \(loaded.applySource.summary.map { "(\($0)) " } ?? "")\(newCommit ? "" : "to repair drift "): \(summary.line)",
            metadata: ["event": newCommit ? "applied" : "repaired", "commit": "\(target)", "add": "\(summary.add)", "change": "\(summary.change)", "destroy": "\(summary.destroy)"])
    }
}

/// One line per event: `TIME LEVEL message key=value ...`, or a JSON object per line.
struct EventLogHandler: LogHandler {
    var json: Bool
    var write: @Sendable (String) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let time = ISO8601DateFormatter().string(from: Date())
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if json {
            var object: [String: String] = ["time": time, "level": event.level.rawValue, "message": event.message.description]
            for (key, value) in all { object[key] = value.description }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                write(String(decoding: data, as: UTF8.self))
            }
        } else {
            let extra = all.keys.sorted().filter { $0 != "event" }.map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
            write("\(time) \(event.level.rawValue) \(event.message)" + (extra.isEmpty ? "" : "  [\(extra)]"))
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
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The repository: a path, or a file:// URL to clone.", valueName: "dir|url"), completion: .directory)
    var repo: String
    @Option(help: ArgumentHelp("The branch, tag or commit to follow.", valueName: "ref")) var ref = "main"
    @Option(help: ArgumentHelp("The manifests' folder inside the repository (default: its root).", valueName: "subdir")) var path: String?
    @Option(help: ArgumentHelp("How often to poll the ref, e.g. 30s or 1m.", valueName: "duration"), completion: .list(["10s", "30s", "1m", "5m"]))
    var interval = "30s"
    @Option(
        name: .customLong("drift-interval"),
        help: ArgumentHelp("How often to re-plan without a new commit, to find changes made outside of coffer.", valueName: "duration"),
        completion: .list(["1m", "10m", "1h"]))
    var driftInterval = "10m"
    @Flag(name: .customLong("report-only"), help: "Report drift between commits instead of repairing it.") var reportOnly = false
    @Flag(help: "Delete owned resources that left the manifests (protected VMs follow their deletionPolicy).") var prune = false
    @Flag(help: "Reconcile once and exit (for CI): exit 1 if that failed.") var once = false
    @Option(
        name: .customLong("lock-timeout"), help: ArgumentHelp("How long each reconcile waits for the state lock.", valueName: "duration"),
        completion: .list(["0s", "30s", "1m", "5m"]))
    var lockTimeout = "60s"
    @Option(help: OutputFormat.help("one JSON object per event line (time, level, message, event and details).")) var output: OutputFormat = .text

    func validate() throws {
        for (name, value) in [("--interval", interval), ("--drift-interval", driftInterval), ("--lock-timeout", lockTimeout)] {
            guard let seconds = parseDuration(value), seconds >= 0 else { throw ValidationError("\(name): not a duration: \(value)") }
        }
    }

    func run() async throws {
        let workspace = Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment))
        let json = output == .json
        let logger = Logger(label: "coffer.watch") { _ in
            EventLogHandler(json: json, write: { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
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
        let settings = WatchSettings(
            repository: repo, ref: ref, path: path, interval: parseDuration(interval)!, driftInterval: parseDuration(driftInterval)!,
            reportOnly: reportOnly, once: once, prune: prune, lockTimeout: parseDuration(lockTimeout)!)
        let healthy = await WatchLoop(settings: settings, workspace: workspace, logger: logger, stop: stop).run()
        if once && !healthy { throw ExitCode(CofferExitCode.failure.rawValue) }
    }
}
