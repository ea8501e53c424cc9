import CofferModel
@testable import CofferPlatform
import CofferTestSupport
import Testing

/// The failures a clean plan used to miss, each now an error with the service's code, and each checked by
/// the same harness as the property: the forced apply or a backup really fails.
@Suite struct PlanTruthExamplesTests {
    static func expect(_ mutations: [PlanTruth.Mutation], codes: Set<String>, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let verdict = try await PlanTruth.judge(mutations)
        #expect(verdict.holds, "\(verdict)", sourceLocation: sourceLocation)
        #expect(!codes.isDisjoint(with: verdict.errors), "expected \(codes), the plan said \(verdict.errors)", sourceLocation: sourceLocation)
        #expect(verdict.failure != nil, sourceLocation: sourceLocation)
    }

    static func prune(_ kind: ResourceKind, _ name: String) -> PlanTruth.Mutation {
        .init(description: "prune \(kind.rawValue)/\(name)", manifests: { resources in
            resources.removeAll { $0.address == ResourceAddress(kind: kind, name: name) }
        }, prune: true)
    }

    @Test func pruningTheBackupManagementServicesAccessPolicy() async throws {
        try await Self.expect([Self.prune(.keyVaultAccessPolicy, "kv-app-eastus-backup")], codes: ["UserErrorKeyVaultPermissionsNotConfigured"])
    }

    @Test func aDiskEncryptionSetThatLostItsKeyAccess() async throws {
        let removed = PlanTruth.Mutation(description: "out of band: remove the disk encryption set's access", platform: { platform in
            for policy in try platform.accessPolicies() where policy.keyVault == "kv-app-westeurope" && policy.principalName?.hasPrefix("disk encryption set") == true {
                try platform.removeAccessPolicy(keyVault: "kv-app-westeurope", principal: .objectID(policy.objectID))
            }
        })
        try await Self.expect([removed], codes: ["KeyVaultAccessForbidden"])
    }

    @Test func aBEKSecretOrKEKDeletedOutOfBand() async throws {
        for key in [false, true] {
            let deleted = PlanTruth.Mutation(description: "delete", platform: { platform in
                let vm = try platform.virtualMachines().first { $0.name == "win-app-01" }!
                if key { try platform.deleteKey(keyVault: vm.keyVault!, name: vm.kek!) } else {
                    let facts = try platform.pool.read { db in try Platform.virtualMachineFacts(Lookup(db), try Platform.vm(db, "win-app-01")) }
                    let secret = facts.bekSecret!
                    try platform.deleteSecret(keyVault: vm.keyVault!, name: secret)
                }
            })
            try await Self.expect([deleted], codes: [key ? "UserErrorKeyVaultKeyDoesNotExist" : "UserErrorKeyVaultSecretDoesNotExist"])
        }
    }

    @Test func aVaultInAResourceGroupThatDoesNotExist() async throws {
        let moved = PlanTruth.Mutation(description: "vault in rg-missing") { resources in
            Mutations.vault(&resources, "rsv-prod-eastus") { $0.resourceGroup = "rg-missing" }
        }
        // Moving a vault with items is a replacement that its items block; a new vault there fails to create.
        let added = PlanTruth.Mutation(description: "new vault in rg-missing") { resources in
            Mutations.add(&resources, .recoveryServicesVault, "rsv-new", .vault(VaultSpec(resourceGroup: "rg-missing", location: "eastus")))
        }
        try await Self.expect([moved], codes: ["ServiceResourceNotEmpty"])
        try await Self.expect([added], codes: ["ResourceNotFound"])
    }

    @Test func movingAVMFromEnhancedToStandard() async throws {
        let move = PlanTruth.Mutation(description: "lnx-web-01 to daily-standard-westeurope") { resources in
            Mutations.edit(&resources, .protectedVM, "lnx-web-01") { spec in
                guard case .protectedVM(var protected) = spec else { return }
                protected.policy = "daily-standard-westeurope"
                spec = .protectedVM(protected)
            }
        }
        try await Self.expect([move], codes: ["UserErrorPolicyTypeChangeNotAllowed"])
    }

    @Test func pruningAPolicyInUseAndAVaultWithItems() async throws {
        try await Self.expect([Self.prune(.backupPolicy, "daily-standard-eastus")], codes: ["UserErrorBackupPolicyInUse"])
        try await Self.expect([Self.prune(.recoveryServicesVault, "rsv-prod-eastus")], codes: ["ServiceResourceNotEmpty"])
    }

    @Test func anRBACKeyVaultWithoutTheRole() async throws {
        let protect = PlanTruth.Mutation(description: "protect lnx-api-01") { resources in
            Mutations.add(
                &resources, .protectedVM, "lnx-api-01",
                .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-eastus", name: "lnx-api-01"), vault: "rsv-prod-eastus", policy: "DefaultPolicy")))
        }
        try await Self.expect([protect], codes: ["UserErrorKeyVaultPermissionsNotConfigured"])
        let role = PlanTruth.Mutation(description: "assign Key Vault Administrator") { resources in
            Mutations.add(
                &resources, .keyVaultRoleAssignment, "backup-role",
                .keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(keyVault: "kv-rbac-eastus", principal: .backupManagementService, role: "Key Vault Administrator")))
        }
        let verdict = try await PlanTruth.judge([protect, role])
        #expect(verdict.errors.isEmpty && verdict.failure == nil, "\(verdict)")
    }

    @Test func shorteningRetentionOnAnImmutableVault() async throws {
        let immutable = PlanTruth.Mutation(description: "rsv-prod-eastus immutable") { resources in
            Mutations.vault(&resources, "rsv-prod-eastus") { $0.immutability = .unlocked }
        }
        let shorter = PlanTruth.Mutation(description: "daily retention 20") { resources in
            Mutations.policy(&resources, "daily-standard-eastus") { $0.retention.daily?.count = 20 }
        }
        try await Self.expect([immutable, shorter], codes: ["UserErrorDeleteBackupItemOnImmutableItem"])
    }
}
