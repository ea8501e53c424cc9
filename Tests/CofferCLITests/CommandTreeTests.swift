@testable import CofferCLI
import CofferModel
import Testing

@Suite struct CommandTreeTests {
    @Test func versionAndHelpSucceed() async {
        #expect(await runCoffer(["--version"]) == 0)
        #expect(await runCoffer(["--help"]) == 0)
        #expect(await runCoffer(["platform", "--help"]) == 0)
    }

    @Test func usageErrorsExit64() async {
        #expect(await runCoffer(["no-such-command"]) == CofferExitCode.usage.rawValue)
        #expect(await runCoffer(["platform", "clock", "--advance", "1d", "--set", "2026-01-01T00:00:00Z"]) == 64)
        #expect(await runCoffer(["plan"]) == 64)
    }

    @Test func stateDirectoryPrecedence() async throws {
        let explicit = try GlobalOptions.parse(["--state", "/tmp/s"])
        #expect(explicit.stateDirectory(environment: ["COFFER_STATE": "/env"]) == "/tmp/s")
        let none = try GlobalOptions.parse([])
        #expect(none.stateDirectory(environment: ["COFFER_STATE": "/env"]) == "/env")
        #expect(none.stateDirectory(environment: [:]) == ".coffer")
    }
}
