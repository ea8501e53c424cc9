import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// The plan checks the model each key vault uses: a grant of the other model is an error at its manifest
/// line with the platform's code, and a protected ADE VM whose key vault uses Azure RBAC needs the Backup
/// Management Service's role after the plan.
@Suite struct KeyVaultRBACPlanTests {
    static let roleAddress = ResourceAddress(kind: .keyVaultRoleAssignment, name: "kv-rbac-backup")
    static let secretsOnly = RoleDefinition(
        id: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", name: "Backup Secrets Reader", dataActions: ["Microsoft.KeyVault/vaults/secrets/*"])

    /// The fixture's provider with the VMs' key vault using Azure RBAC, and one more key vault that uses
    /// access policies.
    static func provider(encryption: VMEncryptionKind = .adeBEKAndKEK, member: Bool = false) -> InMemoryProvider {
        let provider = Fixture.provider(encryption: encryption)
        provider.operatorIsMember = member
        provider.addKeyVault(
            KeyVaultFacts(
                id: "/keyVaults/kv-app-eastus", name: "kv-app-eastus", subscription: "sub-prod", region: "eastus", permissionModel: .rbac,
                accessPolicies: [], customRoles: [secretsOnly], backupManagementServiceObjectID: "bms-object-id"))
        provider.addKeyVault(
            KeyVaultFacts(
                id: "/keyVaults/kv-policies", name: "kv-policies", subscription: "sub-prod", region: "eastus", accessPolicies: [],
                backupManagementServiceObjectID: "bms-object-id"))
        return provider
    }

    static func role(_ role: String = "Key Vault Administrator", keyVault: String = "kv-app-eastus") -> ResourceSpec {
        .keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(keyVault: keyVault, principal: .backupManagementService, role: role))
    }

    static func resource(_ address: ResourceAddress, _ spec: ResourceSpec, line: Int) -> DesiredResource {
        DesiredResource(
            address: address, spec: spec, location: SourceLocation(file: "m.yaml", line: line, column: 1),
            fieldLocations: [
                "spec.vm": SourceLocation(file: "m.yaml", line: line + 4, column: 7),
                "spec.keyVault": SourceLocation(file: "m.yaml", line: line + 4, column: 13),
                "spec.role": SourceLocation(file: "m.yaml", line: line + 6, column: 9),
            ])
    }

    static func desired(_ grants: [(ResourceAddress, ResourceSpec)]) -> DesiredState {
        var resources = [
            resource(Fixture.vaultAddress, Fixture.vault(), line: 1),
            resource(Fixture.policyAddress, Fixture.policy(), line: 20),
            resource(Fixture.vmAddress, Fixture.protected(), line: 60),
        ]
        for (index, grant) in grants.enumerated() { resources.append(resource(grant.0, grant.1, line: 80 + 10 * index)) }
        return DesiredState(resources: resources)
    }

    @Test func anRBACKeyVaultWithoutTheRoleIsAnErrorWhoeverTheOperatorIs() async throws {
        for member in [false, true] {
            let plan = try await Planner(provider: Self.provider(member: member)).plan(desired: Self.desired([]), inventory: [:])
            let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
            #expect(diagnostic.severity == .error, "member: \(member)")
            #expect(diagnostic.location == SourceLocation(file: "m.yaml", line: 64, column: 7))
            #expect(diagnostic.summary.hasPrefix("ProtectedVM/win-app-01: backups of win-app-01 will fail: Azure Backup Service does not have sufficient permissions to Key Vault 'kv-app-eastus'"))
            #expect(diagnostic.summary.contains("(BEK+KEK): the Backup Management Service lacks data actions Microsoft.KeyVault/vaults/keys/backup/action"))
            #expect(diagnostic.hint?.hasPrefix("assign the Backup Management Service (262044b1-e2ce-469f-a196-69ab7ada62d3) the role Key Vault Administrator on 'kv-app-eastus' (a KeyVaultRoleAssignment)") == true)
            #expect(plan.hasErrors)
        }
    }

    @Test func theRoleAssignmentTheManifestsDeclareCounts() async throws {
        let plan = try await Planner(provider: Self.provider()).plan(desired: Self.desired([(Self.roleAddress, Self.role())]), inventory: [:])
        #expect(plan.diagnostics.isEmpty, "\(plan.diagnostics)")
        // Grants before protection: the role assignment is created before the protected VM.
        let order = plan.changes.map(\.address.kind)
        #expect(order == [.recoveryServicesVault, .backupPolicy, .keyVaultRoleAssignment, .protectedVM])
    }

    @Test func aRoleWithoutTheKeyActionsIsEnoughOnlyForABEKOnlyVM() async throws {
        let desired = Self.desired([(Self.roleAddress, Self.role("Backup Secrets Reader"))])
        let kek = try await Planner(provider: Self.provider()).plan(desired: desired, inventory: [:])
        let diagnostic = try #require(kek.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(diagnostic.summary.hasSuffix("lacks data actions Microsoft.KeyVault/vaults/keys/backup/action, Microsoft.KeyVault/vaults/keys/read"))
        let bekOnly = try await Planner(provider: Self.provider(encryption: .adeBEKOnly)).plan(desired: desired, inventory: [:])
        #expect(bekOnly.diagnostics.isEmpty, "\(bekOnly.diagnostics)")
        // Key Vault Secrets User reads secrets but cannot back them up.
        let user = try await Planner(provider: Self.provider(encryption: .adeBEKOnly)).plan(
            desired: Self.desired([(Self.roleAddress, Self.role("Key Vault Secrets User"))]), inventory: [:])
        #expect(user.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" }?.summary
                    .hasSuffix("lacks data action Microsoft.KeyVault/vaults/secrets/backup/action") == true)
    }

    /// An access policy declared for an RBAC key vault is refused at its key vault's line, and grants nothing.
    @Test func anAccessPolicyOnAnRBACKeyVaultIsAnErrorAtItsLine() async throws {
        let plan = try await Planner(provider: Self.provider()).plan(desired: Self.desired([(Fixture.accessAddress, Fixture.access())]), inventory: [:])
        let refused = try #require(plan.diagnostics.first { $0.code == "KeyVaultUsesRbacAuthorization" })
        #expect(refused.severity == .error)
        #expect(refused.location == SourceLocation(file: "m.yaml", line: 84, column: 13))
        #expect(refused.summary.hasPrefix("KeyVaultAccessPolicy/kv-backup: key vault 'kv-app-eastus' uses Azure RBAC"))
        #expect(refused.hint?.contains("KeyVaultRoleAssignment") == true)
        #expect(plan.diagnostics.contains { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
    }

    @Test func aRoleAssignmentOnAKeyVaultWithAccessPoliciesOrOfAnUnknownRoleIsAnError() async throws {
        let onPolicies = try await Planner(provider: Self.provider()).plan(
            desired: Self.desired([(Self.roleAddress, Self.role())]).adding(Self.resource(
                ResourceAddress(kind: .keyVaultRoleAssignment, name: "on-policies"), Self.role(keyVault: "kv-policies"), line: 100)),
            inventory: [:])
        let refused = try #require(onPolicies.diagnostics.first { $0.code == "KeyVaultUsesAccessPolicies" })
        #expect(refused.location == SourceLocation(file: "m.yaml", line: 104, column: 13))
        #expect(refused.summary.hasPrefix("KeyVaultRoleAssignment/on-policies: key vault 'kv-policies' uses vault access policies"))

        let unknown = try await Planner(provider: Self.provider()).plan(
            desired: Self.desired([(Self.roleAddress, Self.role("Key Vault Superuser"))]), inventory: [:])
        let missing = try #require(unknown.diagnostics.first { $0.code == "RoleDefinitionDoesNotExist" })
        #expect(missing.location == SourceLocation(file: "m.yaml", line: 86, column: 9))
        #expect(missing.hint?.contains("Backup Secrets Reader") == true)
        // An unknown role has no id and grants nothing: the VM's backups would fail too.
        #expect(unknown.diagnostics.contains { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })

        let elsewhere = try await Planner(provider: Self.provider()).plan(
            desired: Self.desired([(Self.roleAddress, Self.role(keyVault: "kv-missing"))]), inventory: [:])
        #expect(elsewhere.diagnostics.first { $0.code == "KeyVaultNotFound" }?.location == SourceLocation(file: "m.yaml", line: 84, column: 13))
    }

    /// Applied once, the plan has no changes; pruning the role while the VM stays protected is an error.
    @Test func applyThenPlanIsCleanAndPruningTheRoleIsAnError() async throws {
        let provider = Self.provider()
        let store = MemoryStateStore()
        let first = try await Planner(provider: provider).plan(desired: Self.desired([(Self.roleAddress, Self.role())]), inventory: [:])
        #expect(try await Applier(provider: provider, store: store).apply(first, source: ApplySource()).result == .succeeded)
        #expect(provider.mutations.contains("create KeyVaultRoleAssignment/kv-rbac-backup"))

        let again = try await Planner(provider: provider).plan(desired: Self.desired([(Self.roleAddress, Self.role())]), inventory: try store.inventory())
        #expect(again.summary == PlanSummary() && again.diagnostics.isEmpty)
        // The role written in another case is the same role.
        let cased = try await Planner(provider: provider).plan(
            desired: Self.desired([(Self.roleAddress, Self.role("key vault administrator"))]), inventory: try store.inventory())
        #expect(cased.summary == PlanSummary())

        let kept = try await Planner(provider: provider).plan(desired: Self.desired([]), inventory: try store.inventory())
        #expect(!kept.hasErrors, "without --prune the assignment stays: \(kept.diagnostics)")
        let pruned = try await Planner(provider: provider).plan(desired: Self.desired([]), inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(pruned.changes.contains { $0.address == Self.roleAddress && $0.action == .delete })
        #expect(pruned.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" }?.severity == .error)
    }
}

extension DesiredState {
    func adding(_ resource: DesiredResource) -> DesiredState { DesiredState(resources: resources + [resource]) }
}
