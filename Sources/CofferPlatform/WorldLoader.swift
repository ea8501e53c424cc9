import CofferModel
import Foundation
import Yams

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
/// The file is composed into nodes (never decoded blindly): unknown fields, wrong types, anchors, aliases
/// and tags are refused, then the world's rules (references, regions, sizes, the service's limits) are
/// checked by ``WorldValidator``.
public enum WorldLoader {
    /// Loads and validates the world file at `path`.
    public static func load(path: String) throws -> World {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw WorldError(diagnostics: [
                .error("world-unreadable", "cannot read the world file '\(path)': \(error.localizedDescription)",
                       hint: "check the path and its permissions")
            ])
        }
        return try load(text: text, file: path)
    }

    /// Loads and validates a world from YAML text; `file` names it in diagnostics.
    public static func load(text: String, file: String) throws -> World {
        var reader = NodeReader(file: file, text: text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw WorldError(diagnostics: [reader.syntaxDiagnostic(error)])
        }
        guard let root else {
            throw WorldError(diagnostics: [
                .error("world-empty", "the world file is empty", at: SourceLocation(file: file, line: 1, column: 1),
                       hint: "see the CofferPlatform README for the world file format")
            ])
        }
        reader.refuseAnchorsAndTags()
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

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    mutating func error(_ code: String, _ summary: String, at node: Node, hint: String? = nil) {
        report(.error(code, summary, at: location(node), hint: hint))
    }

    mutating func report(_ diagnostic: Diagnostic) {
        var diagnostic = diagnostic
        if let line = diagnostic.location?.line, line >= 1, line <= lines.count {
            diagnostic.sourceLine = lines[line - 1]
        }
        diagnostics.append(diagnostic)
    }

    mutating func syntaxDiagnostic(_ error: YamlError) -> Diagnostic {
        var diagnostic: Diagnostic
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let summary = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            diagnostic = .error("world-syntax", summary.isEmpty ? "invalid YAML" : summary,
                                at: SourceLocation(file: file, line: mark.line, column: mark.column),
                                hint: "fix the YAML syntax at this position")
        case let .composer(_, problem, mark, _):
            diagnostic = .error("world-syntax", problem, at: SourceLocation(file: file, line: mark.line, column: mark.column),
                                hint: "a world file holds exactly one YAML document")
        case let .duplicatedKeysInMapping(duplicates, context):
            diagnostic = .error("world-duplicate-key", "duplicate key: \(duplicates.joined(separator: ", "))",
                                at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                                hint: "each key may appear once in a mapping")
        default:
            diagnostic = .error("world-syntax", "invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        if let line = diagnostic.location?.line, line >= 1, line <= lines.count { diagnostic.sourceLine = lines[line - 1] }
        return diagnostic
    }

    /// Anchors, aliases and explicit tags have no place in a world file: refuse each one where it is written.
    /// Yams resolves aliases and tags while composing, so they are found by scanning the text for `&`, `*`
    /// and `!` where a node starts (a plain scalar cannot start with any of them).
    mutating func refuseAnchorsAndTags() {
        for (line, column, indicator) in Self.indicatorPositions(in: lines) {
            let location = SourceLocation(file: file, line: line, column: column)
            if indicator == "!" {
                report(.error("world-tag", "YAML tags are not allowed in a world file", at: location,
                              hint: "remove the tag; values take their type from the field"))
            } else {
                report(.error("world-anchor", "YAML \(indicator == "&" ? "anchors" : "aliases") are not allowed in a world file",
                              at: location, hint: "write the value out in full where it is needed"))
            }
        }
    }

    /// The 1-based positions of `!`, `&` and `*` at the start of a node, outside quotes, comments and block
    /// scalars.
    static func indicatorPositions(in lines: [String]) -> [(Int, Int, Character)] {
        var found: [(Int, Int, Character)] = []
        var quote: Character?
        var blockIndent: Int?
        for (index, text) in lines.enumerated() {
            let characters = Array(text)
            let indent = characters.prefix { $0 == " " }.count
            if let block = blockIndent {
                if characters.allSatisfy({ $0 == " " }) || indent > block { continue }
                blockIndent = nil
            }
            var tokenStart = quote == nil
            var previous: Character = " "
            var position = 0
            while position < characters.count {
                let c = characters[position]
                if let open = quote {
                    if c == open {
                        if open == "'" && position + 1 < characters.count && characters[position + 1] == "'" {
                            position += 2
                            continue
                        }
                        quote = nil
                    } else if c == "\\" && open == "\"" {
                        position += 1
                    }
                } else if c == "#" && (previous == " " || position == 0) {
                    break
                } else if c == "\"" || c == "'" {
                    if tokenStart { quote = c }
                    tokenStart = false
                } else if (c == "!" || c == "&" || c == "*") && tokenStart {
                    found.append((index + 1, position + 1, c))
                    tokenStart = false
                } else if c == " " || c == "\t" {
                    // Spaces keep the token-start state.
                } else if c == "[" || c == "{" || c == "," {
                    tokenStart = true
                } else if (c == ":" || c == "-" || c == "?") && (position + 1 == characters.count || characters[position + 1] == " ") {
                    tokenStart = true
                } else if (c == "|" || c == ">") && tokenStart {
                    let rest = characters[(position + 1)...].filter { $0 != " " }
                    if rest.allSatisfy({ "+-0123456789".contains($0) }) || rest.first == "#" { blockIndent = indent }
                    tokenStart = false
                } else {
                    tokenStart = false
                }
                previous = c
                position += 1
            }
        }
        return found
    }

    // MARK: Typed access

    /// The pairs of a mapping by key, reporting unknown keys and a node that is not a mapping.
    mutating func fields(_ node: Node, path: String, allowed: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            error("world-type", "\(path.isEmpty ? "the world" : "'\(path)'") must be a mapping", at: node)
            return nil
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                error("world-type", "keys must be plain strings", at: key)
                continue
            }
            guard allowed.contains(name) else {
                let suggestion = allowed.min { editDistance($0, name) < editDistance($1, name) }
                let hint = suggestion.flatMap { editDistance($0, name) <= 3 ? "did you mean '\($0)'?" : nil }
                    ?? "allowed here: \(allowed.joined(separator: ", "))"
                error("world-unknown-field", "unknown field '\(name)'\(path.isEmpty ? "" : " in '\(path)'")", at: key,
                      hint: hint)
                continue
            }
            result[name] = value
            locations[join(path, name)] = location(value)
        }
        return result
    }

    func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    mutating func required(_ fields: [String: Node], _ name: String, in node: Node, path: String) -> Node? {
        if let value = fields[name] { return value }
        error("world-missing-field", "missing field '\(name)'\(path.isEmpty ? "" : " in '\(path)'")", at: node,
              hint: "add '\(name):'")
        return nil
    }

    mutating func string(_ node: Node?, path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error("world-type", "'\(path)' must be a string", at: node)
            return nil
        }
        return scalar.string
    }

    mutating func int(_ node: Node?, path: String) -> Int? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            error("world-type", "'\(path)' must be an integer", at: node)
            return nil
        }
        return value
    }

    mutating func uint64(_ node: Node?, path: String) -> UInt64? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = parseSize(scalar.string) else {
            error("world-type", "'\(path)' must be a non-negative integer (bytes; suffixes K, M, G allowed)", at: node)
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node?, path: String) -> Bool? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error("world-type", "'\(path)' must be true or false", at: node)
            return nil
        }
        switch scalar.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            error("world-type", "'\(path)' must be true or false, not '\(scalar.string)'", at: node)
            return nil
        }
    }

    mutating func sequence(_ node: Node?, path: String) -> [Node]? {
        guard let node else { return nil }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" {
            return []
        }
        guard case .sequence(let sequence) = node else {
            error("world-type", "'\(path)' must be a list", at: node)
            return nil
        }
        return Array(sequence)
    }

    mutating func stringMap(_ node: Node?, path: String) -> [String: String]? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            error("world-type", "'\(path)' must be a mapping of strings", at: node)
            return nil
        }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string, let text = value.scalar?.string else {
                error("world-type", "'\(path)' must map strings to strings", at: key)
                continue
            }
            result[name] = text
        }
        return result
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node?, path: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path: path), let node else { return nil }
        if let value = E.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return value }
        error("world-invalid-value", "'\(text)' is not a valid \(path.split(separator: ".").last.map(String.init) ?? path)",
              at: node, hint: "use one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }

    // MARK: The world

    mutating func world(_ root: Node) -> World? {
        let allowed = ["tenant", "clock", "operator", "subscriptions", "regions", "resourceGroups", "keyVaults",
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
                     regions: regions, resourceGroups: groups, keyVaults: keyVaults, diskEncryptionSets: sets,
                     virtualMachines: vms)
    }

    mutating func operatorIdentity(_ node: Node?) -> World.OperatorIdentity? {
        guard let node, let f = fields(node, path: "operator", allowed: ["user", "type", "objectId"]) else { return nil }
        let user = string(required(f, "user", in: node, path: "operator"), path: "operator.user")
        let type = enumeration(required(f, "type", in: node, path: "operator"), path: "operator.type", World.OperatorType.self)
        let objectID = string(f["objectId"], path: "operator.objectId")
        guard let user, let type else { return nil }
        return World.OperatorIdentity(user: user, type: type, objectID: objectID)
    }

    mutating func subscription(_ node: Node, path: String) -> World.Subscription? {
        guard let f = fields(node, path: path, allowed: ["name", "id", "default"]) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let id = string(required(f, "id", in: node, path: path), path: "\(path).id")
        let isDefault = bool(f["default"], path: "\(path).default") ?? false
        guard let name, let id else { return nil }
        return World.Subscription(name: name, id: id, isDefault: isDefault)
    }

    mutating func resourceGroup(_ node: Node, path: String) -> World.ResourceGroup? {
        guard let f = fields(node, path: path, allowed: ["name", "region", "subscription"]) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        let subscription = string(f["subscription"], path: "\(path).subscription")
        guard let name, let region else { return nil }
        return World.ResourceGroup(name: name, region: region, subscription: subscription)
    }

    mutating func keyVault(_ node: Node, path: String) -> World.KeyVault? {
        let allowed = ["name", "resourceGroup", "region", "subscription", "enabledForDiskEncryption", "softDelete",
                       "softDeleteRetentionDays", "purgeProtection", "keys", "secrets", "accessPolicies"]
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
        guard name != nil, group != nil, region != nil else { return nil }
        return vault
    }

    mutating func accessPolicy(_ node: Node, path: String) -> World.AccessPolicy? {
        guard let f = fields(node, path: path, allowed: ["principal", "objectId", "keyPermissions", "secretPermissions"])
        else { return nil }
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

    mutating func diskEncryptionSet(_ node: Node, path: String) -> World.DiskEncryptionSet? {
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

    mutating func disk(_ node: Node, path: String, isOS: Bool) -> World.Disk? {
        let allowed = isOS ? ["sizeGiB", "managed"] : ["lun", "sizeGiB", "managed"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let lun = isOS ? nil : int(required(f, "lun", in: node, path: path), path: "\(path).lun")
        let size = int(required(f, "sizeGiB", in: node, path: path), path: "\(path).sizeGiB")
        let managed = bool(f["managed"], path: "\(path).managed") ?? true
        guard let size, isOS || lun != nil else { return nil }
        return World.Disk(lun: lun, sizeGiB: size, managed: managed)
    }

    mutating func virtualMachine(_ node: Node, path: String) -> World.VirtualMachine? {
        let allowed = ["name", "os", "region", "resourceGroup", "subscription", "agent", "osDisk", "dataDisks",
                       "encryption", "initialData"]
        guard let f = fields(node, path: path, allowed: allowed) else { return nil }
        let name = string(required(f, "name", in: node, path: path), path: "\(path).name")
        let os = enumeration(required(f, "os", in: node, path: path), path: "\(path).os", World.OperatingSystem.self)
        let region = string(required(f, "region", in: node, path: path), path: "\(path).region")
        let group = string(required(f, "resourceGroup", in: node, path: path), path: "\(path).resourceGroup")
        let subscription = string(f["subscription"], path: "\(path).subscription")
        let agent = f["agent"].map { enumeration($0, path: "\(path).agent", World.AgentState.self) } ?? .running
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
        guard let name, let os, let region, let group, let agent, let osDisk, let encryption else { return nil }
        return World.VirtualMachine(name: name, os: os, region: region, resourceGroup: group, subscription: subscription,
                                    agent: agent, osDisk: osDisk, dataDisks: dataDisks, encryption: encryption,
                                    initialData: initialData)
    }

    mutating func encryption(_ node: Node, path: String) -> World.Encryption? {
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
