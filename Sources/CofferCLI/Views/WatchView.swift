import Foundation
import Logging

/// How `coffer watch` writes each event: a text line (`TIME LEVEL message  [key=value ...]`) or one JSON
/// object per line. `WatchLog` turns the loop's events into log records; `EventLogHandler` hands each one to
/// the view and writes the line it makes.
protocol WatchView: Sendable {
    /// The line of one log record, or nil when it cannot be written.
    func line(time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String?
}

extension OutputFormat {
    /// The watch view of this format.
    var watchView: any WatchView {
        switch self {
        case .text: WatchTextView()
        case .json: WatchJSONView()
        }
    }
}

/// `TIME LEVEL message`, then the details but the event's name, sorted by key.
struct WatchTextView: WatchView {
    func line(time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String? {
        let extra = metadata.keys.sorted().filter { $0 != "event" }.map { "\($0)=\(metadata[$0]!)" }.joined(separator: " ")
        return "\(time) \(level.rawValue) \(message)" + (extra.isEmpty ? "" : "  [\(extra)]")
    }
}

/// One JSON object: time, level, message and every detail, keys sorted.
struct WatchJSONView: WatchView {
    func line(time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String? {
        var object: [String: String] = ["time": time, "level": level.rawValue, "message": message]
        for (key, value) in metadata { object[key] = value.description }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(object) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Writes each log record as the watch view makes it, one line per event.
struct EventLogHandler: LogHandler {
    var view: any WatchView
    var write: @Sendable (String) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // ISO8601FormatStyle is a value: no formatter object made per line (serve logs every request).
        let time = Date().formatted(.iso8601)
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if let line = view.line(time: time, level: event.level, message: event.message.description, metadata: all) { write(line) }
    }
}
