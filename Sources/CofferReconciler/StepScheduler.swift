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
///
/// Each scope's holders are kept in plan order with a cursor past those that are done, so finding a scope's
/// first holder, starting a step and marking it done cost O(1) amortised: an apply of N steps schedules in
/// O(N), though every step holds `*`.
final class StepScheduler {
    private let scopes: [StepScopes]
    /// Per scope, the steps that hold it, in plan order, and those that hold it exclusive; the cursors skip
    /// the done steps at the front.
    private var holders: [String: [Int]] = [:]
    private var exclusiveHolders: [String: [Int]] = [:]
    private var holderCursors: [String: Int] = [:]
    private var exclusiveCursors: [String: Int] = [:]
    private var started: [Bool]
    private var finished: [Bool]
    /// No step before it is waiting to start.
    private var firstWaiting = 0
    private var remaining: Int

    init(_ scopes: [StepScopes]) {
        self.scopes = scopes
        started = [Bool](repeating: false, count: scopes.count)
        finished = [Bool](repeating: false, count: scopes.count)
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
        while firstWaiting < started.count && started[firstWaiting] { firstWaiting += 1 }
        var found: [Int] = []
        var index = firstWaiting
        while index < started.count {
            if !started[index] && canStart(index) {
                found.append(index)
                if found.count == limit { break }
            }
            index += 1
        }
        return found
    }

    private func canStart(_ index: Int) -> Bool {
        let scope = scopes[index]
        for key in scope.exclusive where firstHolder(key, exclusive: false) != index { return false }
        for key in scope.shared where (firstHolder(key, exclusive: true) ?? Int.max) < index { return false }
        return true
    }

    /// The first step not done that holds `key` (exclusive: that holds it exclusive).
    private func firstHolder(_ key: String, exclusive: Bool) -> Int? {
        guard let list = exclusive ? exclusiveHolders[key] : holders[key] else { return nil }
        var cursor = (exclusive ? exclusiveCursors[key] : holderCursors[key]) ?? 0
        while cursor < list.count && finished[list[cursor]] { cursor += 1 }
        if exclusive { exclusiveCursors[key] = cursor } else { holderCursors[key] = cursor }
        return cursor < list.count ? list[cursor] : nil
    }

    func start(_ index: Int) {
        started[index] = true
    }

    func done(_ index: Int) {
        guard !finished[index] else { return }
        finished[index] = true
        remaining -= 1
    }
}
