import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct UndeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undelete", abstract: "Recover a VM's soft-deleted backup item, with its recovery points.",
        discussion: """
            Stopping protection with the data deleted (a ProtectedVM pruned with deletionPolicy: Delete) leaves \
            the VM's backup item soft-deleted for the vault's soft-delete retention (14 days by default, 14 to \
            180): its recovery points are kept and restorable until the purge date 'coffer get protected-vms \
            --output json' shows (purgeAt). Undelete brings the item back with protection stopped and its data \
            retained (ProtectionStopped), as the service does; resume it with a ProtectedVM manifest and \
            'coffer apply' (putting the ProtectedVM back in the manifests does both: the plan shows a recovery). \
            An item that is not soft-deleted is refused (UserErrorBackupItemNotSoftDeleted).

            Examples:
              coffer undelete lnx-db-01
              coffer undelete lnx-db-01 --output json
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM whose backup item is soft-deleted.", completion: CofferCompletion.vm) var vm: String
    @Option(help: OutputFormat.help("the recovered item, as 'coffer get protected-vms' lists it.")) var output: OutputFormat = .text

    func run() throws {
        let view = output.jobView
        let platform = try PlatformCLI.open(global)
        let item = try PlatformCLI.call { try platform.undeleteProtection(vm: vm) }
        try view.undeleted(item)
    }
}
