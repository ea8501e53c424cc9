import CofferModel
import CofferRules
import Foundation

/// Checks a world against the platform's rules: names, references, regions, disk limits, and the
/// encryption prerequisites of the real service. Collects every problem as a diagnostic.
struct WorldValidator {
    let world: World
    let locations: [String: SourceLocation]
    let sourceLines: [String]
    var diagnostics: [Diagnostic] = []

    /// The largest disk: 32 TiB less one GiB (32,767 GiB).
    static let maximumDiskGiB = 32_767
    /// The largest total of a VM's disks: 256 TB.
    static let maximumVMGiB = 256 * 1024

    init(world: World, locations: [String: SourceLocation] = [:], sourceLines: [String] = []) {
        self.world = world
        self.locations = locations
        self.sourceLines = sourceLines
    }

    /// The location of `path`, else of the nearest enclosing path that has one.
    func location(_ path: String) -> SourceLocation? {
        var current = path
        while !current.isEmpty {
            if let found = locations[current] { return found }
            if let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) {
                current = String(current[..<cut])
            } else {
                break
            }
        }
        return locations[current]
    }

    mutating func error(_ code: String, _ summary: String, at path: String, hint: String? = nil) {
        var diagnostic = Diagnostic.error(code, summary, at: location(path), hint: hint)
        if let line = diagnostic.location?.line, line >= 1, line <= sourceLines.count {
            diagnostic.sourceLine = sourceLines[line - 1]
        }
        diagnostics.append(diagnostic)
    }

    func subscriptionExists(_ name: String?) -> Bool {
        guard let name else { return world.defaultSubscription != nil }
        return world.subscriptions.contains { $0.name == name || $0.id.lowercased() == name.lowercased() }
    }

    func subscriptionName(_ name: String?) -> String? {
        guard let name else { return world.defaultSubscription?.name }
        return world.subscriptions.first { $0.name == name || $0.id.lowercased() == name.lowercased() }?.name
    }

    mutating func validate() {
        if world.tenant.isEmpty { error("world-invalid-value", "the tenant name is empty", at: "tenant") }
        if let id = world.operatorIdentity.objectID, !Naming.isGUID(id) {
            error("world-invalid-value", "the operator's object id '\(id)' is not a GUID", at: "operator.objectId")
        }
        if world.operatorIdentity.user.isEmpty { error("world-invalid-value", "the operator's user is empty", at: "operator.user") }
        validateSubscriptions()
        validateRegions()
        validateResourceGroups()
        validateRoleDefinitions()
        validateKeyVaults()
        validateDiskEncryptionSets()
        validateVirtualMachines()
    }

    mutating func validateSubscriptions() {
        if world.subscriptions.isEmpty {
            error("world-missing-field", "the world needs at least one subscription", at: "subscriptions")
        }
        var names = Set<String>(), ids = Set<String>()
        for (index, subscription) in world.subscriptions.enumerated() {
            let path = "subscriptions[\(index)]"
            if subscription.name.isEmpty { error("world-invalid-value", "a subscription name is empty", at: "\(path).name") }
            if !names.insert(subscription.name).inserted {
                error("world-duplicate", "subscription '\(subscription.name)' is declared twice", at: "\(path).name")
            }
            if !Naming.isGUID(subscription.id) {
                error("world-invalid-value", "subscription id '\(subscription.id)' is not a GUID", at: "\(path).id",
                      hint: "write it like 11111111-1111-1111-1111-111111111111")
            } else if !ids.insert(subscription.id.lowercased()).inserted {
                error("world-duplicate", "subscription id '\(subscription.id)' is used twice", at: "\(path).id")
            }
        }
        let defaults = world.subscriptions.enumerated().filter { $0.element.isDefault }
        if defaults.count > 1 {
            error("world-invalid-value", "only one subscription can be the default", at: "subscriptions[\(defaults[1].offset)].default")
        }
    }

    mutating func validateRegions() {
        if world.regions.isEmpty { error("world-missing-field", "the world uses no region", at: "regions") }
        var seen = Set<String>()
        for (index, name) in world.regions.enumerated() {
            let path = "regions[\(index)]"
            if Regions.region(named: name) == nil {
                let suggestion = Regions.names.min { editDistance($0, name) < editDistance($1, name) }
                    .flatMap { editDistance($0, name) <= 3 ? $0 : nil }
                error("world-unknown-region", "unknown region '\(name)'", at: path,
                      hint: suggestion.map { "did you mean '\($0)'?" } ?? "use an Azure region name such as eastus")
            } else if !seen.insert(name.lowercased()).inserted {
                error("world-duplicate", "region '\(name)' is listed twice", at: path)
            }
        }
    }

    /// Reports a region that the world does not use.
    mutating func checkRegion(_ region: String, at path: String) {
        if !world.regions.contains(where: { $0.lowercased() == region.lowercased() }) {
            error("world-unknown-region", "region '\(region)' is not one of the world's regions", at: path,
                  hint: "add it to 'regions:' or use one of: \(world.regions.joined(separator: ", "))")
        }
    }

    mutating func checkSubscription(_ name: String?, at path: String) {
        if !subscriptionExists(name) {
            error("world-unknown-reference", "unknown subscription '\(name ?? "")'", at: path,
                  hint: "declare it under 'subscriptions:'")
        }
    }

    mutating func checkResourceGroup(_ group: String, subscription: String?, at path: String) {
        let sub = subscriptionName(subscription)
        if !world.resourceGroups.contains(where: { $0.name.lowercased() == group.lowercased() && subscriptionName($0.subscription) == sub }) {
            error("world-unknown-reference", "unknown resource group '\(group)'", at: path,
                  hint: "declare it under 'resourceGroups:' in subscription '\(sub ?? "")'")
        }
    }

    mutating func validateResourceGroups() {
        var seen = Set<String>()
        for (index, group) in world.resourceGroups.enumerated() {
            let path = "resourceGroups[\(index)]"
            if let problem = Naming.resourceGroupNameProblem(group.name) {
                error("world-invalid-name", "invalid resource group name '\(group.name)': \(problem)", at: "\(path).name")
            }
            checkRegion(group.region, at: "\(path).region")
            checkSubscription(group.subscription, at: "\(path).subscription")
            let key = "\(subscriptionName(group.subscription) ?? "")/\(group.name.lowercased())"
            if !seen.insert(key).inserted {
                error("world-duplicate", "resource group '\(group.name)' is declared twice", at: "\(path).name")
            }
        }
    }

    mutating func validateRoleDefinitions() {
        var names = Set<String>(), ids = Set<String>()
        for (index, role) in world.roleDefinitions.enumerated() {
            let path = "roleDefinitions[\(index)]"
            if role.name.trimmingCharacters(in: .whitespaces).isEmpty {
                error("world-invalid-value", "a role definition's name is empty", at: "\(path).name")
            } else if RoleDefinition.builtIn(role.name) != nil {
                error("world-duplicate", "'\(role.name)' is the name of a built-in role", at: "\(path).name",
                      hint: "give the custom role another name")
            } else if !names.insert(role.name.lowercased()).inserted {
                error("world-duplicate", "role definition '\(role.name)' is declared twice", at: "\(path).name")
            }
            if !Naming.isGUID(role.id) {
                error("world-invalid-value", "role definition id '\(role.id)' is not a GUID", at: "\(path).id")
            } else if RoleDefinition.builtIn(role.id) != nil || !ids.insert(role.id).inserted {
                error("world-duplicate", "role definition id '\(role.id)' is used twice", at: "\(path).id")
            }
            if role.dataActions.isEmpty {
                error("world-invalid-value", "role definition '\(role.name)' allows no data action", at: "\(path).dataActions",
                      hint: "list data actions such as Microsoft.KeyVault/vaults/secrets/getSecret/action")
            }
            for (field, actions) in [("dataActions", role.dataActions), ("notDataActions", role.notDataActions)] {
                for (actionIndex, action) in actions.enumerated() where !Self.isDataAction(action) {
                    error("world-invalid-value", "'\(action)' is not a data action", at: "\(path).\(field)[\(actionIndex)]",
                          hint: "write it as Provider/resource/operation, such as Microsoft.KeyVault/vaults/keys/read ('*' is a wildcard)")
                }
            }
        }
    }

    /// A data action as ARM writes one: `Provider/path`, letters, digits, `.`, `/`, `*` and `-` only.
    static func isDataAction(_ action: String) -> Bool {
        guard action.contains("/"), !action.hasPrefix("/"), !action.hasSuffix("/") else { return false }
        return action.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "./*-_".unicodeScalars.contains(scalar))
        }
    }

    /// The role a world names, built-in or custom, by name or GUID.
    func role(_ nameOrID: String) -> RoleDefinition? {
        if let builtIn = RoleDefinition.builtIn(nameOrID) { return builtIn }
        let wanted = nameOrID.lowercased()
        return world.roleDefinitions.first { $0.name.lowercased() == wanted || $0.id == wanted }
    }

    mutating func validateKeyVaults() {
        var names = Set<String>()
        for (index, vault) in world.keyVaults.enumerated() {
            let path = "keyVaults[\(index)]"
            if let problem = Naming.keyVaultNameProblem(vault.name) {
                error("world-invalid-name", "invalid key vault name '\(vault.name)': \(problem)", at: "\(path).name")
            }
            if !names.insert(vault.name.lowercased()).inserted {
                error("world-duplicate", "key vault '\(vault.name)' is declared twice (names are global)", at: "\(path).name")
            }
            checkSubscription(vault.subscription, at: "\(path).subscription")
            checkResourceGroup(vault.resourceGroup, subscription: vault.subscription, at: "\(path).resourceGroup")
            checkRegion(vault.region, at: "\(path).region")
            if !(7...90).contains(vault.softDeleteRetentionDays) {
                error("world-invalid-value", "softDeleteRetentionDays is 7 to 90, not \(vault.softDeleteRetentionDays)",
                      at: "\(path).softDeleteRetentionDays")
            }
            if vault.purgeProtection && !vault.softDelete {
                error("world-invalid-value", "purge protection needs soft delete", at: "\(path).purgeProtection",
                      hint: "set softDelete: true")
            }
            var keyNames = Set<String>()
            for (keyIndex, key) in vault.keys.enumerated() {
                let keyPath = "\(path).keys[\(keyIndex)]"
                if let problem = Naming.keyVaultObjectNameProblem(key.name) {
                    error("world-invalid-name", "invalid key name '\(key.name)': \(problem)", at: "\(keyPath).name")
                }
                if !keyNames.insert(key.name.lowercased()).inserted {
                    error("world-duplicate", "key '\(key.name)' is declared twice in '\(vault.name)'", at: "\(keyPath).name")
                }
                if key.keyType != "RSA" && key.keyType != "RSA-HSM" {
                    error("world-invalid-value", "key type '\(key.keyType)' is not supported", at: "\(keyPath).type",
                          hint: "use RSA or RSA-HSM (disk encryption and backup need RSA keys)")
                }
                if ![2048, 3072, 4096].contains(key.size) {
                    error("world-invalid-value", "an RSA key is 2048, 3072 or 4096 bits, not \(key.size)", at: "\(keyPath).size")
                }
            }
            var secretNames = Set<String>()
            for (secretIndex, secret) in vault.secrets.enumerated() {
                let secretPath = "\(path).secrets[\(secretIndex)]"
                if let problem = Naming.keyVaultObjectNameProblem(secret.name) {
                    error("world-invalid-name", "invalid secret name '\(secret.name)': \(problem)", at: "\(secretPath).name")
                }
                if !secretNames.insert(secret.name.lowercased()).inserted {
                    error("world-duplicate", "secret '\(secret.name)' is declared twice in '\(vault.name)'", at: "\(secretPath).name")
                }
            }
            var principals = Set<World.AccessPrincipal>()
            if vault.accessPolicies.count > 1024 {
                error("world-limit", "a key vault holds at most 1024 access policies", at: "\(path).accessPolicies")
            }
            for (policyIndex, policy) in vault.accessPolicies.enumerated() {
                let policyPath = "\(path).accessPolicies[\(policyIndex)]"
                if case .objectID(let id) = policy.principal, !Naming.isGUID(id) {
                    error("world-invalid-value", "object id '\(id)' is not a GUID", at: "\(policyPath).objectId")
                }
                if !principals.insert(policy.principal).inserted {
                    error("world-duplicate", "two access policies for the same principal in '\(vault.name)'", at: policyPath,
                          hint: "merge their permissions into one policy")
                }
            }
            // Each model's grants only on a key vault that honours them: the other model's would be ignored.
            if vault.rbacAuthorization, !vault.accessPolicies.isEmpty {
                error("world-rule", "key vault '\(vault.name)' uses Azure RBAC (rbacAuthorization: true), which ignores access policies",
                      at: "\(path).accessPolicies", hint: "declare roleAssignments instead, or set rbacAuthorization: false")
            }
            if !vault.rbacAuthorization, !vault.roleAssignments.isEmpty {
                error("world-rule", "key vault '\(vault.name)' uses access policies, which ignore role assignments for keys and secrets",
                      at: "\(path).roleAssignments", hint: "set rbacAuthorization: true, or declare accessPolicies instead")
            }
            var assignments = Set<String>()
            for (assignmentIndex, assignment) in vault.roleAssignments.enumerated() {
                let assignmentPath = "\(path).roleAssignments[\(assignmentIndex)]"
                if case .objectID(let id) = assignment.principal, !Naming.isGUID(id) {
                    error("world-invalid-value", "object id '\(id)' is not a GUID", at: "\(assignmentPath).objectId")
                }
                guard let role = role(assignment.role) else {
                    let known = RoleDefinition.builtInKeyVaultRoles.map(\.name) + world.roleDefinitions.map(\.name)
                    let suggestion = known.min { editDistance($0, assignment.role) < editDistance($1, assignment.role) }
                        .flatMap { editDistance($0, assignment.role) <= 3 ? "did you mean '\($0)'?" : nil }
                    error("world-unknown-reference", "unknown role '\(assignment.role)'", at: "\(assignmentPath).role",
                          hint: suggestion ?? "use a built-in Key Vault role (Key Vault Administrator, ...) or declare it under 'roleDefinitions:'")
                    continue
                }
                if !assignments.insert("\(assignment.principal)/\(role.id)").inserted {
                    error("world-duplicate", "role '\(role.name)' is assigned twice to the same principal in '\(vault.name)'",
                          at: "\(assignmentPath).role")
                }
            }
        }
    }

    func keyVault(_ name: String) -> World.KeyVault? {
        world.keyVaults.first { $0.name.lowercased() == name.lowercased() }
    }

    mutating func validateDiskEncryptionSets() {
        var names = Set<String>()
        for (index, set) in world.diskEncryptionSets.enumerated() {
            let path = "diskEncryptionSets[\(index)]"
            if let problem = Naming.diskEncryptionSetNameProblem(set.name) {
                error("world-invalid-name", problem, at: "\(path).name")
            }
            if !names.insert(set.name.lowercased()).inserted {
                error("world-duplicate", "disk encryption set '\(set.name)' is declared twice", at: "\(path).name")
            }
            checkSubscription(set.subscription, at: "\(path).subscription")
            checkResourceGroup(set.resourceGroup, subscription: set.subscription, at: "\(path).resourceGroup")
            checkRegion(set.region, at: "\(path).region")
            guard let vault = keyVault(set.keyVault) else {
                error("world-unknown-reference", "unknown key vault '\(set.keyVault)'", at: "\(path).keyVault",
                      hint: "declare it under 'keyVaults:'")
                continue
            }
            if vault.region.lowercased() != set.region.lowercased() {
                error("world-rule", "the key vault of a disk encryption set must be in its region (\(set.region)), not \(vault.region)",
                      at: "\(path).keyVault")
            }
            if !vault.softDelete || !vault.purgeProtection {
                error("world-rule", "the key vault '\(vault.name)' of a disk encryption set needs soft delete and purge protection",
                      at: "\(path).keyVault", hint: "set softDelete: true and purgeProtection: true on '\(vault.name)'")
            }
            if !vault.keys.contains(where: { $0.name.lowercased() == set.key.lowercased() }) {
                error("world-unknown-reference", "key vault '\(vault.name)' has no key '\(set.key)'", at: "\(path).key",
                      hint: "declare it under the key vault's 'keys:'")
            }
        }
    }

    mutating func validateVirtualMachines() {
        var names = Set<String>()
        for (index, vm) in world.virtualMachines.enumerated() {
            let path = "virtualMachines[\(index)]"
            if let problem = Naming.vmNameProblem(vm.name, windows: vm.os == .windows) {
                error("world-invalid-name", "invalid VM name '\(vm.name)': \(problem)", at: "\(path).name")
            }
            if !names.insert(vm.name.lowercased()).inserted {
                error("world-duplicate", "VM '\(vm.name)' is declared twice (VM names are unique in a platform)", at: "\(path).name")
            }
            checkSubscription(vm.subscription, at: "\(path).subscription")
            checkResourceGroup(vm.resourceGroup, subscription: vm.subscription, at: "\(path).resourceGroup")
            checkRegion(vm.region, at: "\(path).region")
            validateDisks(vm, path: path)
            validateEncryption(vm, path: path)
            if vm.securityType == .trustedLaunch && !vm.osDisk.managed {
                // Trusted Launch needs a generation 2 VM on managed disks.
                error("world-rule", "a Trusted Launch VM has managed disks only", at: "\(path).securityType")
            }
            for (dataIndex, data) in vm.initialData.enumerated() {
                let dataPath = "\(path).initialData[\(dataIndex)]"
                let disk: World.Disk? = data.disk == .os ? vm.osDisk : vm.dataDisks.first { $0.lun.map(DiskSlot.lun) == data.disk }
                guard let disk else {
                    error("world-unknown-reference", "VM '\(vm.name)' has no disk '\(data.disk)'", at: "\(dataPath).disk")
                    continue
                }
                let size = UInt64(disk.sizeGiB) << 30
                if data.offset > size || data.length > size - data.offset {
                    error("world-invalid-value", "the data runs past the end of the \(disk.sizeGiB) GiB disk", at: "\(dataPath).length")
                }
            }
        }
    }

    mutating func validateDisks(_ vm: World.VirtualMachine, path: String) {
        let all = [vm.osDisk] + vm.dataDisks
        for (diskIndex, disk) in all.enumerated() {
            let diskPath = diskIndex == 0 ? "\(path).osDisk" : "\(path).dataDisks[\(diskIndex - 1)]"
            if !(1...Self.maximumDiskGiB).contains(disk.sizeGiB) {
                error("world-invalid-value", "a disk is 1 to \(Self.maximumDiskGiB) GiB, not \(disk.sizeGiB)", at: "\(diskPath).sizeGiB")
            }
            if let lun = disk.lun, !(0...63).contains(lun) {
                error("world-invalid-value", "a LUN is 0 to 63, not \(lun)", at: "\(diskPath).lun")
            }
            if disk.managed != vm.osDisk.managed {
                error("world-rule", "a VM's disks are all managed or all unmanaged", at: "\(diskPath).managed")
            }
        }
        var luns = Set<Int>()
        for (diskIndex, disk) in vm.dataDisks.enumerated() where disk.lun != nil {
            if !luns.insert(disk.lun!).inserted {
                error("world-duplicate", "LUN \(disk.lun!) is used twice", at: "\(path).dataDisks[\(diskIndex)].lun")
            }
        }
        let limit = vm.osDisk.managed ? 32 : 16
        if vm.dataDisks.count > limit {
            error("world-limit", "a VM with \(vm.osDisk.managed ? "managed" : "unmanaged") disks has at most \(limit) data disks",
                  at: "\(path).dataDisks")
        }
        if all.reduce(0, { $0 + $1.sizeGiB }) > Self.maximumVMGiB {
            error("world-limit", "a VM's disks total at most 256 TB", at: "\(path).dataDisks")
        }
    }

    mutating func validateEncryption(_ vm: World.VirtualMachine, path: String) {
        let sub = subscriptionName(vm.subscription)
        switch vm.encryption {
        case .ssePlatformKey:
            break
        case .sseCustomerKey(let setName):
            guard let set = world.diskEncryptionSets.first(where: { $0.name.lowercased() == setName.lowercased() }) else {
                error("world-unknown-reference", "unknown disk encryption set '\(setName)'", at: "\(path).encryption.diskEncryptionSet",
                      hint: "declare it under 'diskEncryptionSets:'")
                return
            }
            if set.region.lowercased() != vm.region.lowercased() || subscriptionName(set.subscription) != sub {
                error("world-rule", "disk encryption set '\(set.name)' must be in the VM's subscription and region",
                      at: "\(path).encryption.diskEncryptionSet")
            }
            if !vm.osDisk.managed {
                error("world-rule", "customer-managed keys apply to managed disks only", at: "\(path).encryption")
            }
        case .ade(let vaultName, let kek, let aad):
            guard let vault = keyVault(vaultName) else {
                error("world-unknown-reference", "unknown key vault '\(vaultName)'", at: "\(path).encryption.keyVault",
                      hint: "declare it under 'keyVaults:'")
                return
            }
            if vault.region.lowercased() != vm.region.lowercased() || subscriptionName(vault.subscription) != sub {
                error("world-rule", "Azure Disk Encryption needs the key vault in the VM's subscription and region",
                      at: "\(path).encryption.keyVault")
            }
            if !vault.enabledForDiskEncryption {
                error("world-rule", "key vault '\(vault.name)' is not enabled for disk encryption", at: "\(path).encryption.keyVault",
                      hint: "set enabledForDiskEncryption: true on '\(vault.name)'")
            }
            if let kek, !vault.keys.contains(where: { $0.name.lowercased() == kek.lowercased() }) {
                error("world-unknown-reference", "key vault '\(vault.name)' has no key '\(kek)'", at: "\(path).encryption.kek",
                      hint: "declare the KEK under the key vault's 'keys:'")
            }
            if let aad, !Naming.isGUID(aad) {
                error("world-invalid-value", "aadClientId '\(aad)' is not a GUID", at: "\(path).encryption.aadClientId")
            }
        }
    }
}
