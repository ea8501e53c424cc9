import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where output goes and whether it may be coloured, by the one rule of `TerminalStyle.colourAllowed`.
struct Terminal: Sendable {
    var color: Bool

    static func forStandardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        Terminal(color: TerminalStyle.colourAllowed(isTerminal: isatty(STDOUT_FILENO) == 1, environment: environment) && environment["TERM"] != "dumb")
    }

    static func forStandardError(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        Terminal(color: TerminalStyle.colourAllowed(isTerminal: isatty(STDERR_FILENO) == 1, environment: environment) && environment["TERM"] != "dumb")
    }

    static let plain = Terminal(color: false)

    enum Style: String {
        case bold = "1"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
        case dim = "2"
    }

    func paint(_ text: String, _ style: Style) -> String {
        color ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// `text` in several styles at once (bold and red), reset once after it.
    func paint(_ text: String, _ styles: Style...) -> String {
        color ? styles.map { "\u{1B}[\($0.rawValue)m" }.joined() + text + "\u{1B}[0m" : text
    }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
