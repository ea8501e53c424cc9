import CofferTestSupport
import Foundation

/// The shell commands of a documentation page, read out of its fenced blocks, and what each is documented to
/// exit with.
///
/// Blocks tagged `sh`, `bash` or `shell` are scripts: every line is a command, except comment lines. Blocks
/// tagged `console` are sessions: a line starting with `$ ` is a command, the lines after it its output. A
/// command goes on over the next line when its line ends with `\`, `&&`, `||` or `|`, as in the shell. It is
/// documented to exit with N when a comment on it says `exits N`, or, in a session, when it ends with
/// `; echo $?` or is followed by `$ echo $?`, and the output shown is N; any other command must exit 0. A
/// here-document (`<<'PY'` ... `PY`) is the command's input: its lines are not commands.
struct ShellExample: Sendable, CustomStringConvertible {
    /// The page, relative to the package root, and the line of the command's first line in it.
    var page: String
    var line: Int
    /// The command as the shell runs it (its continuation lines included).
    var text: String
    var expectedStatus: Int32 = 0
    /// Why the command is not run, when one of its programs is excluded.
    var excluded: String?
    /// Comment lines under the command (not run), read for `exits N`.
    var annotation = ""
    /// How many of the last lines of `text` are a here-document's input, not commands.
    var inputLines = 0

    /// The command's own lines, a here-document's input left out: what names the programs it runs.
    var commandLines: String {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(inputLines).joined(separator: "\n")
    }

    var description: String { "\(page):\(line)" }

    /// The tags of the blocks whose commands run.
    static let shellLanguages: Set<String> = ["sh", "bash", "shell", "console"]

    /// The programs the commands of the docs may call, and the test runs: coffer itself, the shell's own
    /// commands, git (to set up the repositories that plan, diff, rollback and watch read), and the common
    /// tools the docs use to edit a file or read JSON. Any other program must be added here or to `excluded`.
    static let runnable: Set<String> = [
        "coffer",
        "cd", "echo", "export", "source",
        "git", "mkdir", "cp", "mktemp", "sed",
        "jq", "python3", "xxd", "sleep", "kill",
    ]

    /// Programs that the docs name but the test does not run, each with the reason. A command that calls one
    /// of them is skipped whole.
    static let excluded: [String: String] = [
        "make": "`make run` installs system packages and builds the package under test; `make test` runs this suite",
        "swift": "builds or tests the package under test, from inside its own test run",
        "sudo": "changes the machine outside the test's directory (e.g. /etc/bash_completion.d)",
        "apt-get": "installs system packages",
        "/tmp/coffer-sdk/bin/pip": "installs the Azure SDKs from PyPI; Tests/sdk/run.sh (make test) installs the same pinned SDKs and runs this client flow against serve",
        "/tmp/coffer-sdk/bin/python": "runs the Azure SDKs installed by the skipped pip line; Tests/sdk runs the same flow",
    ]

    /// The commands of every shell block of `page` (its text), in order, and the problems that keep the page
    /// from being checked: a command of a program neither runnable nor excluded, a `$ ` prompt outside a shell
    /// block.
    static func commands(page name: String, text page: String) -> (commands: [ShellExample], problems: [String]) {
        var commands: [ShellExample] = []
        var problems: [String] = []
        for block in Markdown.fencedBlocks(in: page) {
            guard shellLanguages.contains(block.language) else {
                // A session shown in another block would never run: it must be tagged console. Keystrokes of
                // shell completion (`coffer pla<TAB>`) are typed, not run.
                for (index, line) in block.lines.enumerated() where line.hasPrefix("$ ") && !line.contains("<TAB>") {
                    problems.append("\(name):\(block.line(index)): a command in a ```\(block.language) block: tag the block console (or sh) so that it runs")
                }
                continue
            }
            let session = block.language == "console"
            var current: ShellExample?
            var output: [String] = []
            var continues = false
            var heredoc: String?
            func finish() {
                guard var command = current else { return }
                if session, let shown = output.last(where: { !$0.isEmpty }).flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }) {
                    if command.text.trimmingCharacters(in: .whitespaces) == "echo $?", let previous = commands.indices.last {
                        commands[previous].expectedStatus = shown
                    } else if command.text.hasSuffix("; echo $?") {
                        command.text = String(command.text.dropLast("; echo $?".count))
                        command.expectedStatus = shown
                    }
                }
                commands.append(command)
                current = nil
                output = []
            }
            for (index, line) in block.lines.enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                // A here-document's lines are the command's input, up to its delimiter.
                if let delimiter = heredoc, current != nil {
                    current!.text += "\n" + line
                    current!.inputLines += 1
                    if trimmed == delimiter { heredoc = nil }
                    continue
                }
                let isCommandLine: Bool
                if continues, current != nil {
                    current!.text += "\n" + line
                    isCommandLine = true
                } else if session ? line.hasPrefix("$ ") : !(trimmed.isEmpty || trimmed.hasPrefix("#")) {
                    finish()
                    current = ShellExample(page: name, line: block.line(index), text: session ? String(line.dropFirst(2)) : line)
                    isCommandLine = true
                } else if !session, trimmed.hasPrefix("#"), line.hasPrefix(" "), current != nil {
                    // An indented comment under a command goes on describing it (its `exits N` counts).
                    current!.annotation += "\n" + line
                    isCommandLine = false
                } else if session, current != nil {
                    output.append(line)
                    isCommandLine = false
                } else {
                    finish()
                    isCommandLine = false
                }
                let code = line.replacing(/\s+#.*$/, with: "").trimmingCharacters(in: .whitespaces)
                continues = isCommandLine && ["\\", "&&", "||", "|"].contains { code.hasSuffix($0) }
                if isCommandLine, let match = code.firstMatch(of: /<<-?\s*['"]?([A-Za-z_]+)['"]?/) {
                    heredoc = String(match.1)
                }
            }
            finish()
        }
        for index in commands.indices {
            let command = commands[index]
            if let match = (command.text + command.annotation).firstMatch(of: /#.*\bexits (\d+)\b/) {
                commands[index].expectedStatus = Int32(match.1)!
            }
            for program in programs(in: command.commandLines) {
                if let reason = excluded[program] {
                    commands[index].excluded = commands[index].excluded ?? "\(program): \(reason)"
                } else if !runnable.contains(program) {
                    problems.append("\(command): `\(program)` is neither run nor excluded: add it to ShellExample.runnable or, with the reason, to ShellExample.excluded")
                }
            }
        }
        return (commands, problems)
    }

    /// The programs a command line calls: the first word of each simple command, in pipelines, lists,
    /// subshells and command substitutions (`$(...)`, `<(...)`), after any variable assignments.
    static func programs(in command: String) -> [String] {
        struct Level { var quoted = false; var expectsCommand = true; var word = ""; var inWord = false; var redirectTarget = false }
        var programs: [String] = []
        var levels = [Level()]
        let characters = Array(command)
        var index = 0
        func endWord() {
            var level = levels[levels.count - 1]
            defer { levels[levels.count - 1] = level }
            guard level.inWord else { return }
            let word = level.word
            level.word = ""
            level.inWord = false
            if level.redirectTarget {
                level.redirectTarget = false
            } else if level.expectsCommand, word.firstMatch(of: /^[A-Za-z_][A-Za-z0-9_]*=/) == nil, !["!", "{", "}"].contains(word) {
                programs.append(word)
                level.expectsCommand = false
            }
        }
        func append(_ character: Character) {
            levels[levels.count - 1].word.append(character)
            levels[levels.count - 1].inWord = true
        }
        func open() { levels.append(Level()) }
        func close() {
            endWord()
            if levels.count > 1 { levels.removeLast() }
        }
        while index < characters.count {
            let character = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            index += 1
            if levels[levels.count - 1].quoted {
                switch character {
                case "\\": if let next { append(next); index += 1 }
                case "\"": levels[levels.count - 1].quoted = false
                case "$" where next == "(": index += 1; open()
                default: append(character)
                }
                continue
            }
            switch character {
            case "'":
                while index < characters.count, characters[index] != "'" { append(characters[index]); index += 1 }
                index += 1
                levels[levels.count - 1].inWord = true
            case "\"":
                levels[levels.count - 1].quoted = true
                levels[levels.count - 1].inWord = true
            case "\\":
                if next == "\n" { index += 1 } else if let next { append(next); index += 1 }
            case "#" where !levels[levels.count - 1].inWord:
                while index < characters.count, characters[index] != "\n" { index += 1 }
            case "$" where next == "(", "<" where next == "(":
                levels[levels.count - 1].inWord = true
                index += 1
                open()
            case "(":
                endWord()
                open()
            case ")":
                close()
            case " ", "\t":
                endWord()
            case "\n", ";", "&", "|":
                endWord()
                levels[levels.count - 1].expectsCommand = true
            case ">", "<":
                endWord()
                while index < characters.count, [">", "&", "|"].contains(characters[index]) { index += 1 }
                levels[levels.count - 1].redirectTarget = true
            default:
                append(character)
            }
        }
        while levels.count > 1 { close() }
        endWord()
        return programs
    }
}

extension ShellExample {
    /// How long one page's commands may take together before the run is stopped.
    static let pageTimeout = 300

    /// Runs `commands`, the runnable commands of one page, in order in one bash, as a reader who copies them
    /// would: in a fresh directory that holds the repository's `manifests/` and
    /// `examples/reference/world.yaml` and, in `./.coffer` (the default state directory), the reference
    /// platform as `coffer platform init --world examples/reference/world.yaml` makes it (the first step of
    /// the README's quick start); with the built `coffer` first on the `PATH`, `COFFER_STATE` unset, and
    /// `HOME` and `TMPDIR` inside the directory (a git identity in its `~/.gitconfig`). Returns a message for
    /// each command that did not exit as documented.
    static func run(_ commands: [ShellExample]) throws -> [String] {
        guard !commands.isEmpty else { return [] }
        guard let coffer = cofferExecutable else { return ["the coffer executable is not built: run swift build first"] }
        let directory = try TemporaryDirectory(prefix: "coffer-docs")
        let files = FileManager.default
        let work = directory.path("work"), records = directory.path("records")
        for folder in ["work/examples/reference", "records", "home", "tmp"] {
            try files.createDirectory(atPath: directory.path(folder), withIntermediateDirectories: true)
        }
        try files.copyItem(at: packageRoot.appendingPathComponent("manifests"), to: URL(fileURLWithPath: work).appendingPathComponent("manifests"))
        try files.copyItem(
            at: packageRoot.appendingPathComponent("examples/reference/world.yaml"),
            to: URL(fileURLWithPath: work).appendingPathComponent("examples/reference/world.yaml"))
        _ = try ReferencePlatform.copy(into: directory, name: "work/.coffer")
        try directory.write("[user]\n\tname = Reader\n\temail = reader@example.com\n", to: "home/.gitconfig")

        var script = "cd '\(work)' || exit 99\n"
        for (index, command) in commands.enumerated() {
            script += """
                printf '%s\\n' \(index) > '\(records)/current'
                {
                \(command.text)
                } > '\(records)/\(index).out' 2> '\(records)/\(index).err' < /dev/null
                __documented_status=$?
                printf '%s\\n' "$__documented_status" > '\(records)/\(index).status'
                (exit "$__documented_status")

                """
        }
        let scriptPath = try directory.write(script, to: "page.sh")

        var environment = ProcessInfo.processInfo.environment
        for name in ["COFFER_STATE", "BASH_ENV", "ENV", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"] {
            environment[name] = nil
        }
        environment["HOME"] = directory.path("home")
        environment["TMPDIR"] = directory.path("tmp")
        environment["PATH"] = coffer.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // timeout(1) stops the whole process group: a command that never returns (a watch without --once)
        // ends the run instead of hanging the suite.
        process.arguments = ["timeout", "--kill-after=10", String(pageTimeout), "bash", "--noprofile", "--norc", scriptPath]
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.standardInput = FileHandle.nullDevice
        let shellErrors = directory.path("records/shell.err")
        _ = files.createFile(atPath: shellErrors, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: shellErrors))
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        try process.run()
        process.waitUntilExit()
        try errorHandle.close()

        func read(_ name: String) -> String { (try? String(contentsOfFile: "\(records)/\(name)", encoding: .utf8)) ?? "" }
        var failures: [String] = []
        for (index, command) in commands.enumerated() {
            let quoted = command.text.replacingOccurrences(of: "\n", with: "\n    ")
            guard let status = Int32(read("\(index).status").trimmingCharacters(in: .whitespacesAndNewlines)) else {
                let why = process.terminationStatus == 124 || process.terminationStatus == 137
                    ? "did not finish within \(pageTimeout) s" : "did not run: the shell stopped (exit \(process.terminationStatus)) \(read("shell.err"))"
                failures.append("\(command): `\(quoted)` \(why)\nstderr:\n\(read("\(index).err"))")
                break
            }
            guard status != command.expectedStatus else { continue }
            let errors = read("\(index).err")
            let detail = errors.isEmpty ? "stdout:\n\(String(read("\(index).out").suffix(2000)))" : "stderr:\n\(String(errors.suffix(4000)))"
            failures.append("\(command): `\(quoted)` exited \(status), documented \(command.expectedStatus)\n\(detail)")
        }
        return failures
    }
}
