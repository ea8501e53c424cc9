import ArgumentParser
import CofferPlatform
import Foundation

// Values given on the command line are parsed once, by argument-parser, into these types: a command never
// holds the text of a duration, a date or a disk and parses it again where it is used.

/// A duration as operators write it: `90s`, `5m`, `1h30m`, `2d`, `500ms`, `2w`, or `0`.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible, Sendable, Hashable {
    /// The length in seconds.
    var seconds: Double
    /// The text it was written as, shown as a default value in help.
    var text: String

    init?(argument: String) {
        guard let seconds = Self.seconds(in: argument), seconds >= 0 else { return nil }
        self.seconds = seconds
        self.text = argument
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    /// The seconds `text` stands for, or nil when it is not a duration.
    static func seconds(in text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        // Zero is zero in every unit.
        if rest == "0" { return 0 }
        var total = 0.0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            total += value * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return total
    }
}

/// A date or time, such as `--retain-until`: ISO 8601 (`2026-03-01T00:00:00Z`, fractional seconds allowed)
/// or a day (`2026-03-01`, midnight UTC).
struct DateArgument: ExpressibleByArgument, CustomStringConvertible, Sendable, Hashable {
    var date: Date
    var text: String

    init?(argument: String) {
        guard let date = Self.date(from: argument) else { return nil }
        self.date = date
        self.text = argument
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    static func date(from text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        for options in [ISO8601DateFormatter.Options.withInternetDateTime, [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }
}

/// A VM's disk: `os`, or a data disk's LUN.
struct DiskArgument: ExpressibleByArgument, CustomStringConvertible, Sendable, Hashable {
    var slot: DiskSlot

    init?(argument: String) {
        guard let slot = DiskSlot(parsing: argument) else { return nil }
        self.slot = slot
    }

    var description: String { "\(slot)" }
}
