import Foundation
import CofferModel

/// What the reconciler knows about each kind: which attribute changes force a replacement, which attributes
/// exist only on coffer's side, and how the platform's read-back is normalised against the manifests.
enum ResourceRules {
    /// Attribute paths whose change cannot be applied in place, given the before and after values.
    static func replacePaths(kind: ResourceKind, changed: [String], before: AttributeValue, after: AttributeValue) -> [String] {
        changed.filter { path in
            switch kind {
            case .recoveryServicesVault:
                if ["subscription", "resourceGroup", "location"].contains(path) { return true }
                // Cross-region restore off and a Locked immutability are rules of the update (an error when
                // the service refuses them), not replacements. A customer key is added or rotated in place; an
                // absent encryption is not a null one. Removing it, or changing infrastructure encryption,
                // needs a new vault.
                if path.hasPrefix("encryption") {
                    let had = (before.value(at: "encryption") ?? .null) != .null
                    let wants = (after.value(at: "encryption") ?? .null) != .null
                    return had && (!wants || path == "encryption.infrastructureEncryption")
                }
                return false
            case .backupPolicy:
                // A policy's type is fixed (azurerm: ForceNew), either way.
                return path == "vault" || path == "policyType"
            case .protectedVM:
                return path.hasPrefix("vm") || path == "vault"
            case .keyVaultAccessPolicy:
                return path == "keyVault" || path.hasPrefix("principal")
            case .keyVaultRoleAssignment:
                // ARM cannot change an assignment's scope, principal or role (RoleAssignmentUpdateNotPermitted).
                return true
            }
        }
    }

    /// Paths that only coffer knows (the platform cannot report them), never compared.
    static func isCofferOnly(kind: ResourceKind, path: String) -> Bool {
        kind == .protectedVM && path == "deletionPolicy"
    }

    /// The observed spec made comparable with the desired one: defaults the manifests leave implicit (the
    /// default subscription) are cleared where the manifests left them out, coffer's ownership tag is dropped,
    /// and coffer-only fields are copied from the desired spec.
    static func normalise(_ observed: ResourceSpec, against desired: ResourceSpec?) -> ResourceSpec {
        switch (observed, desired) {
        case (.vault(var spec), let desired):
            spec.tags[ObservedResource.managedByTag] = nil
            if case .vault(let wanted)? = desired, wanted.subscription == nil { spec.subscription = nil }
            return .vault(spec)
        case (.protectedVM(var spec), let desired):
            if case .protectedVM(let wanted)? = desired {
                if wanted.vm.subscription == nil { spec.vm.subscription = nil }
                spec.deletionPolicy = wanted.deletionPolicy
            }
            return .protectedVM(spec)
        case (.keyVaultRoleAssignment(var spec), let desired):
            // Role names compare case-insensitively, as ARM compares them.
            if case .keyVaultRoleAssignment(let wanted)? = desired, wanted.role.lowercased() == spec.role.lowercased() { spec.role = wanted.role }
            return .keyVaultRoleAssignment(spec)
        default:
            return observed
        }
    }

    /// Attribute paths whose values are masked in plans: tag values whose key names a secret.
    static func sensitivePaths(in value: AttributeValue?) -> [String] {
        guard case .object(let tags)? = value?.value(at: "tags") else { return [] }
        return tags.keys.filter { key in
            let lower = key.lowercased()
            return ["secret", "password", "token", "credential"].contains { lower.contains($0) }
        }.sorted().map { "tags.\($0)" }
    }

    /// `value` with the given paths replaced by a marker.
    static func masking(_ value: AttributeValue?, paths: [String]) -> AttributeValue? {
        guard var result = value, !paths.isEmpty else { return value }
        for path in paths {
            result = result.replacing(path: path.split(separator: ".").map(String.init), with: .string("(sensitive value)"))
        }
        return result
    }
}

extension AttributeValue {
    func replacing(path: [String], with replacement: AttributeValue) -> AttributeValue {
        guard let head = path.first else { return replacement }
        guard case .object(var fields) = self, let child = fields[head] else { return self }
        fields[head] = child.replacing(path: Array(path.dropFirst()), with: replacement)
        return .object(fields)
    }
}

/// A 128-bit FNV-1a fingerprint (two 64-bit lanes with different offsets) of attribute trees, walked in a
/// canonical order (object keys sorted), to tell whether a saved plan's inputs changed. Not a security
/// boundary: it detects staleness, not tampering.
struct Fingerprinter {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x8422_2325_cbf2_9ce4

    private mutating func byte(_ byte: UInt8) {
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        b = (b ^ UInt64(byte ^ 0x5a)) &* 0x0000_0100_0000_01b3
    }

    private mutating func word(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { byte(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private mutating func text(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            word(UInt64(bytes.count))
            for value in bytes { byte(value) }
        }
    }

    /// Each value is its kind's tag, then its content; lengths and counts come first, so that no two
    /// different trees feed the same bytes.
    mutating func feed(_ value: AttributeValue) {
        switch value {
        case .null: byte(0)
        case .bool(let flag): byte(flag ? 2 : 1)
        case .number(let number):
            byte(3)
            word(number.bitPattern)
        case .string(let string):
            byte(4)
            text(string)
        case .array(let items):
            byte(5)
            word(UInt64(items.count))
            for item in items { feed(item) }
        case .object(let fields):
            byte(6)
            word(UInt64(fields.count))
            for key in fields.keys.sorted() {
                text(key)
                feed(fields[key]!)
            }
        }
    }

    /// Feeds another fingerprint's state: a sequence fingerprinted part by part (each part on any thread)
    /// and then combined in order.
    mutating func feed(digest other: Fingerprinter) {
        byte(7)
        word(other.a)
        word(other.b)
    }

    var digest: String {
        func padded(_ lane: UInt64) -> String {
            let digits = String(lane, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return padded(a) + padded(b)
    }
}
