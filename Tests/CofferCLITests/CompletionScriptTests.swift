import ArgumentParser
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

@Suite struct CompletionScriptTests {
    /// The script of each shell names every command of the tree, nested ones included.
    @Test(arguments: ["bash", "zsh", "fish"])
    func scriptCoversEveryCommand(_ shellName: String) async throws {
        let shell = try #require(CompletionShell(rawValue: shellName))
        let script = CofferCommand.completionScript(for: shell)
        #expect(!script.isEmpty)
        for path in CommandPath.all {
            switch shell {
            case .bash, .zsh:
                // One completion function per command: _coffer, _coffer_platform_init ...
                #expect(script.contains("_" + path.names.joined(separator: "_")), "\(shellName): \(path)")
            default:
                // One condition per command: "coffer platform init".
                #expect(script.contains("\"\(path.description)\""), "\(shellName): \(path)")
            }
            #expect(script.contains(path.names.last!), "\(shellName): \(path)")
        }
    }

    /// Paths complete as files and directories, formats and enumerations as their values, and names through
    /// coffer itself.
    @Test func scriptsCompleteValues() async {
        let bash = CofferCommand.completionScript(for: .bash)
        #expect(bash.contains("-o plusdirs -fX '!*.@(yaml|yml)'"), "manifest paths: .yaml/.yml files and directories")
        #expect(bash.contains("__coffer_add_completions -d"), "--state: directories")
        #expect(bash.contains("'text'$'\\n''json'"), "--output: text or json")
        #expect(bash.contains("---completion backup -- positional@0"), "VM names through coffer")
        let zsh = CofferCommand.completionScript(for: .zsh)
        #expect(zsh.contains("_files -g '\\''*.yaml *.yml'\\''") && zsh.contains(":dir:_files -/"))
        let fish = CofferCommand.completionScript(for: .fish)
        #expect(fish.contains("---completion restore -- --recovery-point"))
    }

    /// The executable prints the same scripts for `--generate-completion-script`.
    @Test(arguments: ["bash", "zsh", "fish"])
    func executablePrintsTheScript(_ shellName: String) async throws {
        let result = try runCofferProcess(["--generate-completion-script", shellName])
        #expect(result.status == 0)
        let shell = try #require(CompletionShell(rawValue: shellName))
        #expect(result.output == CofferCommand.completionScript(for: shell) + "\n")
    }

    /// Names come from the platform in the state directory the command line gives.
    @Test func namesComeFromThePlatform() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let vms = try runCofferProcess(["---completion", "backup", "--", "positional@0", "4", "0", "coffer", "backup", "--state", state, ""])
        #expect(vms.status == 0)
        #expect(vms.output.split(separator: "\n") == ["lnx-api-01", "lnx-db-01", "lnx-web-01", "win-app-01", "win-cmk-01"])
        let prefixed = try runCofferProcess(["---completion", "backup", "--", "positional@0", "3", "3", "coffer", "backup", "--state=\(state)", "win"])
        #expect(prefixed.output.split(separator: "\n") == ["win-app-01", "win-cmk-01"])
        let vaults = try runCofferProcess(
            ["---completion", "platform", "keyvault", "purge", "--", "positional@0", "6", "0", "coffer", "platform", "keyvault", "purge", "--state", state, ""])
        #expect(vaults.output.split(separator: "\n") == ["kv-app-eastus", "kv-app-westeurope", "kv-rbac-eastus"])
        let disks = try runCofferProcess(
            ["---completion", "platform", "read", "--", "--disk", "7", "0", "coffer", "platform", "read", "lnx-db-01", "--state", state, "--disk", ""])
        #expect(disks.output.split(separator: "\n") == ["os", "0"])
        // Without a platform there is nothing to offer, and no error.
        let none = try runCofferProcess(["---completion", "backup", "--", "positional@0", "4", "0", "coffer", "backup", "--state", directory.path("none"), ""])
        #expect(none.status == 0 && none.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    /// bash, driven as it completes a command line, completes subcommands, values and VM names.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs /bin/bash"))
    func bashCompletesACommandLine() async throws {
        let bash = "/bin/bash"
        let executable = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let script = try directory.write(CofferCommand.completionScript(for: .bash), to: "coffer.bash")
        let driver = """
            source '\(script)'
            complete_line() {
                COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
                read -ra COMP_WORDS <<< "$COMP_LINE"
                [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMPREPLY=()
                _coffer coffer "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                echo "$1=> ${COMPREPLY[*]}"
            }
            complete_line 'coffer platform ke'
            complete_line 'coffer get jobs --output '
            complete_line 'coffer backup --state \(state) lnx-'
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bash)
        process.arguments = ["-c", driver]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = executable.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("coffer platform ke=> keyvault"), "\(output)")
        #expect(lines.contains("coffer get jobs --output => text json"), "\(output)")
        #expect(lines.contains("coffer backup --state \(state) lnx-=> lnx-api-01 lnx-db-01 lnx-web-01"), "\(output)")
    }
}
