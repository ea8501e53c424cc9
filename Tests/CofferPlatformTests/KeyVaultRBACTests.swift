import CofferModel
import CofferTestSupport
import Foundation
import GRDB
import Testing

@testable import CofferPlatform

/// Key vaults that use Azure RBAC: the world file's permission model, custom roles and role assignments;
/// each model refusing the other's grant; backups of ADE VMs judged by the Backup Management Service's roles.
@Suite struct KeyVaultRBACTests {
    // MARK: The world file

    /// `WorldLoaderTests.minimal` with an RBAC key vault, a custom role and a role assignment.
    static let rbacWorld = WorldLoaderTests.minimal + """
        roleDefinitions:
          - name: Backup Key Vault Reader
            id: 7D3E8A61-2B4C-4F0A-9E1D-5C6B7A8F9012
            dataActions:
              - Microsoft.KeyVault/vaults/keys/backup/action
              - Microsoft.KeyVault/vaults/secrets/backup/action
              - Microsoft.KeyVault/vaults/secrets/getSecret/action
              - Microsoft.KeyVault/vaults/keys/read
              - Microsoft.KeyVault/vaults/secrets/readMetadata/action
            notDataActions: [Microsoft.KeyVault/vaults/secrets/purge/action]
        keyVaults:
          - name: kv-rbac
            resourceGroup: rg
            region: eastus
            rbacAuthorization: true
            roleAssignments:
              - {principal: BackupManagementService, role: Backup Key Vault Reader}
              - {objectId: 0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6, role: key vault secrets user}
          - name: kv-policies
            resourceGroup: rg
            region: eastus

        """

    @Test func theWorldDeclaresThePermissionModelCustomRolesAndRoleAssignments() throws {
        let world = try WorldLoader.load(text: Self.rbacWorld, file: "w.yaml")
        let role = try #require(world.roleDefinitions.first)
        #expect(role.name == "Backup Key Vault Reader" && role.id == "7d3e8a61-2b4c-4f0a-9e1d-5c6b7a8f9012")
        #expect(role.dataActions.count == 5 && role.notDataActions == ["Microsoft.KeyVault/vaults/secrets/purge/action"])
        let rbac = try #require(world.keyVaults.first { $0.name == "kv-rbac" })
        #expect(rbac.rbacAuthorization && rbac.permissionModel == .rbac)
        #expect(rbac.roleAssignments == [
            World.RoleAssignment(principal: .backupManagementService, role: "Backup Key Vault Reader"),
            World.RoleAssignment(principal: .objectID("0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"), role: "key vault secrets user"),
        ])
        // Left out, the model stays access policies, so existing worlds keep working.
        #expect(try #require(world.keyVaults.first { $0.name == "kv-policies" }).permissionModel == .accessPolicies)
    }

    @Test func initCreatesTheRoleAssignmentsWithTheirNames() throws {
        let directory = try TemporaryDirectory()
        let platform = try Platform.create(stateDirectory: directory.path("state"), world: try WorldLoader.load(text: Self.rbacWorld, file: "w.yaml"))
        let assignments = try platform.roleAssignments()
        #expect(assignments.map(\.role) == ["Key Vault Secrets User", "Backup Key Vault Reader"])
        let bms = try #require(assignments.first { $0.objectID == Platform.backupManagementServiceObjectID })
        #expect(bms.principalName == "Backup Management Service" && bms.managedBy == nil)
        let scope = Platform.keyVaultID(subscriptionID: "22222222-2222-2222-2222-222222222222", resourceGroup: "rg", name: "kv-rbac")
        #expect(bms.name == RoleDefinition.assignmentName(
            scope: scope, principalObjectID: Platform.backupManagementServiceObjectID, roleDefinitionID: "7d3e8a61-2b4c-4f0a-9e1d-5c6b7a8f9012"))
        #expect(bms.id == "\(scope)/providers/Microsoft.Authorization/roleAssignments/\(bms.name)")
        #expect(try platform.roleDefinitions().map(\.name) == ["Backup Key Vault Reader"])
        let info = try platform.keyVaultInfo(named: "kv-rbac")
        #expect(info.permissionModel == .rbac && info.roleAssignments.count == 2)
        #expect(try platform.keyVaultInfo(named: "kv-policies").permissionModel == .accessPolicies)
    }

    /// Each problem at its `file:line:column`: grants of the other model, an unknown role, a duplicate, and
    /// a custom role that takes a built-in role's name or allows nothing.
    @Test func worldErrorsAreReportedAtTheirPositions() {
        let text = WorldLoaderTests.minimal + """
            roleDefinitions:
              - {name: Key Vault Reader, id: 7d3e8a61-2b4c-4f0a-9e1d-5c6b7a8f9012, dataActions: [Microsoft.KeyVault/vaults/keys/read]}
              - {name: Empty, id: not-a-guid, dataActions: []}
              - {name: Odd, id: 5b2a6c1e-0f3d-4b8e-9a71-2c4d6e8f0a1b, dataActions: ["keys read"]}
            keyVaults:
              - name: kv-rbac
                resourceGroup: rg
                region: eastus
                rbacAuthorization: true
                accessPolicies:
                  - {principal: BackupManagementService, secretPermissions: [Get]}
                roleAssignments:
                  - {principal: BackupManagementService, role: Key Vault Administrater}
                  - {principal: operator, role: Key Vault Reader}
                  - {principal: operator, role: key vault reader}
              - name: kv-policies
                resourceGroup: rg
                region: eastus
                roleAssignments:
                  - {principal: BackupManagementService, role: Key Vault Administrator}

            """
        let found = WorldLoaderTests().diagnostics(text)
        func at(_ code: String, _ line: Int, _ column: Int, _ text: String) {
            #expect(found.contains { $0.code == code && $0.location == SourceLocation(file: "w.yaml", line: line, column: column) && $0.summary.contains(text) },
                    "\(code) at \(line):\(column) in \(found.map { $0.rendered() })")
        }
        at("world-duplicate", 9, 12, "'Key Vault Reader' is the name of a built-in role")
        at("world-invalid-value", 10, 23, "'not-a-guid' is not a GUID")
        at("world-invalid-value", 10, 48, "allows no data action")
        at("world-invalid-value", 11, 73, "'keys read' is not a data action")
        at("world-rule", 18, 7, "uses Azure RBAC (rbacAuthorization: true), which ignores access policies")
        at("world-unknown-reference", 20, 52, "unknown role 'Key Vault Administrater'")
        at("world-duplicate", 22, 37, "role 'Key Vault Reader' is assigned twice")
        at("world-rule", 27, 7, "uses access policies, which ignore role assignments")
        #expect(found.filter { $0.severity == .error }.count == 8)
        #expect(found.first { $0.code == "world-unknown-reference" }?.hint == "did you mean 'Key Vault Administrator'?")
    }

    // MARK: Each model refuses the other's grant

    @Test func eachModelRefusesTheOthersGrantWithItsCode() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        expectCode("KeyVaultUsesRbacAuthorization") {
            try TestWorld.grantBackupAccess(platform, keyVault: "kv-rbac")
        }
        #expect(try platform.keyVaultInfo(named: "kv-rbac").accessPolicies.isEmpty)
        expectCode("KeyVaultUsesAccessPolicies") {
            try platform.assignRole(keyVault: "kv-east", principal: .backupManagementService, role: "Key Vault Administrator")
        }
        #expect(try platform.keyVaultInfo(named: "kv-east").roleAssignments.isEmpty)
        expectCode("RoleDefinitionDoesNotExist") {
            try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Superuser")
        }
        let assigned = try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: "key vault administrator")
        #expect(assigned.role == "Key Vault Administrator" && assigned.managedBy == nil)
        expectCode("RoleAssignmentExists") {
            try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Administrator")
        }
        try platform.removeRoleAssignment(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Administrator")
        expectCode("ResourceNotFound") {
            try platform.removeRoleAssignment(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Administrator")
        }
        #expect(try platform.roleAssignments().isEmpty)
    }

    // MARK: Backups of ADE VMs whose key vault uses Azure RBAC

    static func protectRBACVMs(_ platform: Platform) throws {
        try TestWorld.withVault(platform)
        for vm in ["lnx-rbac", "win-rbac"] { try platform.enableProtection(vm: vm, vault: "rsv-east", policy: "daily") }
    }

    @Test func backupsNeedTheBackupManagementServicesRole() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try Self.protectRBACVMs(platform)
        do {
            _ = try platform.backup(vm: "win-rbac")
            Issue.record("the backup succeeded without a role")
        } catch let error as PlatformError {
            #expect(error.code == "UserErrorKeyVaultPermissionsNotConfigured")
            #expect(error.message.hasPrefix("Azure Backup Service does not have sufficient permissions to Key Vault 'kv-rbac' for Backup of Encrypted Virtual Machine 'win-rbac' (BEK+KEK): the Backup Management Service lacks data actions"))
            #expect(error.hint?.contains("assign the Backup Management Service (262044b1-e2ce-469f-a196-69ab7ada62d3) the role Key Vault Administrator on 'kv-rbac' (a KeyVaultRoleAssignment)") == true)
            #expect(error.jobID != nil)
        }
        // An access policy cannot stand in: the key vault ignores (and refuses) them. A role for another
        // principal does not count either.
        try platform.assignRole(keyVault: "kv-rbac", principal: .objectID("0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"), role: "Key Vault Administrator")
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { _ = try platform.backup(vm: "lnx-rbac") }

        try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Administrator")
        for vm in ["lnx-rbac", "win-rbac"] {
            let job = try platform.backup(vm: vm)
            #expect(job.status == .completed, "\(vm)")
        }
        // Losing the role out of band fails the next backup again.
        try platform.removeRoleAssignment(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Administrator")
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { _ = try platform.backup(vm: "win-rbac") }
    }

    /// A BEK-only VM needs the secret data actions only; a VM with a KEK needs the key ones too. The built-in
    /// Key Vault Secrets User lacks secrets/backup/action.
    @Test func customRolesCountByTheirDataActions() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try Self.protectRBACVMs(platform)
        try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: "Key Vault Secrets User")
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { _ = try platform.backup(vm: "lnx-rbac") }

        try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: TestWorld.backupSecretsReader.name)
        #expect(try platform.backup(vm: "lnx-rbac").status == .completed)
        do {
            _ = try platform.backup(vm: "win-rbac")
            Issue.record("a VM with a KEK was backed up with secret actions only")
        } catch let error as PlatformError {
            #expect(error.code == "UserErrorKeyVaultPermissionsNotConfigured")
            #expect(error.hint?.contains("Microsoft.KeyVault/vaults/keys/backup/action, Microsoft.KeyVault/vaults/keys/read") == true)
        }
        try platform.assignRole(keyVault: "kv-rbac", principal: .backupManagementService, role: TestWorld.backupKeyReader.name)
        #expect(try platform.backup(vm: "win-rbac").status == .completed)
    }

    /// A member operator's enabling protection grants an access policy on a key vault that uses access
    /// policies, never a role: on an RBAC key vault the role must be assigned.
    @Test func aMembersEnablingProtectionAssignsNoRole() throws {
        let (platform, directory) = try TestWorld.platform(operatorType: .member)
        defer { withExtendedLifetime(directory) {} }
        try Self.protectRBACVMs(platform)
        let rbac = try platform.keyVaultInfo(named: "kv-rbac")
        #expect(rbac.accessPolicies.isEmpty && rbac.roleAssignments.isEmpty)
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { _ = try platform.backup(vm: "lnx-rbac") }
        // The access-policy model is as before: the member's protection grants the policy.
        try platform.enableProtection(vm: "lnx-ade", vault: "rsv-east", policy: "daily")
        #expect(try platform.keyVaultInfo(named: "kv-east").accessPolicies.contains { $0.objectID == Platform.backupManagementServiceObjectID })
        #expect(try platform.backup(vm: "lnx-ade").status == .completed)
    }

    /// The identity of a disk encryption set whose key vault uses Azure RBAC gets the role made for it.
    @Test func aDiskEncryptionSetOnAnRBACKeyVaultIsAssignedItsRole() throws {
        let text = WorldLoaderTests.minimal + """
            keyVaults:
              - {name: kv-des, resourceGroup: rg, region: eastus, purgeProtection: true, rbacAuthorization: true, keys: [{name: k}]}
            diskEncryptionSets:
              - {name: des, resourceGroup: rg, region: eastus, keyVault: kv-des, key: k}
            virtualMachines:
              - {name: vm-cmk, os: linux, region: eastus, resourceGroup: rg, osDisk: {sizeGiB: 1}, encryption: {type: sse-cmk, diskEncryptionSet: des}}

            """
        let directory = try TemporaryDirectory()
        let platform = try Platform.create(stateDirectory: directory.path("state"), world: try WorldLoader.load(text: text, file: "w.yaml"))
        let overview = try platform.overview()
        let des = try #require(overview.diskEncryptionSets.first)
        let keyVault = try #require(overview.keyVaults.first)
        #expect(keyVault.accessPolicies.isEmpty)
        #expect(keyVault.roleAssignments.map(\.objectID) == [des.identityPrincipalID])
        #expect(keyVault.roleAssignments.map(\.role) == ["Key Vault Crypto Service Encryption User"])
        #expect(keyVault.roleAssignments.first?.principalName == "disk encryption set des")
    }

    // MARK: The database

    /// A platform created before key vaults had a permission model opens with access policies for each.
    @Test func theMigrationKeepsExistingKeyVaultsOnAccessPolicies() throws {
        let directory = try TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.path("platform.sqlite"))
        try PlatformStore.migrator.migrate(queue, upTo: "v3-lookup-indexes")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO keyVault(name, subscription, resourceGroup, region, enabledForDiskEncryption, softDelete,
                                     softDeleteRetentionDays, purgeProtection) VALUES ('kv-old', 's', 'rg', 'eastus', 1, 1, 90, 0)
                """)
        }
        try PlatformStore.migrator.migrate(queue)
        let row = try queue.read { db in try KeyVaultRow.fetchOne(db, sql: "SELECT * FROM keyVault") }
        #expect(row?.permissionModel == .accessPolicies)
        #expect(try queue.read { db in try db.tableExists("roleAssignment") && db.tableExists("roleDefinition") })
    }
}
