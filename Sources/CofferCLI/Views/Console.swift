import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where every command writes: results to standard output; progress, prompts and errors to standard error.
/// It is the one output stream of the CLI, injected as a task-local so that a test can run a command in
/// process and read what it printed (`Console.$current.withValue(.capturing { ... }) { ... }`).
struct Console: Sendable {
    /// Writes bytes to standard output as they are.
    var writeOut: @Sendable (Data) -> Void
    /// Writes bytes to standard error as they are.
    var writeError: @Sendable (Data) -> Void
    /// Whether standard output is a terminal (colour depends on it).
    var outputIsTerminal: Bool
    /// Whether standard error is a terminal (colour and progress depend on it).
    var errorIsTerminal: Bool

    /// The process's standard output and standard error.
    static let standard = Console(
        writeOut: { FileHandle.standardOutput.write($0) },
        writeError: { FileHandle.standardError.write($0) },
        outputIsTerminal: isatty(STDOUT_FILENO) == 1, errorIsTerminal: isatty(STDERR_FILENO) == 1)

    /// The console commands write to.
    @TaskLocal static var current = Console.standard

    /// A console that hands everything to `sink`, with the stream it was written to; never a terminal.
    static func capturing(_ sink: @escaping @Sendable (_ toStandardError: Bool, _ bytes: Data) -> Void) -> Console {
        Console(writeOut: { sink(false, $0) }, writeError: { sink(true, $0) }, outputIsTerminal: false, errorIsTerminal: false)
    }

    /// Writes `line` and a newline to standard output.
    func print(_ line: String) { writeOut(Data((line + "\n").utf8)) }

    /// Writes `line` and a newline to standard error.
    func printError(_ line: String) { writeError(Data((line + "\n").utf8)) }

    /// Writes `text` to standard output as is, without adding a newline.
    func write(_ text: String) { writeOut(Data(text.utf8)) }
}

/// Writes a line to standard error through the current console.
func printError(_ text: String) {
    Console.current.printError(text)
}
