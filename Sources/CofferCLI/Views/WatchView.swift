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
///
/// The text is what `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` makes of the same
/// dictionary of strings, written directly (serve logs every request, and an encoder per line cost more
/// than the rest of the request): the keys in the order `JSONEncoder` sorts them, learned from it once per
/// set of keys, and its escapes.
struct WatchJSONView: WatchView {
    static let keyOrder = JSONKeyOrder()

    func line(time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String? {
        // A detail named like a field replaces it, as in a dictionary of the two.
        var fields: [(key: String, value: String)] = []
        fields.reserveCapacity(metadata.count + 3)
        for (key, value) in [("time", time), ("level", level.rawValue), ("message", message)] where metadata[key] == nil {
            fields.append((key, value))
        }
        for (key, value) in metadata { fields.append((key, value.description)) }
        guard let keys = Self.keyOrder.sorted(fields.map(\.key)) else { return nil }
        var bytes: [UInt8] = [0x7b]
        bytes.reserveCapacity(256)
        for key in keys {
            guard let field = fields.first(where: { $0.key == key }) else { continue }
            if bytes.count > 1 { bytes.append(0x2c) }
            JSONText.appendString(key, to: &bytes)
            bytes.append(0x3a)
            JSONText.appendString(field.value, to: &bytes)
        }
        bytes.append(0x7d)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// JSON text of strings, escaped as `JSONEncoder` escapes them with `.withoutEscapingSlashes`.
enum JSONText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(0x22)
        // Most values need no escape: copied whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(0x22)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case 0x22: bytes += [0x5c, 0x22]
            case 0x5c: bytes += [0x5c, 0x5c]
            case 0x0a: bytes += [0x5c, 0x6e]
            case 0x0d: bytes += [0x5c, 0x72]
            case 0x09: bytes += [0x5c, 0x74]
            case 0x08: bytes += [0x5c, 0x62]
            case 0x0c: bytes += [0x5c, 0x66]
            case 0x00..<0x20: bytes += [0x5c, 0x75, 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }
}

/// The order in which `JSONEncoder`'s `.sortedKeys` writes a set of keys, asked of it once per set (a log
/// writes the same few sets over and over).
final class JSONKeyOrder: @unchecked Sendable {
    private let lock = NSLock()
    /// A set of keys by its members in `<` order, distinct.
    private var known: [[String]: [String]] = [:]
    /// The most sets remembered.
    static let maximumSets = 256

    /// `keys` (distinct) in `JSONEncoder`'s sorted order; nil when it cannot encode them.
    func sorted(_ keys: [String]) -> [String]? {
        let set = keys.sorted()
        lock.lock()
        if let order = known[set] {
            lock.unlock()
            return order
        }
        lock.unlock()
        guard let order = Self.learn(set) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if known.count >= Self.maximumSets { known.removeAll() }
        known[set] = order
        return order
    }

    /// Encodes each key with its index as the value, and reads the indexes back in the order written.
    private static func learn(_ keys: [String]) -> [String]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })) else { return nil }
        var order: [String] = []
        var bytes = data.makeIterator()
        var inString = false
        var escaped = false
        var number: Int?
        while let byte = bytes.next() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == 0x5c {
                    escaped = true
                } else if byte == 0x22 {
                    inString = false
                }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x30...0x39: number = (number ?? 0) * 10 + Int(byte - 0x30)
            case 0x2c, 0x7d:
                guard let index = number, keys.indices.contains(index) else { return nil }
                order.append(keys[index])
                number = nil
            default: break
            }
        }
        return order.count == keys.count ? order : nil
    }
}

/// Writes each log record as the watch view makes it, one line per event.
/// The time a log line carries (ISO 8601, UTC, to the second), formatted once per second.
final class LogTime: @unchecked Sendable {
    static let shared = LogTime()
    private let lock = NSLock()
    // Guarded by `lock`.
    private var second = Int64.min
    private var text = ""

    func now(_ date: Date = Date()) -> String {
        let current = Int64(date.timeIntervalSince1970.rounded(.down))
        lock.lock()
        defer { lock.unlock() }
        if current != second {
            second = current
            text = Date(timeIntervalSince1970: Double(current)).formatted(.iso8601)
        }
        return text
    }
}

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
        // Serve logs every request: the time, to the second, is formatted once per second.
        let time = LogTime.shared.now()
        let all = metadata.isEmpty ? event.metadata ?? [:] : metadata.merging(event.metadata ?? [:]) { $1 }
        if let line = view.line(time: time, level: event.level, message: event.message.description, metadata: all) { write(line) }
    }
}
