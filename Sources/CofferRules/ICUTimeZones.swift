internal import CICU

/// A call into the system ICU that failed: the C function and ICU's name for the error code
/// (`U_MISSING_RESOURCE_ERROR`).
struct ICUError: Error, CustomStringConvertible {
    var function: String
    var name: String

    /// Reads the name of `status` at once, before any other ICU call.
    init(_ function: String, _ status: UErrorCode) {
        self.function = function
        name = String(cString: coffer_u_errorName(status))
    }

    var description: String { "\(function) failed with \(name)" }
}

/// The time-zone data of the system ICU: the tz database's zones, their offsets, and CLDR's mapping of them to
/// Windows ids. Owns every unsafe part; what it returns is plain Swift values.
enum ICUTimeZones {
    /// Every zone id of the tz database that ICU knows, links (aliases) included.
    ///
    /// The corresponding C functions are `ucal_openTimeZones` and `uenum_next`.
    static func zoneIDs() throws(ICUError) -> [String] {
        var status = U_ZERO_ERROR
        let enumeration = coffer_ucal_openTimeZones(&status)
        defer { if let enumeration { coffer_uenum_close(enumeration) } }
        guard !coffer_U_FAILURE(status), let enumeration else { throw ICUError("ucal_openTimeZones", status) }
        var ids: [String] = []
        while true {
            var length: Int32 = 0
            let next = coffer_uenum_next(enumeration, &length, &status)
            if coffer_U_FAILURE(status) { throw ICUError("uenum_next", status) }
            guard let next else { return ids }
            ids.append(String(cString: next))
        }
    }

    /// The Windows id CLDR maps a tz zone to, or nil when it maps to none.
    ///
    /// The corresponding C function is `ucal_getWindowsTimeZoneID`.
    static func windowsID(ofZone zone: String) throws(ICUError) -> String? {
        let result = try utf16Result("ucal_getWindowsTimeZoneID", zone) { input, count, output, capacity, status in
            coffer_ucal_getWindowsTimeZoneID(input, count, output, capacity, status)
        }
        return result.isEmpty ? nil : result
    }

    /// The tz zone CLDR maps a Windows id to for the world (territory 001, the zone Windows itself names as
    /// the id's reference), or nil when the id is not one CLDR knows.
    ///
    /// The corresponding C function is `ucal_getTimeZoneIDForWindowsID`.
    static func zone(forWindowsID id: String) throws(ICUError) -> String? {
        let result = try utf16Result("ucal_getTimeZoneIDForWindowsID", id) { input, count, output, capacity, status in
            coffer_ucal_getTimeZoneIDForWindowsID(input, count, nil, output, capacity, status)
        }
        return result.isEmpty ? nil : result
    }

    /// The standard (raw) offset of a tz zone in seconds east of UTC, as ICU's tz data gives it now: the
    /// offset without daylight saving time.
    ///
    /// The corresponding C functions are `ucal_open` and `ucal_get` (`UCAL_ZONE_OFFSET`). `zone` must be a
    /// zone ICU knows: ICU silently opens an unknown one as GMT.
    static func standardOffsetSeconds(ofZone zone: String) throws(ICUError) -> Int {
        let units = Array(zone.utf16)
        var status = U_ZERO_ERROR
        let calendar = units.withUnsafeBufferPointer { units in
            coffer_ucal_open(units.baseAddress, Int32(units.count), "en_US_POSIX", UCAL_GREGORIAN, &status)
        }
        defer { if let calendar { coffer_ucal_close(calendar) } }
        guard !coffer_U_FAILURE(status), let calendar else { throw ICUError("ucal_open", status) }
        let milliseconds = coffer_ucal_get(calendar, UCAL_ZONE_OFFSET, &status)
        if coffer_U_FAILURE(status) { throw ICUError("ucal_get", status) }
        return Int(milliseconds) / 1000
    }

    /// The version of ICU's tz data (`2022e`).
    ///
    /// The corresponding C function is `ucal_getTZDataVersion`.
    static func dataVersion() throws(ICUError) -> String {
        var status = U_ZERO_ERROR
        let version = coffer_ucal_getTZDataVersion(&status)
        guard !coffer_U_FAILURE(status), let version else { throw ICUError("ucal_getTZDataVersion", status) }
        return String(cString: version)
    }

    /// Calls an ICU function that maps one UTF-16 string to another into a caller's buffer, with a buffer large
    /// enough for any zone or Windows id (the longest are under 40 units).
    private static func utf16Result(
        _ function: String, _ input: String,
        _ call: (UnsafePointer<UChar>?, Int32, UnsafeMutablePointer<UChar>?, Int32, UnsafeMutablePointer<UErrorCode>) -> Int32
    ) throws(ICUError) -> String {
        let units = Array(input.utf16)
        var output = [UChar](repeating: 0, count: 128)
        var status = U_ZERO_ERROR
        let length = units.withUnsafeBufferPointer { units in
            output.withUnsafeMutableBufferPointer { output in
                call(units.baseAddress, Int32(units.count), output.baseAddress, Int32(output.count), &status)
            }
        }
        if coffer_U_FAILURE(status) { throw ICUError(function, status) }
        return String(decoding: output.prefix(Int(length)), as: UTF16.self)
    }
}
