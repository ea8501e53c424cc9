import CofferModel
import CofferYAML
import Foundation

/// The diagnostics that made a world file invalid (the CLI exits 65 with them).
public struct WorldError: CofferError {
    public var diagnostics: [Diagnostic]

    /// `world-invalid`; each diagnostic has its own code.
    public var errorCode: String { "world-invalid" }

    /// How many errors the world file has, and the first.
    public var message: String {
        let errors = diagnostics.filter { $0.severity == .error }
        let count = "\(errors.count) error\(errors.count == 1 ? "" : "s") in the world file"
        return errors.first.map { "\(count): \($0.summary)" } ?? count
    }

    /// The error for these diagnostics, sorted for display.
    public init(diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sortedForDisplay()
    }

    public var description: String {
        diagnostics.map { $0.rendered() }.joined(separator: "\n")
    }
}

/// Loads a YAML world file into a ``World``, reporting every problem at once with `file:line:column`.
///
/// The file is composed by CofferYAML's hardened composer, within the same limits as manifests (size,
/// depth, nodes; anchors, aliases and tags refused on the event stream, never expanded), then read node by
/// node (never decoded blindly): unknown fields and wrong types are refused, then the world's rules
/// (references, regions, sizes, the service's limits) are checked by ``WorldValidator``.
public enum WorldLoader {
    /// The bounds a world file is read within: those of a manifest file.
    public static let limits = YAMLLimits.default

    /// Loads and validates the world file at `path`.
    public static func load(path: String) throws -> World {
        func unreadable(_ reason: String) -> WorldError {
            WorldError(diagnostics: [
                .error("world-unreadable", "cannot read the world file '\(path)': \(reason)",
                       hint: "check the path and its permissions")
            ])
        }
        switch FileAccess.read(path, limit: limits.maxFileBytes) {
        case .bytes(let bytes):
            return try load(bytes: bytes, file: path)
        case .tooLarge(let size):
            throw WorldError(diagnostics: [
                .error("world-limit", "the world file is \(size) bytes, over the limit of \(limits.maxFileBytes) bytes",
                       at: SourceLocation(file: path, line: 1, column: 1), detail: "the file was not read",
                       hint: "a world file describes a few dozen resources; check that this is the right file")
            ])
        case .notRegular:
            throw unreadable("not a regular file")
        case .failed(let reason):
            throw unreadable(reason)
        }
    }

    /// Loads and validates a world from YAML text; `file` names it in diagnostics.
    public static func load(text: String, file: String) throws -> World {
        try load(bytes: Array(text.utf8), file: file)
    }

    /// Loads and validates a world from the bytes of a YAML file; `file` names it in diagnostics.
    public static func load(bytes: [UInt8], file: String) throws -> World {
        let composed = YAMLComposer.compose(path: file, bytes: bytes, limits: limits)
        var reader = NodeReader(file: file, text: String(decoding: composed.source.bytes, as: UTF8.self))
        for problem in composed.problems { reader.report(problem) }
        // A file read only in part is not read further: what follows the problem is unknown.
        if !composed.complete { throw WorldError(diagnostics: reader.diagnostics) }
        if composed.documents.count > 1 {
            let second = composed.documents[1].mark
            reader.report(.error("world-syntax", "expected a single document in the stream, but found another document",
                                 at: reader.location(second), hint: "a world file holds exactly one YAML document"))
            throw WorldError(diagnostics: reader.diagnostics)
        }
        guard let root = composed.documents.first?.root else {
            throw WorldError(diagnostics: reader.diagnostics + [
                .error("world-empty", "the world file is empty", at: SourceLocation(file: file, line: 1, column: 1),
                       hint: "see the CofferPlatform README for the world file format")
            ])
        }
        let world = reader.world(root)
        if reader.diagnostics.hasErrors { throw WorldError(diagnostics: reader.diagnostics) }
        guard let world else { throw WorldError(diagnostics: reader.diagnostics) }
        var validator = WorldValidator(world: world, locations: reader.locations, sourceLines: reader.lines)
        validator.validate()
        if validator.diagnostics.hasErrors { throw WorldError(diagnostics: validator.diagnostics) }
        return world
    }
}

/// Walks composed YAML nodes, collecting diagnostics and the location of each field by path.
///
/// A node the composer refused (an alias, a tagged value) has been reported already: it reads as absent,
/// without a second diagnostic.
struct NodeReader {
    let file: String
    let lines: [String]
    var diagnostics: [Diagnostic] = []
    /// Where each field was written, by path (`virtualMachines[0].encryption.keyVault`).
    var locations: [String: SourceLocation] = [:]

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
    }

    func location(_ mark: YAMLMark) -> SourceLocation {
        SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func location(_ node: YAMLNode) -> SourceLocation {
        location(node.mark)
    }

    mutating func error(_ code: String, _ summary: String, at node: YAMLNode, hint: String? = nil) {
        report(.error(code, summary, at: location(node), hint: hint))
    }

    mutating func error(_ code: String, _ summary: String, at mark: YAMLMark, hint: String? = nil) {
        report(.error(code, summary, at: location(mark), hint: hint))
    }

    mutating func report(_ diagnostic: Diagnostic) {
        var diagnostic = diagnostic
        if let line = diagnostic.location?.line, line >= 1, line <= lines.count {
            diagnostic.sourceLine = Self.printable(lines[line - 1])
        }
        diagnostics.append(diagnostic)
    }

    /// The line with every control character but tab replaced by U+FFFD, so that printing a snippet of a
    /// hostile file cannot send escape sequences to a terminal.
    static func printable(_ line: String) -> String {
        func isControl(_ scalar: Unicode.Scalar) -> Bool {
            scalar != "\t" && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value))
        }
        guard line.unicodeScalars.contains(where: isControl) else { return line }
        var result = String.UnicodeScalarView()
        for scalar in line.unicodeScalars { result.append(isControl(scalar) ? "\u{FFFD}" : scalar) }
        return String(result)
    }

    /// Reports what the YAML composer refused, worded for a world file.
    mutating func report(_ problem: YAMLProblem) {
        let at = location(problem.mark)
        let diagnostic: Diagnostic
        switch problem.kind {
        case .fileTooLarge(let size, let limit):
            diagnostic = .error("world-limit", "the world file is \(size) bytes, over the limit of \(limit) bytes", at: at,
                                detail: "the file was not read",
                                hint: "a world file describes a few dozen resources; check that this is the right file")
        case .unsupportedEncoding(let encoding):
            diagnostic = .error("world-encoding", "the file starts with a \(encoding) byte-order mark", at: at,
                                hint: "save the world file as UTF-8 (a UTF-8 byte-order mark is accepted)")
        case .nulByte:
            diagnostic = .error("world-encoding", "the file contains a NUL byte", at: at,
                                hint: "a world file is UTF-8 text; if this is UTF-16, save it as UTF-8")
        case .controlCharacter(let scalar):
            var hex = String(scalar, radix: 16, uppercase: true)
            while hex.count < 4 { hex = "0" + hex }
            let what = scalar == 0xFEFF ? "a byte-order mark inside the file" : "control character U+\(hex)"
            diagnostic = .error("world-encoding", "\(what) is not allowed in YAML", at: at,
                                hint: "remove it, or write it as an escape (\"\\u\(hex)\") inside a double-quoted string")
        case .invalidUTF8(let byte):
            diagnostic = .error("world-encoding",
                                "invalid UTF-8: byte 0x\(String(byte, radix: 16, uppercase: true)) does not start a valid sequence",
                                at: at, hint: "a world file is UTF-8 text: save it as UTF-8")
        case .syntax(let message, let context, _):
            let summary = [context, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            diagnostic = .error("world-syntax", summary.isEmpty ? "invalid YAML" : summary, at: at,
                                hint: "fix the YAML syntax at this position")
        case .anchor(let count):
            diagnostic = .error("world-anchor", "YAML anchors are not allowed in a world file", at: at,
                                detail: count > 1 ? "the file has \(count) anchors; only the first is shown" : nil,
                                hint: "write the value out in full where it is needed")
        case .alias(let count):
            diagnostic = .error("world-anchor", "YAML aliases are not allowed in a world file", at: at,
                                detail: count > 1 ? "the file has \(count) aliases; only the first is shown" : nil,
                                hint: "write the value out in full where it is needed")
        case .tag:
            diagnostic = .error("world-tag", "YAML tags are not allowed in a world file", at: at,
                                hint: "remove the tag; values take their type from the field")
        case .mergeKey:
            diagnostic = .error("world-anchor", "YAML merge keys ('<<') are not allowed in a world file", at: at,
                                hint: "write the fields out in full")
        case .nonScalarKey:
            diagnostic = .error("world-type", "keys must be plain strings", at: at)
        case .duplicateKey(let key, let first):
            diagnostic = .error("world-duplicate-key", "duplicate key: \(key)", at: at,
                                detail: "the first is at \(location(first))", hint: "each key may appear once in a mapping")
        case .tooDeep(let limit):
            diagnostic = .error("world-limit", "the YAML nests deeper than \(limit) levels", at: at,
                                detail: "coffer stops reading the file here; no world file needs more than a few levels",
                                hint: "remove the excess nesting")
        case .tooManyNodes(let limit):
            diagnostic = .error("world-limit", "more than \(limit) YAML nodes in the world file", at: at,
                                detail: "coffer stops reading the file here", hint: "check that this is the right file")
        case .tooManyDocuments:
            diagnostic = .error("world-syntax", "expected a single document in the stream, but found another document",
                                at: at, hint: "a world file holds exactly one YAML document")
        case .parserUnavailable:
            diagnostic = .error("world-syntax", "the YAML parser could not be initialised (out of memory)", at: at,
                                hint: "retry with more memory available")
        }
        report(diagnostic)
    }

    // MARK: Typed access

    /// The text of a scalar node; nil for a collection or a refused node.
    static func text(_ node: YAMLNode) -> String? {
        if case .scalar(let text, _) = node.content { return text }
        return nil
    }

    /// Whether the composer refused the node (and reported why).
    static func isRefused(_ node: YAMLNode) -> Bool {
        if case .refused = node.content { return true }
        return false
    }

    /// The pairs of a mapping by key, reporting unknown keys and a node that is not a mapping.
    mutating func fields(_ node: YAMLNode, path: String, allowed: [String]) -> [String: YAMLNode]? {
        guard let entries = node.entries else {
            if !Self.isRefused(node) {
                error("world-type", "\(path.isEmpty ? "the world" : "'\(path)'") must be a mapping", at: node)
            }
            return nil
        }
        var result: [String: YAMLNode] = [:]
        for entry in entries {
            let name = entry.key
            guard allowed.contains(name) else {
                let suggestion = allowed.min { editDistance($0, name) < editDistance($1, name) }
                let hint = suggestion.flatMap { editDistance($0, name) <= 3 ? "did you mean '\($0)'?" : nil }
                    ?? "allowed here: \(allowed.joined(separator: ", "))"
                error("world-unknown-field", "unknown field '\(name)'\(path.isEmpty ? "" : " in '\(path)'")",
                      at: entry.keyMark, hint: hint)
                continue
            }
            result[name] = entry.value
            locations[join(path, name)] = location(entry.value)
        }
        return result
    }

    func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    mutating func required(_ fields: [String: YAMLNode], _ name: String, in node: YAMLNode, path: String) -> YAMLNode? {
        if let value = fields[name] { return value }
        error("world-missing-field", "missing field '\(name)'\(path.isEmpty ? "" : " in '\(path)'")", at: node,
              hint: "add '\(name):'")
        return nil
    }

    mutating func string(_ node: YAMLNode?, path: String) -> String? {
        guard let node, !Self.isRefused(node) else { return nil }
        guard let text = Self.text(node) else {
            error("world-type", "'\(path)' must be a string", at: node)
            return nil
        }
        return text
    }

    mutating func int(_ node: YAMLNode?, path: String) -> Int? {
        guard let node, !Self.isRefused(node) else { return nil }
        guard let text = Self.text(node), let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            error("world-type", "'\(path)' must be an integer", at: node)
            return nil
        }
        return value
    }

    mutating func uint64(_ node: YAMLNode?, path: String) -> UInt64? {
        guard let node, !Self.isRefused(node) else { return nil }
        guard let text = Self.text(node), let value = parseSize(text) else {
            error("world-type", "'\(path)' must be a non-negative integer (bytes; suffixes K, M, G allowed)", at: node)
            return nil
        }
        return value
    }

    mutating func bool(_ node: YAMLNode?, path: String) -> Bool? {
        guard let node, !Self.isRefused(node) else { return nil }
        guard let text = Self.text(node) else {
            error("world-type", "'\(path)' must be true or false", at: node)
            return nil
        }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            error("world-type", "'\(path)' must be true or false, not '\(text)'", at: node)
            return nil
        }
    }

    mutating func sequence(_ node: YAMLNode?, path: String) -> [YAMLNode]? {
        guard let node, !Self.isRefused(node) else { return nil }
        if let text = Self.text(node), text.isEmpty || text == "null" || text == "~" {
            return []
        }
        guard let items = node.items else {
            error("world-type", "'\(path)' must be a list", at: node)
            return nil
        }
        return items
    }

    mutating func stringMap(_ node: YAMLNode?, path: String) -> [String: String]? {
        guard let node, !Self.isRefused(node) else { return nil }
        guard let entries = node.entries else {
            error("world-type", "'\(path)' must be a mapping of strings", at: node)
            return nil
        }
        var result: [String: String] = [:]
        for entry in entries where !Self.isRefused(entry.value) {
            guard let text = Self.text(entry.value) else {
                error("world-type", "'\(path)' must map strings to strings", at: entry.keyMark)
                continue
            }
            result[entry.key] = text
        }
        return result
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: YAMLNode?, path: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path: path), let node else { return nil }
        if let value = E.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return value }
        error("world-invalid-value", "'\(text)' is not a valid \(path.split(separator: ".").last.map(String.init) ?? path)",
              at: node, hint: "use one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }

    // MARK: The world

    mutating func world(_ root: YAMLNode) -> World? {
        let allowed = ["tenant", "clock", "operator", "subscriptions", "regions", "resourceGroups", "roleDefinitions", "keyVaults",
                       "diskEncryptionSets", "virtualMachines"]
        guard let top = fields(root, path: "", allowed: allowed) else { return nil }
        let tenant = string(required(top, "tenant", in: root, path: ""), path: "tenant")
        var clock = World.defaultClock
        if let node = top["clock"], let text = string(node, path: "clock") {
            if let date = parseISO8601(text) {
                clock = date
            } else {
                error("world-invalid-value", "'\(text)' is not an ISO 8601 time", at: node,
                      hint: "write it like 2026-01-05T00:00:00Z")
            }
        }
        let identity = operatorIdentity(required(top, "operator", in: root, path: ""))
        var subscriptions: [World.Subscription] = []
        for (index, node) in (sequence(required(top, "subscriptions", in: root, path: ""), path: "subscriptions") ?? []).enumerated() {
            if let value = subscription(node, path: "subscriptions[\(index)]") { subscriptions.append(value) }
        }
        var regions: [String] = []
        for (index, node) in (sequence(required(top, "regions", in: root, path: ""), path: "regions") ?? []).enumerated() {
            let path = "regions[\(index)]"
            locations[path] = location(node)
            if let name = string(node, path: path) { regions.append(name) }
        }
        var groups: [World.ResourceGroup] = []
        for (index, node) in (sequence(top["resourceGroups"], path: "resourceGroups") ?? []).enumerated() {
            if let value = resourceGroup(node, path: "resourceGroups[\(index)]") { groups.append(value) }
        }
        var roles: [RoleDefinition] = []
        for (index, node) in (sequence(top["roleDefinitions"], path: "roleDefinitions") ?? []).enumerated() {
            if let value = roleDefinition(node, path: "roleDefinitions[\(index)]") { roles.append(value) }
        }
        var keyVaults: [World.KeyVault] = []
        for (index, node) in (sequence(top["keyVaults"], path: "keyVaults") ?? []).enumerated() {
            if let value = keyVault(node, path: "keyVaults[\(index)]") { keyVaults.append(value) }
        }
        var sets: [World.DiskEncryptionSet] = []
        for (index, node) in (sequence(top["diskEncryptionSets"], path: "diskEncryptionSets") ?? []).enumerated() {
            if let value = diskEncryptionSet(node, path: "diskEncryptionSets[\(index)]") { sets.append(value) }
        }
        var vms: [World.VirtualMachine] = []
        for (index, node) in (sequence(top["virtualMachines"], path: "virtualMachines") ?? []).enumerated() {
            if let value = virtualMachine(node, path: "virtualMachines[\(index)]") { vms.append(value) }
        }
        guard let tenant, let identity else { return nil }
        return World(tenant: tenant, clock: clock, operatorIdentity: identity, subscriptions: subscriptions,
                     regions: regions, resourceGroups: groups, roleDefinitions: roles, keyVaults: keyVaults, diskEncryptionSets: sets,
                     virtualMachines: vms)
    }

    mutating func operatorIdentity(_ node: YAMLNode?) -> World.OperatorIdentity? {
        guard let node, let f = fields(node, path: "operator", allowed: ["user", "type", "objectId"]) else { return nil }
        let user = string(required(f, "user", in: node, path: "operator"), path: "operator.user")
        let type = enumeration(required(f, "type", in: node, path: "operator"), path: "operator.type", World.OperatorType.self)
        let objectID = string(f["objectId"], path: "operator.objectId")
        guard let user, let type else { return nil }
        return World.OperatorIdentity(user: user, type: type, objectID: objectID)
    }

    mutating func subscription(_ node: YAMLNode, path: String) -> World.Subscription? {
        guard let f = fields(node, path: path, allowed: ["name", "id", "default"]) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let id = string(required(f, "id", in: node, path: path), path: "\(path).id")
        let isDefault = bool(f["default"], path: "\(path).default") ?? false
        guard let name, let id else { return nil }
        return World.Subscription(name: name, id: id, isDefault: isDefault)
    }

    mutating func resourceGroup(_ node: YAMLNode, path: String) -> World.ResourceGroup? {
        guard let f = fields(node, path: path, allowed: ["name", "region", "subscription"]) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        let subscription = string(f["subscription"], path: "\(path).subscription")
        guard let name, let region else { return nil }
        return World.ResourceGroup(name: name, region: region, subscription: subscription)
    }

    mutating func keyVault(_ node: YAMLNode, path: String) -> World.KeyVault? {
        let allowed = ["name", "resourceGroup", "region", "subscription", "enabledForDiskEncryption", "softDelete",
                       "softDeleteRetentionDays", "purgeProtection", "rbacAuthorization", "keys", "secrets", "accessPolicies",
                       "roleAssignments"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let group = string(required(f, "resourceGroup", in: node, path: path), path: "\(path).resourceGroup")
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        var vault = World.KeyVault(name: name ?? "", resourceGroup: group ?? "", region: region ?? "")
        vault.subscription = string(f["subscription"], path: "\(path).subscription")
        vault.enabledForDiskEncryption = bool(f["enabledForDiskEncryption"], path: "\(path).enabledForDiskEncryption") ?? false
        vault.softDelete = bool(f["softDelete"], path: "\(path).softDelete") ?? true
        vault.softDeleteRetentionDays = int(f["softDeleteRetentionDays"], path: "\(path).softDeleteRetentionDays") ?? 90
        vault.purgeProtection = bool(f["purgeProtection"], path: "\(path).purgeProtection") ?? false
        vault.rbacAuthorization = bool(f["rbacAuthorization"], path: "\(path).rbacAuthorization") ?? false
        for (index, item) in (sequence(f["keys"], path: "\(path).keys") ?? []).enumerated() {
            let keyPath = "\(path).keys[\(index)]"
            guard let k = fields(item, path: keyPath, allowed: ["name", "type", "size", "certificateBacked", "tags"]) else { continue }
            let keyName = string(required(k, "name", in: item, path: keyPath), path: "\(keyPath).name")
            var key = World.Key(name: keyName ?? "")
            key.keyType = string(k["type"], path: "\(keyPath).type") ?? "RSA"
            key.size = int(k["size"], path: "\(keyPath).size") ?? 2048
            key.certificateBacked = bool(k["certificateBacked"], path: "\(keyPath).certificateBacked") ?? false
            key.tags = stringMap(k["tags"], path: "\(keyPath).tags") ?? [:]
            if keyName != nil { vault.keys.append(key) }
        }
        for (index, item) in (sequence(f["secrets"], path: "\(path).secrets") ?? []).enumerated() {
            let secretPath = "\(path).secrets[\(index)]"
            guard let s = fields(item, path: secretPath, allowed: ["name", "value", "contentType", "tags"]) else { continue }
            let secretName = string(required(s, "name", in: item, path: secretPath), path: "\(secretPath).name")
            let value = string(required(s, "value", in: item, path: secretPath), path: "\(secretPath).value")
            let contentType = string(s["contentType"], path: "\(secretPath).contentType")
            let tags = stringMap(s["tags"], path: "\(secretPath).tags") ?? [:]
            if let secretName, let value {
                vault.secrets.append(World.Secret(name: secretName, value: value, contentType: contentType, tags: tags))
            }
        }
        for (index, item) in (sequence(f["accessPolicies"], path: "\(path).accessPolicies") ?? []).enumerated() {
            if let policy = accessPolicy(item, path: "\(path).accessPolicies[\(index)]") { vault.accessPolicies.append(policy) }
        }
        for (index, item) in (sequence(f["roleAssignments"], path: "\(path).roleAssignments") ?? []).enumerated() {
            if let assignment = roleAssignment(item, path: "\(path).roleAssignments[\(index)]") { vault.roleAssignments.append(assignment) }
        }
        guard name != nil, group != nil, region != nil else { return nil }
        return vault
    }

    mutating func accessPolicy(_ node: YAMLNode, path: String) -> World.AccessPolicy? {
        guard let f = fields(node, path: path, allowed: ["principal", "objectId", "keyPermissions", "secretPermissions"])
        else { return nil }
        let principal = self.principal(f, in: node, path: path)
        var keys: [KeyPermission] = []
        for (index, item) in (sequence(f["keyPermissions"], path: "\(path).keyPermissions") ?? []).enumerated() {
            let itemPath = "\(path).keyPermissions[\(index)]"
            if let value = enumeration(item, path: itemPath, KeyPermission.self) { keys.append(value) }
        }
        var secrets: [SecretPermission] = []
        for (index, item) in (sequence(f["secretPermissions"], path: "\(path).secretPermissions") ?? []).enumerated() {
            let itemPath = "\(path).secretPermissions[\(index)]"
            if let value = enumeration(item, path: itemPath, SecretPermission.self) { secrets.append(value) }
        }
        guard let principal else { return nil }
        return World.AccessPolicy(principal: principal, keyPermissions: keys, secretPermissions: secrets)
    }

    mutating func roleAssignment(_ node: YAMLNode, path: String) -> World.RoleAssignment? {
        guard let f = fields(node, path: path, allowed: ["principal", "objectId", "role"]) else { return nil }
        let principal = self.principal(f, in: node, path: path)
        let role = string(required(f, "role", in: node, path: path), path: "\(path).role")
        guard let principal, let role else { return nil }
        return World.RoleAssignment(principal: principal, role: role)
    }

    mutating func roleDefinition(_ node: YAMLNode, path: String) -> RoleDefinition? {
        guard let f = fields(node, path: path, allowed: ["name", "id", "dataActions", "notDataActions"]) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let id = string(required(f, "id", in: node, path: path), path: "\(path).id")
        var actions: [String: [String]] = [:]
        for field in ["dataActions", "notDataActions"] {
            let listNode = field == "dataActions" ? required(f, field, in: node, path: path) : f[field]
            for (index, item) in (sequence(listNode, path: "\(path).\(field)") ?? []).enumerated() {
                let itemPath = "\(path).\(field)[\(index)]"
                locations[itemPath] = location(item)
                if let action = string(item, path: itemPath) { actions[field, default: []].append(action) }
            }
        }
        guard let name, let id, f["dataActions"] != nil else { return nil }
        return RoleDefinition(id: id, name: name, dataActions: actions["dataActions"] ?? [], notDataActions: actions["notDataActions"] ?? [])
    }

    /// The principal of an access policy or a role assignment: exactly one of `principal` (a name the world
    /// knows) and `objectId`.
    mutating func principal(_ f: [String: YAMLNode], in node: YAMLNode, path: String) -> World.AccessPrincipal? {
        var principal: World.AccessPrincipal?
        switch (f["principal"], f["objectId"]) {
        case (let p?, nil):
            switch string(p, path: "\(path).principal")?.lowercased() {
            case "backupmanagementservice", "backup management service": principal = .backupManagementService
            case "operator": principal = .operatorIdentity
            case let other?:
                error("world-invalid-value", "unknown principal '\(other)'", at: p,
                      hint: "use BackupManagementService or operator, or give 'objectId' instead")
            case nil: break
            }
        case (nil, let o?):
            if let id = string(o, path: "\(path).objectId") { principal = .objectID(id.lowercased()) }
        case (_?, _?):
            error("world-invalid-value", "give 'principal' or 'objectId', not both", at: node)
        case (nil, nil):
            error("world-missing-field", "missing field 'principal' or 'objectId' in '\(path)'", at: node,
                  hint: "add 'principal: BackupManagementService' or 'objectId: <GUID>'")
        }
        return principal
    }

    mutating func diskEncryptionSet(_ node: YAMLNode, path: String) -> World.DiskEncryptionSet? {
        let allowed = ["name", "resourceGroup", "region", "subscription", "keyVault", "key"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let group = string(required(f, "resourceGroup", in: node, path: path), path: "\(path).resourceGroup")
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        let subscription = string(f["subscription"], path: "\(path).subscription")
        let keyVault = string(required(f, "keyVault", in: node, path: path), path: "\(path).keyVault")
        let key = string(required(f, "key", in: node, path: path), path: "\(path).key")
        guard let name, let group, let region, let keyVault, let key else { return nil }
        return World.DiskEncryptionSet(name: name, resourceGroup: group, region: region, subscription: subscription,
                                       keyVault: keyVault, key: key)
    }

    mutating func disk(_ node: YAMLNode, path: String, isOS: Bool) -> World.Disk? {
        let allowed = isOS ? ["sizeGiB", "managed"] : ["lun", "sizeGiB", "managed"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let lun = isOS ? nil : int(required(f, "lun", in: node, path: path), path: "\(path).lun")
        let size = int(required(f, "sizeGiB", in: node, path: path), path: "\(path).sizeGiB")
        let managed = bool(f["managed"], path: "\(path).managed") ?? true
        guard let size, isOS || lun != nil else { return nil }
        return World.Disk(lun: lun, sizeGiB: size, managed: managed)
    }

    mutating func virtualMachine(_ node: YAMLNode, path: String) -> World.VirtualMachine? {
        let allowed = ["name", "os", "region", "resourceGroup", "subscription", "agent", "securityType", "osDisk", "dataDisks",
                       "encryption", "initialData"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let os = enumeration(required(f, "os", in: node, path: path), path: "\(path).os", World.OperatingSystem.self)
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        let group = string(required(f, "resourceGroup", in: node, path: path), path: "\(path).resourceGroup")
        let subscription = string(f["subscription"], path: "\(path).subscription")
        let agent = f["agent"].map { enumeration($0, path: "\(path).agent", World.AgentState.self) } ?? .running
        let securityType = f["securityType"].map { enumeration($0, path: "\(path).securityType", VMSecurityType.self) } ?? .standard
        let osDisk = required(f, "osDisk", in: node, path: path).flatMap { disk($0, path: "\(path).osDisk", isOS: true) }
        var dataDisks: [World.Disk] = []
        for (index, item) in (sequence(f["dataDisks"], path: "\(path).dataDisks") ?? []).enumerated() {
            if let value = disk(item, path: "\(path).dataDisks[\(index)]", isOS: false) { dataDisks.append(value) }
        }
        var encryption: World.Encryption? = .ssePlatformKey
        if let node = f["encryption"] { encryption = self.encryption(node, path: "\(path).encryption") }
        var initialData: [World.InitialData] = []
        for (index, item) in (sequence(f["initialData"], path: "\(path).initialData") ?? []).enumerated() {
            let itemPath = "\(path).initialData[\(index)]"
            guard let d = fields(item, path: itemPath, allowed: ["disk", "offset", "length", "seed"]) else { continue }
            var slot: DiskSlot?
            if let diskNode = required(d, "disk", in: item, path: itemPath), let text = string(diskNode, path: "\(itemPath).disk") {
                slot = DiskSlot(parsing: text)
                if slot == nil {
                    error("world-invalid-value", "'\(text)' is not a disk", at: diskNode, hint: "use 'os' or a data disk's LUN")
                }
            }
            let offset = uint64(required(d, "offset", in: item, path: itemPath), path: "\(itemPath).offset")
            let length = uint64(required(d, "length", in: item, path: itemPath), path: "\(itemPath).length")
            let seed = uint64(d["seed"], path: "\(itemPath).seed") ?? 0
            if let slot, let offset, let length {
                initialData.append(World.InitialData(disk: slot, offset: offset, length: length, seed: seed))
            }
        }
        guard let name, let os, let region, let group, let agent, let securityType, let osDisk, let encryption else { return nil }
        return World.VirtualMachine(name: name, os: os, region: region, resourceGroup: group, subscription: subscription,
                                    agent: agent, osDisk: osDisk, dataDisks: dataDisks, encryption: encryption,
                                    initialData: initialData, securityType: securityType)
    }

    mutating func encryption(_ node: YAMLNode, path: String) -> World.Encryption? {
        guard let f = fields(node, path: path, allowed: ["type", "diskEncryptionSet", "keyVault", "kek", "aadClientId"])
        else { return nil }
        guard let typeNode = required(f, "type", in: node, path: path), let type = string(typeNode, path: "\(path).type")
        else { return nil }
        func forbid(_ names: [String]) {
            for name in names {
                if let extra = f[name] {
                    error("world-invalid-value", "'\(name)' does not apply to encryption type '\(type)'", at: extra,
                          hint: "remove it")
                }
            }
        }
        switch type.lowercased() {
        case "sse-pmk":
            forbid(["diskEncryptionSet", "keyVault", "kek", "aadClientId"])
            return .ssePlatformKey
        case "sse-cmk":
            forbid(["keyVault", "kek", "aadClientId"])
            guard let set = string(required(f, "diskEncryptionSet", in: node, path: path), path: "\(path).diskEncryptionSet")
            else { return nil }
            return .sseCustomerKey(diskEncryptionSet: set)
        case "ade":
            forbid(["diskEncryptionSet"])
            guard let vault = string(required(f, "keyVault", in: node, path: path), path: "\(path).keyVault") else { return nil }
            let kek = string(f["kek"], path: "\(path).kek")
            let aad = string(f["aadClientId"], path: "\(path).aadClientId")
            return .ade(keyVault: vault, kek: kek, aadClientID: aad)
        default:
            error("world-invalid-value", "'\(type)' is not an encryption type", at: typeNode,
                  hint: "use sse-pmk, sse-cmk or ade")
            return nil
        }
    }
}

/// Parses a byte count with an optional binary suffix: `4096`, `64K`, `1M`, `2G` (K = 1024).
func parseSize(_ text: String) -> UInt64? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
    guard let last = trimmed.last else { return nil }
    let multipliers: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    if let multiplier = multipliers[Character(last.uppercased())] {
        guard let value = UInt64(trimmed.dropLast()) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
    if trimmed.hasSuffix("iB") { return parseSize(String(trimmed.dropLast(2))) }
    if trimmed.hasSuffix("B") { return parseSize(String(trimmed.dropLast())) }
    return UInt64(trimmed)
}

/// Parses an ISO 8601 time such as `2026-01-05T00:00:00Z` (fractional seconds and offsets accepted) or a
/// date `2026-01-05` (midnight UTC).
func parseISO8601(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withFullDate]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.date(from: text)
}

/// Formats a time as ISO 8601 in UTC, to the second.
func formatISO8601(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

/// The Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.lowercased()), b = Array(b.lowercased())
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
