import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "List resources on the platform.",
        discussion: """
            Lists what the platform holds now, whoever made it (MANAGED BY says coffer for what coffer owns). \
            Recovery points and jobs can be narrowed to one VM. Access policies are those of key vaults that \
            use access policies; role assignments those at the scope of key vaults that use Azure RBAC.

            Examples:
              coffer get protected-vms
              coffer get role-assignments
              coffer get recovery-points --vm win-app-01
              coffer get jobs --output json

            With --endpoint it reads the same lists over ARM (coffer serve, or in principle Azure). ARM marks \
            only vaults as coffer's (their tag): there MANAGED BY names what the reconciler's inventory holds, \
            and a recovery point's per-disk checksums are not listed.
            """)
    enum What: String, ExpressibleByArgument, CaseIterable {
        case vaults, policies
        case protectedVMs = "protected-vms"
        case accessPolicies = "access-policies"
        case roleAssignments = "role-assignments"
        case recoveryPoints = "recovery-points"
        case jobs
    }
    @OptionGroup var global: GlobalOptions
    @Argument(help: "What to list.") var what: What
    @Option(help: ArgumentHelp("Only this VM's recovery points or jobs (default: every VM's).", valueName: "vm"), completion: CofferCompletion.vm)
    var vm: String?
    @Option(help: OutputFormat.help("an array under the kind's name (vaults, policies, protectedVMs, roleAssignments, ...).")) var output: OutputFormat = .text
    @OptionGroup var remote: EndpointOptions
    @OptionGroup var stateBackend: StateBackendOptions

    func validate() throws {
        if vm != nil && what != .recoveryPoints && what != .jobs {
            throw ValidationError("--vm goes with recovery-points and jobs")
        }
    }

    func run() async throws {
        let view = output.listingView
        try await remote.withClient { client in
            guard let client else {
                let platform = try PlatformCLI.open(global)
                try view.listing(try Listing.read(what, from: platform, vm: vm))
                return
            }
            let inventory = try await RemoteListing.inventory(global: global, backend: stateBackend)
            try view.listing(try await RemoteListing.read(what, client: client, vm: vm, inventory: inventory))
        }
    }
}
