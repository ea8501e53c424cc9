import ArgumentParser
import Foundation
import Testing

@testable import CofferCLI

/// Every command of coffer's tree, found by walking `configuration.subcommands` from the root, so that a new
/// command is covered by the help and completion tests without being listed anywhere.
struct CommandPath: CustomStringConvertible, Sendable {
    /// The command names from the root: `["coffer", "platform", "init"]`.
    var names: [String]
    var command: ParsableCommand.Type

    var description: String { names.joined(separator: " ") }

    /// The golden file of its help: `help/coffer-platform-init.txt`.
    var goldenName: String { "help/" + names.joined(separator: "-") + ".txt" }

    static let all: [CommandPath] = walk(CofferCommand.self, parents: [])

    private static func walk(_ command: ParsableCommand.Type, parents: [String]) -> [CommandPath] {
        guard let name = command.configuration.commandName else {
            preconditionFailure("\(command) has no commandName")
        }
        let path = CommandPath(names: parents + [name], command: command)
        return [path] + command.configuration.subcommands.flatMap { walk($0, parents: path.names) }
    }
}

@Suite struct HelpGoldenTests {
    /// The width help is rendered at, so that the golden files do not depend on the terminal.
    static let columns = 100

    static func help(_ path: CommandPath) -> String {
        CofferCommand.helpMessage(for: path.command, includeHidden: false, columns: columns) + "\n"
    }

    @Test func theTreeHasEveryCommand() async {
        let names = Set(CommandPath.all.map(\.description))
        for expected in ["coffer", "coffer platform init", "coffer platform keyvault set-access", "coffer platform vm set-agent", "coffer watch"] {
            #expect(names.contains(expected))
        }
        #expect(names.count == CommandPath.all.count, "a command path appears twice")
    }

    /// Each command's help is pinned by a golden file; COFFER_UPDATE_GOLDEN=1 rewrites them.
    @Test(arguments: CommandPath.all)
    func helpMatchesItsGoldenFile(_ path: CommandPath) async throws {
        try expectGolden(Self.help(path), path.goldenName)
    }

    /// No golden file is left for a command that is gone (with COFFER_UPDATE_GOLDEN=1, such files are removed).
    @Test func everyGoldenFileBelongsToACommand() async throws {
        let directory = goldenDirectory.appendingPathComponent("help")
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        let expected = Set(CommandPath.all.map { String($0.goldenName.dropFirst("help/".count)) })
        let stale = present.subtracting(expected)
        if updatingGoldenFiles {
            for name in stale { try FileManager.default.removeItem(at: directory.appendingPathComponent(name)) }
            return
        }
        #expect(stale.isEmpty, "golden help files without a command: \(stale.sorted())")
    }

    /// Every command says what it does, and shows at least one invocation of itself.
    @Test(arguments: CommandPath.all)
    func helpHasAnAbstractAndExamples(_ path: CommandPath) async {
        let configuration = path.command.configuration
        #expect(!configuration.abstract.isEmpty && configuration.abstract.hasSuffix("."), "\(path): abstract")
        let discussion = configuration.discussion
        #expect(discussion.contains("Examples:"), "\(path): no Examples: section")
        let examples = discussion.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let prefix = path.names.count == 1 ? "coffer " : path.description + " "
        #expect(examples.contains { $0.hasPrefix(prefix) }, "\(path): no example starts with '\(prefix)'")
    }

    /// Every argument, option and flag in the help has a description.
    @Test(arguments: CommandPath.all)
    func everyArgumentHasHelpText(_ path: CommandPath) async {
        #expect(Self.undescribedArguments(in: Self.help(path)) == [], "\(path)")
    }

    /// The labels of the ARGUMENTS and OPTIONS sections that have no description next to or under them.
    static func undescribedArguments(in help: String) -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let descriptionColumn = 26
        var inSection = false
        var missing: [String] = []
        for (index, line) in lines.enumerated() {
            if line == "ARGUMENTS:" || line == "OPTIONS:" {
                inSection = true
                continue
            }
            if line.isEmpty || !line.hasPrefix(" ") {
                inSection = false
                continue
            }
            guard inSection, line.hasPrefix("  "), !line.hasPrefix(String(repeating: " ", count: descriptionColumn)) else { continue }
            let label = line.trimmingCharacters(in: .whitespaces)
            let sameLine = line.count > descriptionColumn && !line.dropFirst(descriptionColumn).trimmingCharacters(in: .whitespaces).isEmpty
                && line.prefix(descriptionColumn).hasSuffix(" ")
            let nextLine = index + 1 < lines.count && lines[index + 1].hasPrefix(String(repeating: " ", count: descriptionColumn))
                && !lines[index + 1].trimmingCharacters(in: .whitespaces).isEmpty
            if !sameLine && !nextLine { missing.append(label) }
        }
        return missing
    }

    /// The check above finds an argument without help (so that it can fail).
    @Test func undescribedArgumentsAreFound() async {
        let help = """
            USAGE: x [--a <dir>] [--bb <file>]

            OPTIONS:
              --a <dir>               The directory.
              --bb <file>
              --version               Show the version.

            """
        #expect(Self.undescribedArguments(in: help) == ["--bb <file>"])
    }
}
