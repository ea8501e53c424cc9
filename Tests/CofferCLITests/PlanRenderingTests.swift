import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

/// The folder of the golden files.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

/// Whether golden files are being rewritten (COFFER_UPDATE_GOLDEN=1) rather than compared.
var updatingGoldenFiles: Bool { ProcessInfo.processInfo.environment["COFFER_UPDATE_GOLDEN"] == "1" }

/// Compares `text` with the golden file `name` (a path under Golden/); with COFFER_UPDATE_GOLDEN=1 it rewrites
/// the file instead.
func expectGolden(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let url = goldenDirectory.appendingPathComponent(name)
    if updatingGoldenFiles {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("Golden/\(name) is missing; run with COFFER_UPDATE_GOLDEN=1 to create it", sourceLocation: sourceLocation)
        return
    }
    #expect(text == expected, "output differs from Golden/\(name); rerun with COFFER_UPDATE_GOLDEN=1 to accept", sourceLocation: sourceLocation)
}

enum PlanFixture {
    static let vault = ResourceAddress(kind: .recoveryServicesVault, name: "rsv-prod-eastus")
    static let policy = ResourceAddress(kind: .backupPolicy, name: "daily-standard-eastus")
    static let vm = ResourceAddress(kind: .protectedVM, name: "win-app-01")

    static func vaultSpec(location: String = "eastus", crr: Bool = true) -> ResourceSpec {
        .vault(VaultSpec(resourceGroup: "rg-backup-eastus", location: location, crossRegionRestore: crr, tags: ["team": "platform", "api-token": "s3cr3t-t0ken"]))
    }

    static func policySpec(days: Int = 30) -> ResourceSpec {
        .backupPolicy(
            BackupPolicySpec(
                vault: "rsv-prod-eastus", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
                instantRestoreRetentionDays: 2, retention: RetentionSpec(daily: DailyRetention(count: days), weekly: WeeklyRetention(count: 12, weekdays: [.sunday]))))
    }

    static let vmSpec = ResourceSpec.protectedVM(
        ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-eastus", name: "win-app-01"), vault: "rsv-prod-eastus", policy: "daily-standard-eastus"))

    static func desired(_ resources: [(ResourceAddress, ResourceSpec)]) -> DesiredState {
        DesiredState(resources: resources.map { DesiredResource(address: $0.0, spec: $0.1) })
    }

    static func observed(_ resources: [(ResourceAddress, ResourceSpec)]) -> ObservedState {
        ObservedState(
            byAddress: Dictionary(uniqueKeysWithValues: resources.map { ($0.0, ObservedResource(id: "/id/\($0.0.name)", spec: $0.1, name: $0.0.name)) }),
            ids: Dictionary(uniqueKeysWithValues: resources.map { ($0.0, "/id/\($0.0.name)") }))
    }

    static func entry(_ address: ResourceAddress, _ spec: ResourceSpec) -> InventoryEntry {
        InventoryEntry(address: address, id: "/id/\(address.name)", lastApplied: spec, adopted: false, updated: Date(timeIntervalSince1970: 0))
    }
}

@Suite struct PlanRenderingTests {
    @Test func createPlanText() async throws {
        let plan = try await Planner.plan(
            desired: PlanFixture.desired([(PlanFixture.vault, PlanFixture.vaultSpec()), (PlanFixture.policy, PlanFixture.policySpec()), (PlanFixture.vm, PlanFixture.vmSpec)]),
            observed: ObservedState(byAddress: [:], ids: [:]), inventory: [:])
        let text = PlanRendering.text(plan, terminal: .plain)
        #expect(!text.contains("s3cr3t-t0ken"))
        try expectGolden(text, "plan-create.txt")
    }

    @Test func updateReplaceDeleteAndDriftText() async throws {
        let before: [(ResourceAddress, ResourceSpec)] = [
            (PlanFixture.vault, PlanFixture.vaultSpec(location: "eastus")), (PlanFixture.policy, PlanFixture.policySpec(days: 7)),
            (PlanFixture.vm, PlanFixture.vmSpec),
        ]
        let inventory = Dictionary(uniqueKeysWithValues: [
            (PlanFixture.vault, PlanFixture.vaultSpec()), (PlanFixture.policy, PlanFixture.policySpec(days: 30)), (PlanFixture.vm, PlanFixture.vmSpec),
        ].map { ($0.0, PlanFixture.entry($0.0, $0.1)) })
        let desired = PlanFixture.desired([(PlanFixture.vault, PlanFixture.vaultSpec(location: "westus")), (PlanFixture.policy, PlanFixture.policySpec(days: 30))])
        let plan = try await Planner.plan(desired: desired, observed: PlanFixture.observed(before), inventory: inventory, options: PlanOptions(prune: true))
        try expectGolden(PlanRendering.text(plan, terminal: .plain), "plan-changes.txt")
    }

    /// A vault's default policy that left the manifests is forgotten, and the text says it is not destroyed.
    @Test func aForgottenDefaultPolicyIsShownAsLeavingTheInventory() async throws {
        let address = ResourceAddress(kind: .backupPolicy, name: "DefaultPolicy")
        let spec = PlanFixture.policySpec()
        let plan = try await Planner.plan(
            desired: PlanFixture.desired([(PlanFixture.vault, PlanFixture.vaultSpec())]),
            observed: PlanFixture.observed([(PlanFixture.vault, PlanFixture.vaultSpec()), (address, spec)]),
            inventory: [PlanFixture.vault: PlanFixture.entry(PlanFixture.vault, PlanFixture.vaultSpec()), address: PlanFixture.entry(address, spec)],
            options: PlanOptions(prune: true))
        #expect(PlanRendering.text(plan, terminal: .plain) == """
            coffer will forget these default policies, which left the manifests; their vaults keep them (not destroyed):
              . BackupPolicy/DefaultPolicy in vault "rsv-prod-eastus"

            No changes. The platform matches the manifests.
            """)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try JSONOutput.text(PlanJSON(plan)).utf8)) as? [String: Any])
        let changes = try #require(object["resource_changes"] as? [[String: Any]])
        let forgotten = try #require(changes.first { $0["address"] as? String == "BackupPolicy/DefaultPolicy" })
        #expect(forgotten["action"] as? String == "no-op")
        #expect(forgotten["reason"] as? String == "forget-vault-default")
    }

    /// Deleting a protected VM's data names the soft delete and the purge date; a ProtectedVM whose item is
    /// soft-deleted is recovered, not created.
    @Test func softDeleteAndRecoveryText() async throws {
        var deleted = ResourceChange(
            address: PlanFixture.vm, action: .delete, reason: .notInManifests, id: "/id/win-app-01", before: nil, after: nil, spec: nil,
            deletionPolicy: .delete)
        deleted.softDelete = SoftDeleteOutcome(retentionDays: 30, purgeAfter: "2026-02-04T00:00:00Z")
        var plan = Plan(changes: [deleted], drift: [], diagnostics: [], desiredFingerprint: "d", observedFingerprint: "o")
        let text = PlanRendering.text(plan, terminal: .plain)
        #expect(text.contains("# the item stays soft-deleted for 30 days (the vault's soft-delete retention), its recovery points kept and restorable;"))
        #expect(text.contains("# 'coffer undelete win-app-01' (or putting the ProtectedVM back) recovers it until then"))
        #expect(text.contains("# the data is purged for good at 2026-02-04T00:00:00Z, if applied now"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try JSONOutput.text(PlanJSON(plan)).utf8)) as? [String: Any])
        let change = try #require((object["resource_changes"] as? [[String: Any]])?.first)
        let softDelete = try #require(change["soft_delete"] as? [String: Any])
        #expect(softDelete["retention_days"] as? Int == 30 && softDelete["purge_after"] as? String == "2026-02-04T00:00:00Z")

        plan.changes = [ResourceChange(address: PlanFixture.vm, action: .create, reason: .recoverSoftDeleted, id: "/id/win-app-01", before: nil, after: nil, spec: PlanFixture.vmSpec)]
        #expect(PlanRendering.text(plan, terminal: .plain).contains("# ProtectedVM/win-app-01 will be recovered from soft delete"))
        let recovered = try #require(try JSONSerialization.jsonObject(with: Data(try JSONOutput.text(PlanJSON(plan)).utf8)) as? [String: Any])
        let create = try #require((recovered["resource_changes"] as? [[String: Any]])?.first)
        #expect(create["reason"] as? String == "recover-soft-deleted" && create["soft_delete"] == nil)
    }

    @Test func noChangesText() async throws {
        let spec = PlanFixture.vaultSpec()
        let plan = try await Planner.plan(
            desired: PlanFixture.desired([(PlanFixture.vault, spec)]), observed: PlanFixture.observed([(PlanFixture.vault, spec)]),
            inventory: [PlanFixture.vault: PlanFixture.entry(PlanFixture.vault, spec)])
        #expect(PlanRendering.text(plan, terminal: .plain) == "No changes. The platform matches the manifests.")
    }

    @Test func colourOnlyWhenAskedFor() async throws {
        let plan = try await Planner.plan(
            desired: PlanFixture.desired([(PlanFixture.vault, PlanFixture.vaultSpec())]), observed: ObservedState(byAddress: [:], ids: [:]), inventory: [:])
        #expect(!PlanRendering.text(plan, terminal: .plain).contains("\u{1B}["))
        #expect(PlanRendering.text(plan, terminal: Terminal(color: true)).contains("\u{1B}[32m"))
        #expect(!Terminal.forStandardOutput(environment: ["NO_COLOR": "1"]).color)
    }

    @Test func jsonHasTheContractShapeAndNoSecrets() async throws {
        let plan = try await Planner.plan(
            desired: PlanFixture.desired([(PlanFixture.vault, PlanFixture.vaultSpec()), (PlanFixture.policy, PlanFixture.policySpec())]),
            observed: PlanFixture.observed([(PlanFixture.policy, PlanFixture.policySpec(days: 7))]), inventory: [:])
        let data = Data(try JSONOutput.text(PlanJSON(plan)).utf8)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("s3cr3t-t0ken"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["format_version"] as? String == "1")
        #expect(Set(object.keys) == ["format_version", "summary", "resource_changes", "drift", "diagnostics"])
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(summary == ["add": 1, "change": 1, "replace": 0, "destroy": 0])
        let changes = try #require(object["resource_changes"] as? [[String: Any]])
        #expect(changes.map { $0["address"] as? String } == ["RecoveryServicesVault/rsv-prod-eastus", "BackupPolicy/daily-standard-eastus"])
        #expect(changes.map { $0["action"] as? String } == ["create", "update"])
        #expect(changes[0]["sensitive_paths"] as? [String] == ["tags.api-token"])
        for key in ["address", "kind", "name", "action", "reason", "before", "after", "replace_paths", "sensitive_paths"] {
            #expect(changes[0][key] != nil, "missing \(key)")
        }
    }
}
