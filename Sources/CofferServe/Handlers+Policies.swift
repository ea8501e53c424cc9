import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Backup policies: the Azure VM ones (AzureIaasVM), Standard (V1) and Enhanced (V2).
extension Handlers {
    func policyBody(_ info: PolicyInfo) -> BackupPolicyResource {
        BackupPolicyResource(id: info.id, name: info.name, spec: info.spec, protectedItems: info.protectedItems)
    }

    /// The policies of the request's vault.
    func policies(of vault: VaultInfo) async throws(ARMError) -> [PolicyInfo] {
        let name = vault.name
        return try await access.run { try $0.policies(vault: name) }
    }

    func findPolicy(_ request: ARMRequest, in vault: VaultInfo) async throws(ARMError) -> PolicyInfo? {
        let wanted = request["policy"].lowercased()
        return try await policies(of: vault).first { $0.name.lowercased() == wanted }
    }

    /// Lists the vault's policies; a `$filter` on another `backupManagementType` lists none.
    func listPolicies(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let filter = ODataFilter(request.query["$filter"])
        if let type = filter["backupManagementType"], type.lowercased() != "azureiaasvm" {
            return try page([BackupPolicyResource](), request)
        }
        return try page(try await policies(of: vault).map(policyBody), request)
    }

    func getPolicy(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        guard let policy = try await findPolicy(request, in: vault) else {
            throw .resourceNotFound(type: BackupPolicyResource.type, name: request["policy"])
        }
        return .json(policyBody(policy))
    }

    /// Creates or updates a policy: 200 either way, as ProtectionPolicies_CreateOrUpdate answers (the SDK
    /// takes 200 and 202, not 201). The platform applies a change to the items that use it at once.
    func putPolicy(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let spec = try request.decode(BackupPolicyResource.self).spec(vault: vault.name)
        let name = request["policy"]
        let info: PolicyInfo
        if let existing = try await findPolicy(request, in: vault) {
            info = try await access.run { try $0.updatePolicy(name: existing.name, spec: spec) }
        } else {
            info = try await access.run { try $0.createPolicy(name: name, spec: spec) }
        }
        return .json(policyBody(info))
    }

    /// Deletes a policy: 200, or 204 when there is none; refused while items use it.
    func deletePolicy(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        guard let policy = try await findPolicy(request, in: vault) else { return ARMResponse(status: 204) }
        let vaultName = vault.name
        try await access.run { try $0.deletePolicy(vault: vaultName, name: policy.name) }
        return ARMResponse(status: 200)
    }
}

/// The `name eq 'value'` clauses of an OData `$filter` joined by `and`, as the backup API's lists take them
/// (`backupManagementType eq 'AzureIaasVM' and status eq 'Failed'`). Other forms are ignored, as the
/// service ignores filters it does not apply.
struct ODataFilter: Sendable {
    private var clauses: [String: String] = [:]

    init(_ text: String?) {
        guard let text, text.count <= 2048 else { return }
        for clause in text.components(separatedBy: " and ") {
            let parts = clause.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[1].lowercased() == "eq" else { continue }
            var value = String(parts[2]).trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            clauses[parts[0].lowercased()] = value
        }
    }

    subscript(_ name: String) -> String? { clauses[name.lowercased()] }
}
