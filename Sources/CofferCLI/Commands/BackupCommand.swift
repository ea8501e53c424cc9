import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up a VM now (on demand).",
        discussion: """
            Takes a snapshot (an instant-restore recovery point at once), then transfers the blocks that changed \
            since the previous recovery point to the vault. The recovery point is kept until --retain-until, \
            30 days by default. A job that fails prints the service's error code and exits 1.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(name: .customLong("retain-until"), help: ArgumentHelp("Keep the recovery point until this date (default 30 days).", valueName: "date"))
    var retainUntil: String?
    @Option(help: "text or json.") var output: OutputFormat = .text

    func validate() throws {
        if let retainUntil { _ = try PlatformCLI.date(retainUntil) }
    }

    func run() throws {
        let platform = try PlatformCLI.open(global)
        let until = try retainUntil.map(PlatformCLI.date)
        let bar = ProgressBar(label: "backup \(vm)")
        defer { bar.finish() }
        let job = try PlatformCLI.call { try platform.backup(vm: vm, retainUntil: until) { bar.update(done: $0, total: $1) } }
        bar.finish()
        if output == .json { return try PlatformCLI.printJSON(job) }
        PlatformCLI.print("Backup of \(vm) completed: job \(job.id), recovery point \(job.recoveryPoint ?? "-"), "
                          + "\(PlatformCLI.bytes(job.bytesTransferred)) transferred to vault \(job.vault).")
    }
}
