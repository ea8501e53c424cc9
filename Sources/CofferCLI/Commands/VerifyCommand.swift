import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Test-restore a recovery point to scratch and compare checksums.",
        discussion: """
            Restores the recovery point (its vault copy when it has one, every chunk authenticated) to scratch \
            space under the state directory, decrypts each disk as the guest would (an ADE VM's BEK comes from \
            the recovery point's own key backup), and compares its SHA-256 with the one recorded at snapshot \
            time. Prints OK or MISMATCH per disk; exits 1 on a mismatch.

            Examples:
              coffer verify win-app-01
              coffer verify win-app-01 --recovery-point 0103164590867673 --output json
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
    @Option(
        name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point's id (default: the VM's latest).", valueName: "id"),
        completion: CofferCompletion.recoveryPoint)
    var recoveryPoint: String?
    @Option(help: OutputFormat.help("each disk's expected and actual checksum, and ok.")) var output: OutputFormat = .text
    @OptionGroup var remote: EndpointOptions

    func run() async throws {
        let view = output.jobView
        if let result = try await remote.withClient({ client -> VerifyResult? in
            guard let client else { return nil }
            let answer = try await client.recoveryPointAction("verify", vm: vm, recoveryPoint: recoveryPoint ?? "latest")
            return try RemoteListing.decode(VerifyResult.self, answer.json, what: "verify")
        }) {
            try view.verified(result, vm: vm)
            if !result.ok { throw ExitCode(CofferExitCode.failure.rawValue) }
            return
        }
        let platform = try PlatformCLI.open(global)
        let bar = ProgressBar(label: "verify \(vm)", part: "disk")
        defer { bar.finish() }
        let result = try PlatformCLI.call {
            try platform.verify(vm: vm, recoveryPoint: recoveryPoint) { bar.update(done: $0, total: $1) }
        }
        bar.finish()
        try view.verified(result, vm: vm)
        if !result.ok { throw ExitCode(CofferExitCode.failure.rawValue) }
    }
}
