import CofferManifest
import CofferModel
import Testing

/// Each kind's fields, defaults and normal forms; coffer's strict reading of YAML scalars.
@Suite struct DecodingTests {
    func spec(_ yaml: String, _ address: String) throws -> ResourceSpec {
        let result = loadWithBase(yaml)
        let state = try #require(result.state, "\(result.diagnostics.map { $0.rendered() })")
        let parsed = try #require(ResourceAddress(parsing: address))
        return try #require(state[parsed]).spec
    }

    @Test func vaultDefaultsAreTheService() throws {
        let minimal = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c}
            spec: {resourceGroup: rg-c, location: northeurope}
            """
        let expected = VaultSpec(resourceGroup: "rg-c", location: "northeurope")
        #expect(try spec(minimal, "RecoveryServicesVault/rsv-c") == .vault(expected))
        #expect(expected.sku == .standard && expected.storageRedundancy == .geoRedundant && !expected.crossRegionRestore)
        #expect(expected.softDeleteState == .enabled && expected.softDeleteRetentionDays == 14)
        #expect(expected.publicNetworkAccess && !expected.systemAssignedIdentity && expected.immutability == .disabled)
    }

    @Test func vaultEveryField() throws {
        let full = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c, labels: {team: platform}}
            spec:
              subscription: 11111111-1111-1111-1111-111111111111
              resourceGroup: rg-c
              location: westeurope
              sku: RS0
              storageRedundancy: ZoneRedundant
              crossRegionRestore: false
              immutability: Locked
              softDelete: {state: AlwaysOn, retentionDays: 180}
              publicNetworkAccess: false
              identity: {type: SystemAssigned}
              encryption: {keyVault: kv-backup, key: backup-key, infrastructureEncryption: true}
              tags: {owner: ops, "cost center": "4711"}
            """
        #expect(try spec(full, "RecoveryServicesVault/rsv-c") == .vault(VaultSpec(
            subscription: "11111111-1111-1111-1111-111111111111", resourceGroup: "rg-c", location: "westeurope",
            sku: .rs0, storageRedundancy: .zoneRedundant, crossRegionRestore: false, immutability: .locked,
            softDeleteState: .alwaysOn, softDeleteRetentionDays: 180, publicNetworkAccess: false,
            systemAssignedIdentity: true,
            encryption: VaultEncryption(keyVault: "kv-backup", key: "backup-key", infrastructureEncryption: true),
            tags: ["owner": "ops", "cost center": "4711"])))
    }

    func policy(_ body: String) throws -> BackupPolicySpec {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-c}
            spec:
              vault: rsv-a

            """ + body
        guard case .backupPolicy(let policy) = try spec(yaml, "BackupPolicy/pol-c") else {
            Issue.record("not a policy")
            throw CancellationError()
        }
        return policy
    }

    @Test func instantRestoreDefaultsFollowTypeAndFrequency() throws {
        let daily = try policy("""
              schedule: {frequency: Daily, time: "22:30"}
              retention: {daily: {count: 7}}
            """)
        #expect(daily.instantRestoreRetentionDays == 2)
        #expect(daily.policyType == .standard && daily.timeZone == "UTC")
        #expect(daily.schedule == BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 22, minute: 30)))

        let weekly = try policy("""
              schedule: {frequency: Weekly, time: "01:00", weekdays: [Saturday, Sunday]}
              retention: {weekly: {count: 4, weekdays: [Sunday]}}
            """)
        #expect(weekly.instantRestoreRetentionDays == 5)
        // Lists are sets: sorted Sunday first, as calendars number weekdays.
        #expect(weekly.schedule.weekdays == [.sunday, .saturday])

        let enhanced = try policy("""
              policyType: Enhanced
              timeZone: W. Europe Standard Time
              schedule: {frequency: Daily, time: "00:00"}
              retention: {daily: {count: 180}}
            """)
        #expect(enhanced.instantRestoreRetentionDays == 7)
        #expect(enhanced.timeZone == "W. Europe Standard Time")
    }

    @Test func dayBasedCalendarRetention() throws {
        let spec = try policy("""
              schedule: {frequency: Daily, time: "02:00"}
              retention:
                daily: {count: 30}
                monthly: {count: 24, days: [15, 1], includeLastDay: true}
                yearly: {count: 10, months: [December, March], includeLastDay: true}
            """)
        #expect(spec.retention.monthly == CalendarRetention(count: 24, days: [1, 15], includeLastDay: true))
        #expect(spec.retention.yearly == CalendarRetention(count: 10, months: [.march, .december], includeLastDay: true))
    }

    @Test func protectedVMById() throws {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata: {name: vm-c}
            spec:
              vm: {id: /subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app/providers/microsoft.compute/virtualMachines/vm-c}
              vault: rsv-b
              policy: pol-b
              protectionState: BackupsSuspended
              deletionPolicy: Delete
              excludeDiskLuns: [3, 0]
            """
        #expect(try spec(yaml, "ProtectedVM/vm-c") == .protectedVM(ProtectedVMSpec(
            vm: VMReference(subscription: "11111111-1111-1111-1111-111111111111", resourceGroup: "rg-app", name: "vm-c"),
            vault: "rsv-b", policy: "pol-b", protectionState: .backupsSuspended, deletionPolicy: .delete,
            excludeDiskLuns: [0, 3])))
    }

    @Test(arguments: [
        ("name: Backup Management Service", Principal.backupManagementService),
        ("applicationId: 262044b1-e2ce-469f-a196-69ab7ada62d3", Principal.backupManagementService),
        ("objectId: 0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6", Principal.objectID("0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6")),
    ])
    func principals(_ line: String, _ expected: Principal) throws {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata: {name: kv-c}
            spec:
              keyVault: kv-app-eastus
              principal: {\(line)}
              secretPermissions: [List, Get]
            """
        #expect(try spec(yaml, "KeyVaultAccessPolicy/kv-c") == .keyVaultAccessPolicy(KeyVaultAccessPolicySpec(
            keyVault: "kv-app-eastus", principal: expected, secretPermissions: [.get, .list])))
    }

    /// A role assignment: the principal as an access policy's, a built-in role in Azure's own case, a custom
    /// role as written.
    @Test(arguments: [
        ("name: Backup Management Service", "key vault ADMINISTRATOR", Principal.backupManagementService, "Key Vault Administrator"),
        ("applicationId: 262044b1-e2ce-469f-a196-69ab7ada62d3", "Key Vault Crypto Service Encryption User", .backupManagementService,
         "Key Vault Crypto Service Encryption User"),
        ("objectId: 0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6", "Backup Key Vault Reader", .objectID("0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"),
         "Backup Key Vault Reader"),
    ] as [(String, String, Principal, String)])
    func roleAssignments(_ principal: String, _ role: String, _ expected: Principal, _ expectedRole: String) throws {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata: {name: kv-rbac-backup}
            spec:
              keyVault: kv-rbac-eastus
              principal: {\(principal)}
              role: \(role)
            """
        #expect(try spec(yaml, "KeyVaultRoleAssignment/kv-rbac-backup") == .keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(
            keyVault: "kv-rbac-eastus", principal: expected, role: expectedRole)))
    }

    /// A role assignment's mistakes, each at its line and column.
    @Test func roleAssignmentErrorsAreAtTheirPositions() throws {
        let result = load("""
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata: {name: kv-rbac-backup}
            spec:
              keyVault: kv-rbac-eastus
              principal: {name: Backup Management Service, objectId: 0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6}
              roles: Key Vault Administrator
            """, path: "r.yaml")
        #expect(result.state == nil)
        let conflict = try #require(result.diagnostics("conflicting-fields").first)
        #expect(conflict.location == SourceLocation(file: "r.yaml", line: 6, column: 48))
        #expect(conflict.detail == "a role assignment grants one principal")
        let unknown = try #require(result.diagnostics("unknown-field").first)
        #expect(unknown.location == SourceLocation(file: "r.yaml", line: 7, column: 3))
        #expect(unknown.hint == "did you mean 'role'?")
        let missing = try #require(result.diagnostics("missing-field").first)
        #expect(missing.summary.contains("role"))
        #expect(missing.location?.line == 4)
    }

    /// Strict YAML 1.2 scalars: a field's type is what is written, never a guess.
    @Test(arguments: [
        ("crossRegionRestore: True", "wrong-type", "write it in lower case: true"),
        ("crossRegionRestore: \"true\"", "wrong-type", "remove the quotes: crossRegionRestore: true"),
        ("publicNetworkAccess: off", "wrong-type", "write false"),
        ("publicNetworkAccess: 1", "wrong-type", "write true or false"),
        ("resourceGroup: 123", "wrong-type", "quote it to make it a string: \"123\""),
        ("location:", "wrong-type", "give a value, or remove the field"),
        ("softDelete: {retentionDays: \"30\"}", "wrong-type", "remove the quotes: retentionDays: 30"),
        ("softDelete: {retentionDays: 30.0}", "wrong-type", nil),
        ("softDelete: {retentionDays: 0x1E}", "wrong-type", nil),
        ("softDelete: {retentionDays: 99999999999999999999}", "out-of-range", "use between 14 and 180"),
        ("softDelete: [Enabled]", "wrong-type", nil),
        ("tags: {cost-center: 4711}", "wrong-type", "quote it to make it a string: \"4711\""),
        ("location: East US", "invalid-value", "did you mean 'eastus'?"),
        ("sku: standard", "invalid-value", "did you mean 'Standard'?"),
    ] as [(String, String, String?)])
    func scalarsAreReadStrictly(_ line: String, _ code: String, _ hint: String?) throws {
        let fields = ["resourceGroup: rg-c", "location: eastus"].filter { !line.hasPrefix($0.prefix(while: { $0 != ":" })) }
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c}
            spec:
            \((fields + [line]).map { "  " + $0 }.joined(separator: "\n"))
            """
        let result = loadWithBase(yaml)
        #expect(result.codes == [code], "\(result.diagnostics.map { $0.rendered() })")
        if let hint { #expect(result.diagnostics.first?.hint == hint) }
    }

    @Test func unquotedTimeIsAStringNotSexagesimal() throws {
        // YAML 1.1 read 02:30 as the number 150; coffer reads it as written.
        let spec = try policy("""
              schedule: {frequency: Daily, time: 02:30}
              retention: {daily: {count: 30}}
            """)
        #expect(spec.schedule.time == TimeOfDay(hour: 2, minute: 30))
    }

    @Test func documentsPerFileAndEmptyDocuments() throws {
        let yaml = """
            # only a comment
            ---
            ---
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c}
            spec: {resourceGroup: rg-c, location: eastus}
            ---
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-d}
            spec: {resourceGroup: rg-d, location: eastus}
            ...
            """
        let result = load(yaml)
        #expect(result.diagnostics.isEmpty)
        #expect(result.state?.resources.map(\.address.name) == ["rsv-c", "rsv-d"])
    }

    @Test func aDocumentMustBeAMapping() throws {
        let result = load("- a\n- b\n")
        #expect(result.codes == ["wrong-type"])
        #expect(result.diagnostics.first?.summary == "a manifest document must be a mapping, found a list")
    }

    @Test func danglingReferencesAreNotClaimedWhenAFileCouldNotBeRead() throws {
        let policy = """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-c}
            spec:
              vault: rsv-elsewhere
              schedule: {frequency: Daily, time: "02:00"}
              retention: {daily: {count: 30}}
            """
        // The vault may be declared in the part of broken.yaml that could not be parsed.
        let result = load([("broken.yaml", "a: [1,\n"), ("policy.yaml", policy)])
        #expect(result.codes == ["yaml-syntax"])
        #expect(load([("policy.yaml", policy)]).codes == ["dangling-reference"])
    }

    @Test func everyProblemOfADocumentIsReportedAtOnce() {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: p}
            spec:
              vault: rsv-zz
              policyType: Standard
              schedule: {frequency: Hourly, time: "08:15", hourInterval: 5, hourDuration: 30}
              instantRestoreRetentionDays: 40
              retention: {weekly: {count: 0, weekdays: [sunday]}}
              extra: true
            """
        let result = loadWithBase(yaml)
        #expect(result.codes.sorted() == [
            "daily-retention-required", "dangling-reference", "hourly-requires-enhanced", "invalid-name",
            "invalid-value", "out-of-range", "out-of-range", "out-of-range", "out-of-range", "out-of-range",
            "unknown-field",
        ])
    }
}
