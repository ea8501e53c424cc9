import CofferModel
import CofferPlatform

/// Opens the simulated platform in `stateDirectory` as the reconciler's provider.
func openPlatformProvider(stateDirectory: String) throws -> any Provider {
    do {
        return try Platform(stateDirectory: stateDirectory)
    } catch let error as PlatformError {
        throw CLIError(code: error.code, message: error.message, hint: error.hint, exitCode: ExitStatus.contract(for: error),
                       underlying: error)
    }
}
