import CofferModel
import Foundation

/// A deterministic, in-memory provider for reconciler and CLI tests: it stores specs as given, applies a
/// few of the platform's rules, counts calls, and can be told to fail a named resource with an error code.
public final class InMemoryProvider: Provider, @unchecked Sendable {
    private let lock = NSLock()
    private var resources: [String: ObservedResource] = [:]
    private var vms: [VMReference: VirtualMachineFacts] = [:]
    private var keyVaults: [String: KeyVaultFacts] = [:]
    private var failures: [String: ProviderError] = [:]
    private var calls: [String] = []
    public let defaultSubscription: String
    public var operatorIsMember = false

    public init(defaultSubscription: String = "sub-prod") {
        self.defaultSubscription = defaultSubscription
    }

    // MARK: Test controls

    /// Makes every create, update or delete of the resource with this name fail with `error`.
    public func fail(name: String, with error: ProviderError?) { locked { failures[name] = error } }

    public func addVM(_ facts: VirtualMachineFacts) { locked { vms[facts.reference.normalised(defaultSubscription)] = facts } }

    public func addKeyVault(_ facts: KeyVaultFacts) { locked { keyVaults[facts.name] = facts } }

    /// Replaces a stored resource's spec, as an out-of-band change would.
    public func tamper(id: String, _ change: (inout ResourceSpec) -> Void) {
        locked {
            guard var resource = resources[id] else { return }
            change(&resource.spec)
            resources[id] = resource
        }
    }

    /// Removes a resource behind the reconciler's back.
    public func remove(id: String) { locked { resources[id] = nil } }

    /// Puts a resource on the platform that coffer did not create.
    /// With `managedByCoffer`, it carries coffer's tag, as a resource created by an earlier coffer whose
    /// inventory was lost would.
    public func seed(name: String, spec: ResourceSpec, computed: [String: String] = [:], managedByCoffer: Bool = false) throws {
        let id = try resourceID(name: name, spec: spec)
        let tags = managedByCoffer ? [ObservedResource.managedByTag: ObservedResource.managedByValue] : [:]
        locked { resources[id] = ObservedResource(id: id, spec: spec, name: name, tags: tags, computed: computed) }
    }

    public func setComputed(id: String, _ key: String, _ value: String) { locked { resources[id]?.computed[key] = value } }

    /// The mutating calls made so far, as `create Kind/name`, `update ...`, `delete ...`.
    public var mutations: [String] { locked { calls } }

    /// Every stored resource, sorted by id.
    public var all: [ObservedResource] { locked { resources.values.sorted { $0.id < $1.id } } }

    // MARK: Provider

    public func resourceID(name: String, spec: ResourceSpec) throws -> String {
        switch spec {
        case .vault(let vault):
            return "/subscriptions/\(vault.subscription ?? defaultSubscription)/resourceGroups/\(vault.resourceGroup)/providers/Microsoft.RecoveryServices/vaults/\(name)"
        case .backupPolicy(let policy):
            return "/vaults/\(policy.vault)/backupPolicies/\(name)"
        case .protectedVM(let vm):
            return "/protectedItems/\(vm.vm.subscription ?? defaultSubscription)/\(vm.vm.resourceGroup)/\(vm.vm.name)"
        case .keyVaultAccessPolicy(let access):
            let objectID: String
            switch access.principal {
            case .backupManagementService: objectID = keyVaults[access.keyVault]?.backupManagementServiceObjectID ?? "bms"
            case .objectID(let id): objectID = id
            }
            return "/keyVaults/\(access.keyVault)/objectId/\(objectID)"
        }
    }

    public func read(kind: ResourceKind, id: String) throws -> ObservedResource? {
        locked { resources[id].flatMap { $0.spec.kind == kind ? $0 : nil } }
    }

    public func create(name: String, spec: ResourceSpec) throws -> ObservedResource {
        let id = try resourceID(name: name, spec: spec)
        return try locked {
            calls.append("create \(spec.kind.rawValue)/\(name)")
            if let failure = failures[name] { throw failure }
            guard resources[id] == nil else {
                throw ProviderError(code: "ResourceAlreadyExists", message: "\(id) already exists")
            }
            var tags: [String: String] = [:]
            var stored = spec
            if case .vault(var vault) = spec {
                vault.tags[ObservedResource.managedByTag] = ObservedResource.managedByValue
                vault.subscription = vault.subscription ?? defaultSubscription
                stored = .vault(vault)
            }
            if case .protectedVM(var vm) = spec {
                vm.vm.subscription = vm.vm.subscription ?? defaultSubscription
                vm.deletionPolicy = .retain  // the platform does not know coffer's deletion policy
                stored = .protectedVM(vm)
            }
            tags[ObservedResource.managedByTag] = ObservedResource.managedByValue
            let resource = ObservedResource(id: id, spec: stored, name: name, tags: tags, computed: ["registeredItems": "0"])
            resources[id] = resource
            return resource
        }
    }

    public func update(id: String, name: String, spec: ResourceSpec) throws -> ObservedResource {
        try locked {
            calls.append("update \(spec.kind.rawValue)/\(name)")
            if let failure = failures[name] { throw failure }
            guard var resource = resources[id] else {
                throw ProviderError(code: "ResourceNotFound", message: "\(id) does not exist")
            }
            if case .vault(let old) = resource.spec, case .vault(let new) = spec,
                old.storageRedundancy != new.storageRedundancy, (Int(resource.computed["registeredItems"] ?? "0") ?? 0) > 0
            {
                throw ProviderError(code: "StorageModelModifyError", message: "Storage Redundancy option is locked")
            }
            var stored = spec
            if case .vault(var vault) = spec {
                vault.tags[ObservedResource.managedByTag] = resource.tags[ObservedResource.managedByTag]
                vault.subscription = vault.subscription ?? defaultSubscription
                stored = .vault(vault)
            }
            if case .protectedVM(var vm) = spec {
                vm.vm.subscription = vm.vm.subscription ?? defaultSubscription
                vm.deletionPolicy = .retain
                stored = .protectedVM(vm)
            }
            resource.spec = stored
            resources[id] = resource
            return resource
        }
    }

    public func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) throws {
        try locked {
            let name = resources[id]?.name ?? id
            calls.append("delete \(kind.rawValue)/\(name) \(deletionPolicy.rawValue)")
            if let failure = failures[name] { throw failure }
            resources[id] = nil
        }
    }

    public func virtualMachine(_ reference: VMReference) throws -> VirtualMachineFacts? {
        locked { vms[reference.normalised(defaultSubscription)] }
    }

    public func keyVault(named name: String) throws -> KeyVaultFacts? { locked { keyVaults[name] } }

    public func operatorGrantsKeyVaultAccess() throws -> Bool { operatorIsMember }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

extension VMReference {
    func normalised(_ subscription: String) -> VMReference {
        VMReference(subscription: self.subscription ?? subscription, resourceGroup: resourceGroup, name: name)
    }
}
