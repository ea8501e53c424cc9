import CofferModel
import CofferPlatform

/// Opens the simulated platform in `stateDirectory` as the reconciler's provider.
func openPlatformProvider(stateDirectory: String) throws -> any Provider {
    throw CLIError(code: "no-platform", message: "the simulated platform is not wired in yet", hint: nil, exitCode: .failure)
}
