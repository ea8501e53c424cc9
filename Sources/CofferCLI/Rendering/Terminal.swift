import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where output goes and whether it may be coloured: only on a terminal, and never when NO_COLOR is set.
struct Terminal: Sendable {
    var color: Bool

    static func forStandardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        Terminal(color: isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb")
    }

    static func forStandardError(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        Terminal(color: isatty(STDERR_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb")
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
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
