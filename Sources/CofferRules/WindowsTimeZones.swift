/// A Windows time-zone id, the ids a backup policy's `timeZone` names, with the tz database zone CLDR maps it
/// to and that zone's standard offset.
public struct WindowsTimeZone: Hashable, Sendable {
    /// The Windows id, spelled as Windows spells it (`W. Europe Standard Time`, `UTC`).
    public let id: String
    /// The tz database (IANA) zone CLDR maps the id to for the world (`Europe/Berlin`).
    public let ianaIdentifier: String
    /// The zone's standard offset from UTC in seconds, east positive: the offset without daylight saving time,
    /// as the tz database gives it today.
    public let standardOffsetSeconds: Int

    public init(id: String, ianaIdentifier: String, standardOffsetSeconds: Int) {
        self.id = id
        self.ianaIdentifier = ianaIdentifier
        self.standardOffsetSeconds = standardOffsetSeconds
    }

    /// The standard offset as Windows writes it in a zone's display name: `+05:30`, `-08:00`, `+00:00`.
    public var standardOffsetText: String {
        let minutes = abs(standardOffsetSeconds) / 60
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return (standardOffsetSeconds < 0 ? "-" : "+") + twoDigits(minutes / 60) + ":" + twoDigits(minutes % 60)
    }
}

/// The Windows time-zone ids a backup policy may name: the table the manifest checks and the platform read,
/// so that a time zone that validates is one the platform accepts.
///
/// The ids are CLDR's mapping of Windows ids to tz database zones (`windowsZones.xml`), read from the system
/// ICU: every zone ICU knows is mapped to its Windows id and the ids are collected, so the set follows ICU's
/// updates rather than a list kept here. Each id's offset is the standard offset of the zone CLDR names for
/// it (territory 001), from ICU's copy of the tz database: one source for both, which `dataVersion` names.
public enum WindowsTimeZones {
    /// Every Windows id, sorted by id.
    public static var all: [WindowsTimeZone] { table.zones }

    /// Every Windows id, sorted.
    public static var ids: [String] { table.ids }

    /// The version of ICU's tz database, which the offsets come from (`2022e`).
    public static var dataVersion: String { table.dataVersion }

    /// Whether `id` is a Windows time-zone id, spelled exactly (ids are case-sensitive here).
    public static func contains(_ id: String) -> Bool { table.byID[id] != nil }

    /// The zone of a Windows id spelled exactly, or nil when there is none.
    public static func zone(id: String) -> WindowsTimeZone? { table.byID[id] }

    /// The zone of a Windows id in any case (`india standard time`), as Windows looks ids up, or nil.
    public static func zone(ignoringCase id: String) -> WindowsTimeZone? {
        table.byID[id] ?? table.byLowercasedID[id.lowercased()]
    }

    /// The Windows id that `text` was probably meant to be, or nil: the id itself in its right case
    /// (`utc` → `UTC`), the Windows id of a tz database zone (`Europe/Berlin` → `W. Europe Standard Time`), or
    /// the id nearest by edit distance when it is close enough to be a typo.
    public static func suggestion(for text: String) -> String? {
        if let zone = zone(ignoringCase: text) { return zone.id == text ? nil : zone.id }
        if let id = table.windowsIDByZone[text] { return id }
        return Suggestions.closest(to: text, in: table.ids)
    }

    // MARK: The table

    struct Table: Sendable {
        var zones: [WindowsTimeZone]
        var ids: [String]
        var byID: [String: WindowsTimeZone]
        var byLowercasedID: [String: WindowsTimeZone]
        /// The Windows id of every tz zone that has one, links included.
        var windowsIDByZone: [String: String]
        var dataVersion: String

        /// Reads the table from the system ICU.
        static func load() throws(ICUError) -> Table {
            var windowsIDByZone: [String: String] = [:]
            for zone in try ICUTimeZones.zoneIDs() {
                if let id = try ICUTimeZones.windowsID(ofZone: zone) { windowsIDByZone[zone] = id }
            }
            var zones: [WindowsTimeZone] = []
            for id in Set(windowsIDByZone.values).sorted() {
                // Every id ICU produced maps back to a zone; one that did not could not be scheduled, so it is
                // left out (a test holds that none is).
                guard let zone = try ICUTimeZones.zone(forWindowsID: id) else { continue }
                zones.append(WindowsTimeZone(id: id, ianaIdentifier: zone,
                                             standardOffsetSeconds: try ICUTimeZones.standardOffsetSeconds(ofZone: zone)))
            }
            return Table(
                zones: zones,
                ids: zones.map(\.id),
                byID: Dictionary(uniqueKeysWithValues: zones.map { ($0.id, $0) }),
                byLowercasedID: Dictionary(zones.map { ($0.id.lowercased(), $0) }, uniquingKeysWith: { first, _ in first }),
                windowsIDByZone: windowsIDByZone,
                dataVersion: try ICUTimeZones.dataVersion())
        }
    }

    /// Read once, on first use, at the standard offsets of that day. ICU's data is compiled into libicudata, so
    /// this fails only on a broken ICU installation, which coffer cannot run without.
    static let table: Table = {
        do {
            return try Table.load()
        } catch {
            fatalError("coffer cannot read the time zones of the system ICU (libicu): \(error)")
        }
    }()
}
