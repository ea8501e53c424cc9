import ArgumentParser
import CofferGitOps
import CofferModel
import CofferPlatform
import CofferReconciler
import Testing

@testable import CofferCLI

/// `ExitStatus` is the contract's one table from errors to exit codes (README: 0, 1, 2, 64, 65, 75).
@Suite struct ExitStatusTests {
    @Test func everyKindOfErrorHasItsContractCode() async throws {
        #expect(ExitStatus.code(for: CLIError(code: "x", message: "m", hint: nil, exitCode: .usage)) == 64)
        #expect(ExitStatus.code(for: CLIError(code: "x", message: "m", hint: nil, exitCode: .invalidInput)) == 65)
        #expect(ExitStatus.code(for: ExitCode(CofferExitCode.changesPresent.rawValue)) == 2)
        #expect(ExitStatus.code(for: WorldError(diagnostics: [])) == 65)
        #expect(ExitStatus.code(for: GitOpsError(code: .invalidManifests, message: "invalid")) == 65)
        #expect(CLIError.from(GitOpsError(code: .invalidManifests, message: "invalid")).exitCode == .invalidInput)
        #expect(ExitStatus.code(for: GitOpsError(code: .stalePlan, message: "stale")) == 1)
        #expect(ExitStatus.code(for: ReconcilerError(code: .locked, message: "locked")) == 75)
        #expect(ExitStatus.code(for: ReconcilerError(code: .stateCorrupt, message: "bad")) == 1)
        #expect(ExitStatus.code(for: ProviderError(code: "ResourceNotFound", message: "gone")) == 1)
        #expect(ExitStatus.code(for: PlatformError("ResourceNotFound", "gone")) == 1)
        #expect(ExitStatus.code(for: ValidationError("bad option")) == 64)
        #expect(ExitStatus.code(for: CleanExit.helpRequest()) == 0)
        let unknown = try #require(throws: (any Error).self) { _ = try CofferCommand.parseAsRoot(["--no-such-option"]) }
        #expect(ExitStatus.code(for: unknown) == 64)
    }

    @Test func aWrappedErrorKeepsItsCauseAndItsCode() async {
        let locked = ReconcilerError(code: .locked, message: "the state is locked by apply (pid 1 on host, since now)")
        let cli = CLIError.from(locked)
        #expect(cli.exitCode == .locked)
        #expect(cli.description == "error[state-locked]: the state is locked by apply (pid 1 on host, since now)")
        #expect((cli.underlying as? ReconcilerError) == locked)
        let provider = ProviderError(code: "UserErrorBackupPolicyInUse", message: "in use", hint: "detach it")
        #expect(CLIError.from(provider).description == "error[UserErrorBackupPolicyInUse]: in use\n  = hint: detach it")
    }
}
