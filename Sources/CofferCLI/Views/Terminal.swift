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
        Terminal(color: TerminalStyle.colourAllowed(isTerminal: Console.current.outputIsTerminal, environment: environment))
    }

    static func forStandardError(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        Terminal(color: TerminalStyle.colourAllowed(isTerminal: Console.current.errorIsTerminal, environment: environment))
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

/// When output may be coloured: on a terminal that is not `TERM=dumb`, and never when `NO_COLOR` is set
/// (https://no-color.org). The one colour rule of every command.
enum TerminalStyle {
    static func colourAllowed(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isTerminal && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }
}
