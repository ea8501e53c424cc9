internal import CGit2
import Foundation

/// libgit2 is initialised once per process, before the first call.
let libgit2Ready: Bool = {
    git_libgit2_init()
    return true
}()

/// The hexadecimal form of an object id.
func hex(_ oid: UnsafePointer<git_oid>) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(GIT_OID_HEXSZ) + 1) { buffer in
        git_oid_tostr(buffer.baseAddress, buffer.count, oid)
        return String(cString: buffer.baseAddress!)
    }
}

/// The hexadecimal form of an object id held by value.
func hex(_ oid: git_oid) -> String {
    var oid = oid
    return hex(&oid)
}

/// Parses a full 40-digit hexadecimal object id; nil for anything else.
func objectID(fullHex text: String) -> git_oid? {
    guard text.utf8.count == Int(GIT_OID_HEXSZ), text.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
    var oid = git_oid()
    return git_oid_fromstr(&oid, text) == 0 ? oid : nil
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
}

/// Compares two object ids.
func sameID(_ a: git_oid, _ b: git_oid) -> Bool {
    var a = a
    var b = b
    return git_oid_equal(&a, &b) != 0
}

/// Calls `body` with a `git_strarray` of `strings`, valid only inside the call.
func withStringArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<git_strarray>) throws -> R) rethrows -> R {
    var copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    return try copies.withUnsafeMutableBufferPointer { buffer in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&array)
    }
}

/// The seven-digit abbreviation of a commit id used in messages.
func short(_ id: String) -> String { String(id.prefix(7)) }

/// A repository path or URL in its canonical form: URLs as given, paths made absolute and standardised.
func canonicalLocation(_ location: String) -> String {
    if isURL(location) { return location }
    let absolute =
        location.hasPrefix("/")
        ? location : FileManager.default.currentDirectoryPath + "/" + location
    var standard = (absolute as NSString).standardizingPath
    while standard.count > 1 && standard.hasSuffix("/") { standard.removeLast() }
    return standard
}

/// Whether a location is a URL (`scheme://…` or scp-like `user@host:path`) rather than a local path.
func isURL(_ location: String) -> Bool {
    if location.contains("://") { return true }
    guard let colon = location.firstIndex(of: ":") else { return false }
    let before = location[..<colon]
    return !before.isEmpty && !before.contains("/")
}

/// The local folder a location names: the path itself or the path of a `file://` URL; nil for network URLs.
func localPath(of location: String) -> String? {
    if location.hasPrefix("file://") {
        return URL(string: location)?.path ?? String(location.dropFirst("file://".count))
    }
    return isURL(location) ? nil : canonicalLocation(location)
}
