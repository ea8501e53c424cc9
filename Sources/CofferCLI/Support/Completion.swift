import ArgumentParser
import CofferPlatform
import CofferReconciler
import Foundation

/// Shell completions for coffer's arguments: files and directories where paths go, and names read from the
/// platform in the state directory (VMs, key vaults, recovery points ...) where names go.
///
/// The shell asks for names by running `coffer ---completion ...` with the words typed so far; the state
/// directory is the one those words give (`--state DIR`), else `$COFFER_STATE`, else `./.coffer`. A state
/// directory without a platform completes nothing.
enum CofferCompletion {
    /// Manifest paths: `.yaml` and `.yml` files, and directories.
    static let manifests = CompletionKind.file(extensions: ["yaml", "yml"])

    static let vm = platformNames { overview, _ in overview.virtualMachines.map(\.name) }
    static let keyVault = platformNames { overview, _ in overview.keyVaults.map(\.name) }
    static let restoredDisk = platformNames { overview, _ in overview.restoredDisks.map(\.name) }
    static let resourceGroup = platformNames { overview, _ in overview.resourceGroups.map(\.name) }
    static let region = platformNames { overview, _ in overview.regions }

    /// A principal of an access policy or a role assignment: the Backup Management Service, or an object id
    /// that has one.
    static let principal = platformNames { overview, _ in
        var seen = Set<String>()
        return (["BackupManagementService"] + overview.keyVaults.flatMap { $0.accessPolicies.map(\.objectID) + $0.roleAssignments.map(\.objectID) })
            .filter { seen.insert($0).inserted }
    }

    /// Keys or secrets (`kind` "key" or "secret", nil for both) in any key vault; `deleted` chooses
    /// soft-deleted objects (to purge or recover) or active ones (to delete).
    static func keyVaultObject(kind: String?, deleted: Bool) -> CompletionKind {
        platformNames { overview, _ in
            overview.keyVaults.flatMap { vault in
                vault.objects.filter { (kind == nil || $0.kind == kind) && $0.deleted == deleted }.map(\.name)
            }
        }
    }

    /// A disk: `os`, or a data disk's LUN (of the VM named on the command line when there is one).
    static let disk = CompletionKind.custom { words, _, prefix in
        var candidates = ["os"]
        if let overview = try? overview(words: words) {
            let named = overview.virtualMachines.filter { words.contains($0.name) }
            for vm in named.isEmpty ? overview.virtualMachines : named {
                for disk in vm.disks { if case .lun(let lun) = disk.disk { candidates.append(String(lun)) } }
            }
        }
        return unique(candidates, prefix: prefix)
    }

    /// A recovery point's id (of the VM named on the command line when there is one).
    static let recoveryPoint = CompletionKind.custom { words, _, prefix in
        guard let platform = try? platform(words: words), let overview = try? platform.overview() else { return [] }
        let vm = overview.virtualMachines.first { words.contains($0.name) }?.name
        return unique((try? platform.recoveryPoints(vm: vm).map(\.id)) ?? [], prefix: prefix)
    }

    /// A commit that an apply of the history came from, newest first.
    static let appliedCommit = CompletionKind.custom { words, _, prefix in
        let records = (try? FileStateStore(stateDirectory: stateDirectory(words: words)).history()) ?? []
        return unique(records.reversed().compactMap { $0.source.commit }, prefix: prefix)
    }

    // MARK: Reading the platform

    private static func platformNames(_ names: @escaping @Sendable (PlatformOverview, [String]) -> [String]) -> CompletionKind {
        .custom { words, _, prefix in
            guard let overview = try? overview(words: words) else { return [] }
            return unique(names(overview, words), prefix: prefix)
        }
    }

    /// The state directory the words name with `--state DIR` or `--state=DIR`, else `$COFFER_STATE`, else
    /// `./.coffer`.
    static func stateDirectory(words: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        for (index, word) in words.enumerated() {
            if word == "--state", index + 1 < words.count { return words[index + 1] }
            if word.hasPrefix("--state=") { return String(word.dropFirst("--state=".count)) }
        }
        if let fromEnvironment = environment["COFFER_STATE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return ".coffer"
    }

    private static func platform(words: [String]) throws -> Platform {
        try Platform(stateDirectory: stateDirectory(words: words))
    }

    private static func overview(words: [String]) throws -> PlatformOverview {
        try platform(words: words).overview()
    }

    /// The candidates that start with `prefix`, each once, in their first order.
    private static func unique(_ candidates: [String], prefix: String) -> [String] {
        var seen = Set<String>()
        return candidates.filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }
    }
}
