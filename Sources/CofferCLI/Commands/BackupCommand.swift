import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up a VM now (on demand).",
        discussion: """
            Takes a snapshot (an instant-restore recovery point at once), then transfers the blocks that changed \
            since the previous recovery point to the vault. The recovery point is kept until --retain-until, \
            30 days by default. A VM under a Standard policy takes three on-demand backups a day (UTC) besides \
            the scheduled one: the fourth is refused (CloudDosAbsoluteLimitReached) before any job starts. A \
            job that fails prints the service's error code and exits 1. On a terminal, \
            a progress line on standard error shows the bytes transferred, the rate and the time left.

            Examples:
              coffer backup win-app-01
              coffer backup lnx-db-01 --retain-until 2026-03-01
              coffer backup lnx-web-01 --output json
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The protected VM's name.", completion: CofferCompletion.vm) var vm: String
    @Option(
        name: .customLong("retain-until"),
        help: ArgumentHelp("Keep the recovery point until this day or time, e.g. 2026-03-01 (default: 30 days from now).", valueName: "date"))
    var retainUntil: DateArgument?
    @Option(help: OutputFormat.help("the finished job.")) var output: OutputFormat = .text
    @OptionGroup var remote: EndpointOptions

    func run() async throws {
        let view = output.jobView
        if let job = try await remote.withClient({ client -> JobInfo? in
            guard let client else { return nil }
            return RemoteListing.job(try await client.backup(vm: vm, retainUntil: retainUntil?.date))
        }) {
            guard job.status == .completed else { throw RemoteListing.failure(job) }
            return try view.backedUp(job, vm: vm)
        }
        let platform = try PlatformCLI.open(global)
        let until = retainUntil?.date
        let bar = ProgressBar(label: "backup \(vm)")
        defer { bar.finish() }
        let job = try PlatformCLI.call { try platform.backup(vm: vm, retainUntil: until) { bar.update(done: $0, total: $1) } }
        bar.finish()
        try view.backedUp(job, vm: vm)
    }
}
