import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening the platform, turning its errors into the CLI's, and rendering what it returns.
enum PlatformCLI {
    /// `1 VM`, `2 VMs`: a count and its noun, plural when it is not one.
    static func count(_ value: Int, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }

    /// The platform in the state directory the global options name.
    static func open(_ global: GlobalOptions) throws -> Platform {
        try call { try Platform(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment)) }
    }

    /// Runs `body`, turning platform errors into `error[CODE]: message` with its hint and exit code 1, and
    /// world-file diagnostics into compiler-style messages with exit code 65.
    static func call<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PlatformError {
            throw CLIError(code: error.code, message: error.message + (error.jobID.map { " (job \($0))" } ?? ""), hint: error.hint,
                           exitCode: ExitStatus.contract(for: error), underlying: error)
        } catch let error as WorldError {
            let text = error.diagnostics.map { $0.rendered() }.joined(separator: "\n\n")
            let errors = error.diagnostics.filter { $0.severity == .error }.count
            Console.current.printError(text + "\n\n\(errors) error\(errors == 1 ? "" : "s") in the world file")
            throw ExitCode(ExitStatus.code(for: error))
        } catch let error as CLIError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CLIError(code: "PlatformError", message: "\(error)", hint: nil, exitCode: ExitStatus.contract(for: error), underlying: error)
        }
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// A byte count for people: `512 B`, `1.5 MiB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func print(_ text: String) {
        Console.current.print(text)
    }
}

/// A byte count on the command line: `4096`, or with a binary suffix `64K`, `16M`, `1G` (K = 1024).
struct ByteCount: ExpressibleByArgument, Sendable {
    var value: UInt64

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text)
        var unit: UInt64 = 1
        if digits.hasSuffix("iB") { digits = digits.dropLast(2) } else if digits.hasSuffix("B") { digits = digits.dropLast() }
        if let last = digits.last, let multiplier = units[Character(last.uppercased())] {
            unit = multiplier
            digits = digits.dropLast()
        }
        guard let number = UInt64(digits) else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        value = product
    }
}
