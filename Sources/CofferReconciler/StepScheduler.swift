import CofferModel

/// What a step touches, for running steps at once: each scope is held shared (other steps may hold it
/// shared too) or exclusive (alone). A vault step holds its vault exclusive; a policy step holds its vault
/// shared and itself exclusive (a policy delete holds its vault exclusive); a protected VM holds its vault and
/// policy shared and its VM exclusive; a Key Vault grant holds its key vault exclusive (ARM writes a key
/// vault's access policies as one resource). Every step holds `*` shared; a step whose scopes cannot be told
/// holds it exclusive, and so runs alone.
struct StepScopes: Sendable, Hashable {
    var shared: [String] = ["*"]
    var exclusive: [String] = []

    static func of(_ change: ResourceChange) -> StepScopes {
        let name = change.address.name.lowercased()
        var scopes = StepScopes()
        switch change.address.kind {
        case .recoveryServicesVault:
            scopes.exclusive.append("rsv:\(name)")
        case .backupPolicy:
            let vault: String?
            if case .backupPolicy(let spec)? = change.spec { vault = spec.vault } else { vault = segment(change.id, after: "vaults") }
            guard let vault = vault?.lowercased() else { return .alone }
            if change.action == .delete || change.action == .replace {
                scopes.exclusive.append("rsv:\(vault)")
            } else {
                scopes.shared.append("rsv:\(vault)")
                scopes.exclusive.append("policy:\(vault)/\(name)")
            }
        case .protectedVM:
            var vm = name
            if case .protectedVM(let spec)? = change.spec {
                scopes.shared.append("rsv:\(spec.vault.lowercased())")
                scopes.shared.append("policy:\(spec.vault.lowercased())/\(spec.policy.lowercased())")
                vm = spec.vm.name.lowercased()
            }
            if let vault = segment(change.id, after: "vaults")?.lowercased() { scopes.shared.append("rsv:\(vault)") }
            guard scopes.shared.count > 1 else { return .alone }
            scopes.exclusive.append("vm:\(vm)")
        case .keyVaultAccessPolicy, .keyVaultRoleAssignment:
            var keyVault: String?
            switch change.spec {
            case .keyVaultAccessPolicy(let spec)?: keyVault = spec.keyVault
            case .keyVaultRoleAssignment(let spec)?: keyVault = spec.keyVault
            default: keyVault = segment(change.id, after: "vaults")
            }
            guard let keyVault = keyVault?.lowercased() else { return .alone }
            scopes.exclusive.append("kv:\(keyVault)")
        }
        scopes.shared = Array(Set(scopes.shared)).sorted()
        return scopes
    }

    static let alone = StepScopes(shared: [], exclusive: ["*"])

    /// The segment after `marker` in an id (case-insensitive).
    static func segment(_ id: String, after marker: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: true)
        for index in parts.indices.dropLast() where parts[index].lowercased() == marker { return String(parts[index + 1]) }
        return nil
    }
}

/// Which steps may start: a step starts once every earlier step that holds one of its scopes in a mode that
/// conflicts with its own (either of them exclusive) is done. Steps are offered in plan order.
final class StepScheduler {
    private let scopes: [StepScopes]
    /// Per scope, the steps not done that hold it, in plan order, and those that hold it exclusive.
    private var holders: [String: [Int]] = [:]
    private var exclusiveHolders: [String: [Int]] = [:]
    /// Steps not started, in plan order.
    private var waiting: [Int]
    private var remaining: Int

    init(_ scopes: [StepScopes]) {
        self.scopes = scopes
        waiting = Array(scopes.indices)
        remaining = scopes.count
        for (index, scope) in scopes.enumerated() {
            for key in scope.shared { holders[key, default: []].append(index) }
            for key in scope.exclusive {
                holders[key, default: []].append(index)
                exclusiveHolders[key, default: []].append(index)
            }
        }
    }

    var isFinished: Bool { remaining == 0 }

    /// Up to `limit` steps that may start now, in plan order.
    func startable(limit: Int) -> [Int] {
        guard limit > 0 else { return [] }
        var found: [Int] = []
        for index in waiting where canStart(index) {
            found.append(index)
            if found.count == limit { break }
        }
        return found
    }

    private func canStart(_ index: Int) -> Bool {
        let scope = scopes[index]
        for key in scope.exclusive where holders[key]?.first != index { return false }
        for key in scope.shared where (exclusiveHolders[key]?.first ?? Int.max) < index { return false }
        return true
    }

    func start(_ index: Int) {
        if let position = waiting.firstIndex(of: index) { waiting.remove(at: position) }
    }

    func done(_ index: Int) {
        let scope = scopes[index]
        for key in scope.shared + scope.exclusive {
            holders[key]?.removeAll { $0 == index }
        }
        for key in scope.exclusive { exclusiveHolders[key]?.removeAll { $0 == index } }
        remaining -= 1
    }
}
