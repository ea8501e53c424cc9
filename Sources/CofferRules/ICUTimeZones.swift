internal import CICU

/// A call into the system ICU that failed: the C function and ICU's name for the error code
/// (`U_MISSING_RESOURCE_ERROR`).
struct ICUError: Error, CustomStringConvertible {
    var function: String
    var name: String

    /// Reads the name of `status` at once, before any other ICU call.
    init(_ function: String, _ status: coffer_icu_status) {
        self.function = function
        name = String(cString: coffer_icu_error_name(status))
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
        var status: coffer_icu_status = 0
        let enumeration = coffer_icu_open_time_zones(&status)
        defer { if let enumeration { coffer_icu_enum_close(enumeration) } }
        guard !coffer_icu_failure(status), let enumeration else { throw ICUError("ucal_openTimeZones", status) }
        var ids: [String] = []
        while true {
            var length: Int32 = 0
            let next = coffer_icu_enum_next(enumeration, &length, &status)
            if coffer_icu_failure(status) { throw ICUError("uenum_next", status) }
            guard let next else { return ids }
            ids.append(String(cString: next))
        }
    }

    /// The Windows id CLDR maps a tz zone to, or nil when it maps to none.
    ///
    /// The corresponding C function is `ucal_getWindowsTimeZoneID`.
    static func windowsID(ofZone zone: String) throws(ICUError) -> String? {
        let result = try utf16Result("ucal_getWindowsTimeZoneID", zone) { input, count, output, capacity, status in
            coffer_icu_windows_id(input, count, output, capacity, status)
        }
        return result.isEmpty ? nil : result
    }

    /// The tz zone CLDR maps a Windows id to for the world (territory 001, the zone Windows itself names as
    /// the id's reference), or nil when the id is not one CLDR knows.
    ///
    /// The corresponding C function is `ucal_getTimeZoneIDForWindowsID`.
    static func zone(forWindowsID id: String) throws(ICUError) -> String? {
        let result = try utf16Result("ucal_getTimeZoneIDForWindowsID", id) { input, count, output, capacity, status in
            coffer_icu_zone_for_windows_id(input, count, nil, output, capacity, status)
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
        var status: coffer_icu_status = 0
        let milliseconds = units.withUnsafeBufferPointer { units in
            coffer_icu_standard_offset_ms(units.baseAddress, Int32(units.count), &status)
        }
        if coffer_icu_failure(status) { throw ICUError("ucal_open/ucal_get", status) }
        return Int(milliseconds) / 1000
    }

    /// The version of ICU's tz data (`2022e`).
    ///
    /// The corresponding C function is `ucal_getTZDataVersion`.
    static func dataVersion() throws(ICUError) -> String {
        var status: coffer_icu_status = 0
        let version = coffer_icu_tz_data_version(&status)
        guard !coffer_icu_failure(status), let version else { throw ICUError("ucal_getTZDataVersion", status) }
        return String(cString: version)
    }

    /// Calls an ICU function that maps one UTF-16 string to another into a caller's buffer, with a buffer large
    /// enough for any zone or Windows id (the longest are under 40 units).
    private static func utf16Result(
        _ function: String, _ input: String,
        _ call: (UnsafePointer<UInt16>?, Int32, UnsafeMutablePointer<UInt16>?, Int32, UnsafeMutablePointer<coffer_icu_status>) -> Int32
    ) throws(ICUError) -> String {
        let units = Array(input.utf16)
        var output = [UInt16](repeating: 0, count: 128)
        var status: coffer_icu_status = 0
        let length = units.withUnsafeBufferPointer { units in
            output.withUnsafeMutableBufferPointer { output in
                call(units.baseAddress, Int32(units.count), output.baseAddress, Int32(output.count), &status)
            }
        }
        if coffer_icu_failure(status) { throw ICUError(function, status) }
        return String(decoding: output.prefix(Int(length)), as: UTF16.self)
    }
}
