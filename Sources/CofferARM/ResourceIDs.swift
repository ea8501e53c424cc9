/// ARM resource ids in their canonical casing (the casing coffer answers with, whatever the request's).
public enum ResourceIDs {
    public static func subscription(_ id: String) -> String { "/subscriptions/\(id)" }

    public static func resourceGroup(subscription: String, name: String) -> String {
        "/subscriptions/\(subscription)/resourceGroups/\(name)"
    }

    public static func vault(subscription: String, resourceGroup: String, name: String) -> String {
        self.resourceGroup(subscription: subscription, name: resourceGroup) + "/providers/Microsoft.RecoveryServices/vaults/\(name)"
    }

    public static func keyVault(subscription: String, resourceGroup: String, name: String) -> String {
        self.resourceGroup(subscription: subscription, name: resourceGroup) + "/providers/Microsoft.KeyVault/vaults/\(name)"
    }

    public static func virtualMachine(subscription: String, resourceGroup: String, name: String) -> String {
        self.resourceGroup(subscription: subscription, name: resourceGroup) + "/providers/Microsoft.Compute/virtualMachines/\(name)"
    }

    public static func disk(subscription: String, resourceGroup: String, name: String) -> String {
        self.resourceGroup(subscription: subscription, name: resourceGroup) + "/providers/Microsoft.Compute/disks/\(name)"
    }

    public static func policy(vaultID: String, name: String) -> String { "\(vaultID)/backupPolicies/\(name)" }

    public static func job(vaultID: String, id: String) -> String { "\(vaultID)/backupJobs/\(id)" }

    /// The protection container of an Azure VM: `iaasvmcontainer;iaasvmcontainerv2;RG;VM`, as the platform
    /// names it (the service accepts any casing of the prefix).
    public static func containerName(vmResourceGroup: String, vm: String) -> String {
        "iaasvmcontainer;iaasvmcontainerv2;\(vmResourceGroup);\(vm)"
    }

    /// The protected (or protectable) item of an Azure VM: `VM;iaasvmcontainerv2;RG;VM`.
    public static func itemName(vmResourceGroup: String, vm: String) -> String {
        "VM;iaasvmcontainerv2;\(vmResourceGroup);\(vm)"
    }

    public static func container(vaultID: String, vmResourceGroup: String, vm: String) -> String {
        "\(vaultID)/backupFabrics/Azure/protectionContainers/\(containerName(vmResourceGroup: vmResourceGroup, vm: vm))"
    }

    public static func protectedItem(vaultID: String, vmResourceGroup: String, vm: String) -> String {
        container(vaultID: vaultID, vmResourceGroup: vmResourceGroup, vm: vm)
            + "/protectedItems/\(itemName(vmResourceGroup: vmResourceGroup, vm: vm))"
    }

    public static func protectableItem(vaultID: String, vmResourceGroup: String, vm: String) -> String {
        container(vaultID: vaultID, vmResourceGroup: vmResourceGroup, vm: vm)
            + "/protectableItems/\(itemName(vmResourceGroup: vmResourceGroup, vm: vm))"
    }

    public static func recoveryPoint(itemID: String, id: String) -> String { "\(itemID)/recoveryPoints/\(id)" }
}

/// The VM an Azure VM container or item name stands for: `IaasVMContainer;iaasvmcontainerv2;RG;VM`,
/// `VM;iaasvmcontainerv2;RG;VM`, or the short `iaasvmcontainerv2;RG;VM` (prefixes in any case).
public struct IaasVMName: Sendable, Hashable {
    public var resourceGroup: String
    public var vm: String

    public init(resourceGroup: String, vm: String) {
        self.resourceGroup = resourceGroup
        self.vm = vm
    }

    /// Parses a container name; nil when it is not an Azure VM's.
    public init?(container: String) {
        self.init(parsing: container, kind: "iaasvmcontainer")
    }

    /// Parses a protected or protectable item name; nil when it is not an Azure VM's.
    public init?(item: String) {
        self.init(parsing: item, kind: "vm")
    }

    private init?(parsing text: String, kind: String) {
        var parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4 {
            guard parts[0].lowercased() == kind else { return nil }
            parts.removeFirst()
        }
        guard parts.count == 3, parts[0].lowercased() == "iaasvmcontainerv2", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(resourceGroup: parts[1], vm: parts[2])
    }
}

/// A resource id as a client sends it in a body (`policyId`, `sourceResourceId`): the named segments
/// after `providers/`, matched case-insensitively.
public struct ARMResourceReference: Sendable, Hashable {
    public var subscription: String
    public var resourceGroup: String
    /// The provider's type path and names: `["Microsoft.RecoveryServices", "vaults", "V", "backupPolicies", "P"]`.
    public var providerSegments: [String]

    /// Parses `/subscriptions/S/resourceGroups/RG/providers/...`; nil for anything else.
    public init?(_ id: String) {
        guard let path = ARMPath(raw: id), path.segments.count >= 5,
            path.segments[0].lowercased() == "subscriptions", path.segments[2].lowercased() == "resourcegroups",
            path.segments[4].lowercased() == "providers"
        else { return nil }
        subscription = path.segments[1]
        resourceGroup = path.segments[3]
        providerSegments = Array(path.segments.dropFirst(5))
    }

    /// The name of the resource when the id's type is `type` (such as `Microsoft.Compute/virtualMachines`),
    /// else nil.
    public func name(ofType type: String) -> String? {
        let parts = type.split(separator: "/").map(String.init)
        guard parts.count >= 2 else { return nil }
        return names(ofTypes: Array(parts.dropFirst()), namespace: parts[0])?.last
    }

    /// For a child id such as a backup policy's: the names after each type segment, in order
    /// (`["V", "P"]` for `Microsoft.RecoveryServices/vaults/V/backupPolicies/P`), when the types match.
    public func names(ofTypes types: [String], namespace: String) -> [String]? {
        guard providerSegments.count == 1 + types.count * 2, providerSegments[0].lowercased() == namespace.lowercased() else { return nil }
        var names: [String] = []
        for (offset, type) in types.enumerated() {
            guard providerSegments[1 + offset * 2].lowercased() == type.lowercased() else { return nil }
            names.append(providerSegments[2 + offset * 2])
        }
        return names
    }
}
