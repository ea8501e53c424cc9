import CofferModel
import CofferRules
import Foundation
import GRDB

extension Platform {
    // MARK: Backup policies

    /// The most policies a vault holds, its default policies included (a new vault has room for 198 more).
    static let policiesPerVault = 200

    /// Creates a VM backup policy in the vault its spec names.
    @discardableResult
    public func createPolicy(name: String, spec: BackupPolicySpec, managedBy: String? = nil) throws -> PolicyInfo {
        try pool.write { db in
            let vault = try Self.vault(db, spec.vault)
            if let problem = Naming.policyNameProblem(name) {
                throw PlatformError(PlatformErrorCode.invalidResourceName, "invalid policy name '\(name)': \(problem)")
            }
            if try PolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy WHERE vault = ? AND lower(name) = lower(?)"),
                                      arguments: [vault.name, name]) != nil {
                throw PlatformError(PlatformErrorCode.resourceAlreadyExists, "vault '\(vault.name)' already has a policy '\(name)'",
                                    hint: "import the existing policy or choose another name")
            }
            let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM policy WHERE vault = ?"), arguments: [vault.name]) ?? 0
            if count >= Self.policiesPerVault {
                throw PlatformError(PlatformErrorCode.limitExceeded, "vault '\(vault.name)' already holds \(count) policies, the most it can")
            }
            var spec = spec
            spec.vault = vault.name
            try Self.checkPolicy(spec)
            let row = PolicyRow(vault: vault.name, name: name, spec: spec, managedBy: managedBy, created: try Self.now(db))
            try row.insert(db)
            return try Self.policyInfo(db, row)
        }
    }

    /// Changes a policy; refuses a change of its type and shorter retention on an immutable vault
    /// (`BackupPolicyRules.update`).
    @discardableResult
    public func updatePolicy(name: String, spec new: BackupPolicySpec) throws -> PolicyInfo {
        try pool.write { db in
            var row = try Self.policy(db, vault: new.vault, name: name)
            let vault = try Self.vault(db, row.vault)
            var new = new
            new.vault = vault.name
            try Self.checkPolicy(new)
            try Self.refuse(BackupPolicyRules.update(name: row.name, from: row.spec, to: new, vaultImmutability: vault.spec.immutability))
            row.spec = new
            try row.update(db)
            return try Self.policyInfo(db, row)
        }
    }

    /// The states in which a backup item uses its policy: protected, pending its first backup, or suspended
    /// with its data kept as per policy. A stopped or soft-deleted item no longer does.
    static let policyUserStates = "('IRPending', 'Protected', 'BackupsSuspended')"

    /// Deletes a policy; refused while backup items use it. A vault's default policies may be deleted too, as
    /// in the service; nothing makes them again.
    public func deletePolicy(vault: String, name: String) throws {
        try pool.write { db in
            let row = try Self.policy(db, vault: vault, name: name)
            let users = try String.fetchAll(db.cachedStatement(sql: "SELECT vm FROM protectedItem WHERE vault = ? AND policy = ? AND state IN \(Self.policyUserStates)"),
                                            arguments: [row.vault, row.name])
            if let violation = BackupPolicyRules.delete(name: row.name, users: users) { throw PlatformError(violation) }
            try row.delete(db)
        }
    }

    /// Every policy, by vault and name.
    public func policies() throws -> [PolicyInfo] {
        try pool.read { db in try PolicyRow.fetchAll(db, sql: "SELECT * FROM policy ORDER BY vault, name").map { try Self.policyInfo(db, $0) } }
    }

    /// The policies of one vault (its name as the platform spells it), by name: what a list of one vault's
    /// policies costs is that vault's, not every vault's.
    public func policies(vault: String) throws -> [PolicyInfo] {
        try pool.read { db in
            try PolicyRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM policy WHERE vault = ? ORDER BY name"), arguments: [vault]).map {
                try Self.policyInfo(db, $0)
            }
        }
    }

    static func policy(_ db: Database, vault: String, name: String) throws -> PolicyRow {
        let vaultRow = try Self.vault(db, vault)
        guard let row = try PolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy WHERE vault = ? AND lower(name) = lower(?)"),
                                               arguments: [vaultRow.name, name]) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "vault '\(vaultRow.name)' has no policy '\(name)'",
                                hint: "list policies with 'coffer get policies'")
        }
        return row
    }

    static func checkPolicy(_ spec: BackupPolicySpec) throws {
        let problems = PolicyRules.problems(spec)
        if !problems.isEmpty {
            throw PlatformError(PlatformErrorCode.invalidPolicyInput, "invalid backup policy: " + problems.joined(separator: "; "),
                                hint: "fix the policy's schedule and retention")
        }
    }

    static func policyInfo(_ db: Database, _ row: PolicyRow) throws -> PolicyInfo { try policyInfo(Lookup(db), row) }

    static func policyInfo(_ lookup: Lookup, _ row: PolicyRow) throws -> PolicyInfo {
        guard let vault = try lookup.vault(row.vault) else { throw Self.noVault(row.vault) }
        let subscription = try lookup.subscription(named: vault.subscription)
        let users = try lookup.itemsUsing(vault: row.vault, policy: row.name)
        let id = policyID(vaultID: vaultID(subscriptionID: subscription?.id ?? vault.subscription, resourceGroup: vault.resourceGroup,
                                           name: vault.name), name: row.name)
        return PolicyInfo(name: row.name, id: id, spec: row.spec, managedBy: row.managedBy, protectedItems: users)
    }
}
