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
            FileHandle.standardError.write(Data((text + "\n\n\(errors) error\(errors == 1 ? "" : "s") in the world file\n").utf8))
            throw ExitCode(ExitStatus.code(for: error))
        } catch let error as CLIError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CLIError(code: "PlatformError", message: "\(error)", hint: nil, exitCode: ExitStatus.contract(for: error), underlying: error)
        }
    }

    /// Parses `os` or a LUN for `--disk`.
    static func disk(_ text: String) throws -> DiskSlot {
        guard let slot = DiskSlot(parsing: text) else {
            throw ValidationError("'\(text)' is not a disk: use 'os' or a data disk's LUN")
        }
        return slot
    }

    /// Parses a date or time for options such as `--retain-until`: ISO 8601 (`2026-03-01T00:00:00Z`) or a
    /// day (`2026-03-01`, midnight UTC).
    static func date(_ text: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        for options in [ISO8601DateFormatter.Options.withInternetDateTime, [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date }
        throw ValidationError("'\(text)' is not a date: use 2026-03-01 or 2026-03-01T00:00:00Z")
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

    // MARK: JSON

    /// Writes `value` as a JSON document with `"format_version": "1"` first among its sorted keys; an array
    /// goes under `key`.
    static func printJSON<T: Encodable>(_ value: T, key: String? = nil) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        var object: [String: Any]
        if let key {
            object = [key: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])]
        } else {
            guard let decoded = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                preconditionFailure("a JSON document without a key must be an object")
            }
            object = decoded
        }
        object["format_version"] = "1"
        let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(out + Data("\n".utf8))
    }

    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// A plain text table: a header row, columns padded to their widest cell.
struct PlatformTable {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) {
        self.headers = headers
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    func rendered() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    /// Prints the table, or `empty` when it has no rows.
    func print(empty: String) {
        PlatformCLI.print(rows.isEmpty ? empty : rendered())
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
