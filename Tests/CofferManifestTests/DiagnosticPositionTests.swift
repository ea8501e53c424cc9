import CofferManifest
import CofferModel
import Testing

/// One diagnostic kind: the document that triggers it and exactly where it must be reported.
struct DiagnosticCase: CustomTestStringConvertible, Sendable {
    var code: String
    var yaml: String
    var line: Int
    var column: Int
    var warning = false

    var testDescription: String { code }
}

/// One test per kind of diagnostic, each with its exact line and column in `case.yaml` (loaded next to the
/// base world of Support.swift).
@Suite struct DiagnosticPositionTests {
    static let cases: [DiagnosticCase] = [
        DiagnosticCase(
            code: "unknown-field",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  storageRedundency: GeoRedundant
                """, line: 7, column: 3),
        DiagnosticCase(
            code: "wrong-type",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  crossRegionRestore: yes
                """, line: 7, column: 23),
        DiagnosticCase(
            code: "missing-field",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                """, line: 4, column: 1),
        DiagnosticCase(
            code: "invalid-name",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata:
                  name: rsv_c
                spec: {resourceGroup: rg-c, location: eastus}
                """, line: 4, column: 9),
        DiagnosticCase(
            code: "out-of-range",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  softDelete: {state: AlwaysOn, retentionDays: 181}
                """, line: 7, column: 48),
        DiagnosticCase(
            code: "invalid-value",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule: {frequency: Daily, time: "2am"}
                  retention: {daily: {count: 30}}
                """, line: 6, column: 38),
        DiagnosticCase(
            code: "duplicate-key",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  resourceGroup: rg-d
                """, line: 7, column: 3),
        DiagnosticCase(
            code: "duplicate-resource",
            yaml: """
                # rsv-a is declared in a-base.yaml already.
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata:
                  name: rsv-a
                spec: {resourceGroup: rg-c, location: eastus}
                """, line: 5, column: 9),
        DiagnosticCase(
            code: "dangling-reference",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c}
                spec:
                  vm: {resourceGroup: rg-app, name: vm-c}
                  vault: rsv-a
                  policy: pol-x
                """, line: 7, column: 11),
        DiagnosticCase(
            code: "policy-in-other-vault",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c}
                spec:
                  vm: {resourceGroup: rg-app, name: vm-c}
                  vault: rsv-a
                  policy: pol-b
                """, line: 7, column: 11),
        DiagnosticCase(
            code: "crr-requires-grs",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  storageRedundancy: LocallyRedundant
                  crossRegionRestore: true
                """, line: 8, column: 23),
        DiagnosticCase(
            code: "encryption-requires-identity",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  encryption:
                    keyVault: kv-backup
                    key: backup-key
                """, line: 7, column: 3),
        DiagnosticCase(
            code: "weekly-forbids-daily-retention",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule: {frequency: Weekly, time: "02:00", weekdays: [Sunday]}
                  instantRestoreRetentionDays: 5
                  retention:
                    daily: {count: 30}
                    weekly: {count: 12, weekdays: [Sunday]}
                """, line: 9, column: 5),
        DiagnosticCase(
            code: "weekly-retention-required",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule: {frequency: Weekly, time: "02:00", weekdays: [Sunday]}
                  retention:
                    monthly: {count: 12, weeks: [First], weekdays: [Sunday]}
                """, line: 7, column: 3),
        DiagnosticCase(
            code: "daily-retention-required",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule: {frequency: Daily, time: "02:00"}
                  retention:
                    weekly: {count: 12, weekdays: [Sunday]}
                """, line: 7, column: 3),
        DiagnosticCase(
            code: "weekday-not-scheduled",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule: {frequency: Weekly, time: "02:00", weekdays: [Sunday, Wednesday]}
                  retention:
                    weekly: {count: 12, weekdays: [Wednesday, Saturday]}
                """, line: 8, column: 47),
        DiagnosticCase(
            code: "hourly-requires-enhanced",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule:
                    frequency: Hourly
                    time: "08:00"
                    hourInterval: 4
                    hourDuration: 24
                  retention: {daily: {count: 30}}
                """, line: 7, column: 16),
        DiagnosticCase(
            code: "not-applicable",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  schedule:
                    frequency: Daily
                    time: "02:00"
                    hourInterval: 4
                  retention: {daily: {count: 30}}
                """, line: 9, column: 5),
        DiagnosticCase(
            code: "conflicting-fields",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c}
                spec:
                  vm: {resourceGroup: rg-app, name: vm-c}
                  vault: rsv-a
                  policy: pol-a
                  excludeDiskLuns: [0]
                  includeDiskLuns: [1]
                """, line: 9, column: 3),
        DiagnosticCase(
            code: "duplicate-protected-vm",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c}
                spec:
                  vm: {resourceGroup: rg-app, name: vm-c}
                  vault: rsv-a
                  policy: pol-a
                ---
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c-again}
                spec:
                  vm: {resourceGroup: RG-APP, name: VM-C}
                  vault: rsv-b
                  policy: pol-b
                """, line: 13, column: 7),
        DiagnosticCase(
            code: "suspend-requires-immutability",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: ProtectedVM
                metadata: {name: vm-c}
                spec:
                  vm: {resourceGroup: rg-app, name: vm-c}
                  vault: rsv-a
                  policy: pol-a
                  protectionState: BackupsSuspended
                """, line: 8, column: 20),
        DiagnosticCase(
            code: "duplicate-access-policy",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: KeyVaultAccessPolicy
                metadata: {name: kv-one}
                spec:
                  keyVault: kv-app
                  principal: {name: Backup Management Service}
                  secretPermissions: [Get]
                ---
                apiVersion: coffer.dev/v1
                kind: KeyVaultAccessPolicy
                metadata: {name: kv-two}
                spec:
                  keyVault: KV-APP
                  principal:
                    applicationId: 262044b1-e2ce-469f-a196-69ab7ada62d3
                  keyPermissions: [Get]
                """, line: 15, column: 5),
        DiagnosticCase(
            code: "duplicate-role-assignment",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: KeyVaultRoleAssignment
                metadata: {name: kv-admin-one}
                spec:
                  keyVault: kv-rbac
                  principal: {name: Backup Management Service}
                  role: Key Vault Administrator
                ---
                apiVersion: coffer.dev/v1
                kind: KeyVaultRoleAssignment
                metadata: {name: kv-admin-two}
                spec:
                  keyVault: KV-RBAC
                  principal: {applicationId: 262044b1-e2ce-469f-a196-69ab7ada62d3}
                  role: key vault administrator
                """, line: 15, column: 9),
        DiagnosticCase(
            code: "unknown-api-version",
            yaml: """
                apiVersion: coffer.dev/v2
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec: {resourceGroup: rg-c, location: eastus}
                """, line: 1, column: 13),
        DiagnosticCase(
            code: "unknown-kind",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServiceVault
                metadata: {name: rsv-c}
                spec: {resourceGroup: rg-c, location: eastus}
                """, line: 2, column: 7),
        DiagnosticCase(
            code: "yaml-anchor",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec: &spec {resourceGroup: rg-c, location: eastus}
                """, line: 4, column: 7),
        DiagnosticCase(
            code: "yaml-alias",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: *region
                """, line: 6, column: 13),
        DiagnosticCase(
            code: "yaml-tag",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: !!str rg-c
                  location: eastus
                """, line: 5, column: 18),
        DiagnosticCase(
            code: "yaml-merge-key",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  <<: {resourceGroup: rg-c}
                  location: eastus
                """, line: 5, column: 3),
        DiagnosticCase(
            code: "non-scalar-key",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c}
                spec:
                  resourceGroup: rg-c
                  location: eastus
                  ? [a, b]
                  : c
                """, line: 7, column: 5),
        DiagnosticCase(
            code: "yaml-syntax",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: RecoveryServicesVault
                metadata: {name: rsv-c
                spec: {resourceGroup: rg-c, location: eastus}
                """, line: 4, column: 5),
        DiagnosticCase(
            code: "duplicate-value",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: KeyVaultAccessPolicy
                metadata: {name: kv-c}
                spec:
                  keyVault: kv-app
                  principal: {objectId: 0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6}
                  secretPermissions: [Get, List, Get]
                """, line: 7, column: 34, warning: true),
        DiagnosticCase(
            code: "retention-shorter-than-snapshots",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: BackupPolicy
                metadata: {name: pol-c}
                spec:
                  vault: rsv-a
                  policyType: Enhanced
                  schedule: {frequency: Daily, time: "02:00"}
                  instantRestoreRetentionDays: 14
                  retention: {daily: {count: 10}}
                """, line: 9, column: 30, warning: true),
        DiagnosticCase(
            code: "no-permissions",
            yaml: """
                apiVersion: coffer.dev/v1
                kind: KeyVaultAccessPolicy
                metadata: {name: kv-c}
                spec:
                  keyVault: kv-app
                  principal: {name: Backup Management Service}
                """, line: 4, column: 1, warning: true),
    ]

    @Test(arguments: cases)
    func reportsAtTheExactPosition(_ example: DiagnosticCase) throws {
        let result = loadWithBase(example.yaml)
        let found = result.diagnostics(example.code)
        let diagnostic = try #require(found.first, "no \(example.code) in \(result.diagnostics.map { $0.rendered() })")
        #expect(found.count == 1, "\(found.map { $0.rendered() })")
        #expect(diagnostic.location == SourceLocation(file: "case.yaml", line: example.line, column: example.column))
        #expect(diagnostic.severity == (example.warning ? .warning : .error))
        #expect(diagnostic.hint?.isEmpty == false, "every diagnostic says how to fix it")
        #expect(diagnostic.sourceLine == example.yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[example.line - 1])
        // Errors make the whole load invalid; warnings alone do not.
        #expect((result.state == nil) == result.diagnostics.hasErrors)
        if example.warning {
            #expect(result.diagnostics.allSatisfy { $0.severity == .warning }, "\(result.diagnostics.map { $0.rendered() })")
            #expect(result.state != nil)
        }
    }

    @Test func duplicatesNameBothPlaces() throws {
        let key = try #require(loadWithBase(Self.cases.first { $0.code == "duplicate-key" }!.yaml).diagnostics("duplicate-key").first)
        #expect(key.summary == "duplicate key 'resourceGroup' (first at case.yaml:5:3)")
        let resource = try #require(
            loadWithBase(Self.cases.first { $0.code == "duplicate-resource" }!.yaml).diagnostics("duplicate-resource").first)
        #expect(resource.summary == "duplicate resource RecoveryServicesVault/rsv-a (first declared at a-base.yaml:2:1)")
        let vm = try #require(
            loadWithBase(Self.cases.first { $0.code == "duplicate-protected-vm" }!.yaml).diagnostics("duplicate-protected-vm").first)
        #expect(vm.summary == "VM RG-APP/VM-C is already protected by ProtectedVM/vm-c (at case.yaml:5:7)")
        let role = try #require(
            loadWithBase(Self.cases.first { $0.code == "duplicate-role-assignment" }!.yaml).diagnostics("duplicate-role-assignment").first)
        #expect(role.summary == "Backup Management Service is already assigned 'Key Vault Administrator' on key vault 'KV-RBAC' (KeyVaultRoleAssignment/kv-admin-one at case.yaml:7:9)")
    }

    /// Codes whose position is tested in HostileInputTests or FileDiscoveryTests (some have no position:
    /// they are about paths or the whole load).
    static let testedElsewhere: Set<String> = [
        "path-not-found", "unreadable-file", "not-a-regular-file", "no-manifests", "file-too-large",
        "total-too-large", "too-many-files", "invalid-utf8", "unsupported-encoding", "nul-byte",
        "control-character", "too-deep", "too-many-nodes", "too-many-documents", "too-many-diagnostics",
    ]

    @Test func everyCodeIsTested() {
        let tested = Set(Self.cases.map(\.code)).union(Self.testedElsewhere)
        #expect(tested == Set(ManifestCode.allCases.map(\.rawValue)))
    }

    @Test func renderedFormPointsAtTheColumn() throws {
        let result = loadWithBase(Self.cases[0].yaml)
        let diagnostic = try #require(result.diagnostics("unknown-field").first)
        #expect(diagnostic.rendered() == """
            case.yaml:7:3: error[unknown-field]: unknown field 'storageRedundency' in 'spec'
             7 |   storageRedundency: GeoRedundant
               |   ^
              = hint: did you mean 'storageRedundancy'?
            """)
    }
}
