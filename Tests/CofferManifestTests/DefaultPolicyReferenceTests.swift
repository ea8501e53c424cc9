import CofferManifest
import CofferModel
import Testing

/// A ProtectedVM may name the default policies every vault has, DefaultPolicy and EnhancedPolicy, without
/// declaring them; any other policy must be declared.
@Suite struct DefaultPolicyReferenceTests {
    static func protected(policy: String, vault: String = "rsv-a", name: String = "vm-a") -> String {
        """
        ---
        apiVersion: coffer.dev/v1
        kind: ProtectedVM
        metadata: {name: \(name)}
        spec: {vm: {resourceGroup: rg-app, name: \(name)}, vault: \(vault), policy: \(policy)}
        """
    }

    @Test(arguments: ["DefaultPolicy", "EnhancedPolicy"])
    func aDefaultPolicyNeedsNoDeclaration(_ policy: String) throws {
        let result = load(baseManifests + "\n" + Self.protected(policy: policy))
        #expect(result.diagnostics.isEmpty)
        let state = try #require(result.state)
        #expect(!state.resources.contains { $0.address == ResourceAddress(kind: .backupPolicy, name: policy) })
        guard case .protectedVM(let spec)? = state[ResourceAddress(kind: .protectedVM, name: "vm-a")]?.spec else {
            Issue.record("no ProtectedVM/vm-a")
            return
        }
        #expect(spec.policy == policy)
        #expect(spec.vault == "rsv-a")
    }

    @Test func anUnknownUndeclaredPolicyIsStillRefused() throws {
        let result = load(baseManifests + "\n" + Self.protected(policy: "pol-zz"))
        #expect(result.codes == ["dangling-reference"])
        #expect(result.state == nil)
    }

    /// The default names are written as the service writes them; a near miss is refused with the right name.
    @Test func aMisspeltDefaultPolicyIsRefusedWithADidYouMean() throws {
        let result = load(baseManifests + "\n" + Self.protected(policy: "defaultpolicy"))
        #expect(result.codes == ["dangling-reference"])
        #expect(result.diagnostics.first?.hint == "did you mean 'DefaultPolicy'?")
        #expect(result.diagnostics.first?.detail?.contains("DefaultPolicy, EnhancedPolicy") == true)
    }

    /// The vault must still be declared.
    @Test func theVaultOfADefaultPolicyMustBeDeclared() throws {
        let result = load(baseManifests + "\n" + Self.protected(policy: "DefaultPolicy", vault: "rsv-zz"))
        #expect(result.codes == ["dangling-reference"])
        #expect(result.diagnostics.first?.summary.contains("vault 'rsv-zz'") == true)
    }

    /// A declared policy of a default name is the one a ProtectedVM names, and is checked as any other: in
    /// another vault, it is refused.
    @Test func aDeclaredDefaultPolicyWinsAndIsChecked() throws {
        let declared = """
            ---
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: DefaultPolicy}
            spec:
              vault: rsv-b
              schedule: {frequency: Daily, time: "22:30"}
              retention: {daily: {count: 45}}
            """
        let elsewhere = load(baseManifests + "\n" + declared + "\n" + Self.protected(policy: "DefaultPolicy"))
        #expect(elsewhere.codes == ["policy-in-other-vault"])
        let same = load(baseManifests + "\n" + declared + "\n" + Self.protected(policy: "DefaultPolicy", vault: "rsv-b"))
        #expect(same.diagnostics.isEmpty)
        guard case .backupPolicy(let policy)? = same.state?[ResourceAddress(kind: .backupPolicy, name: "DefaultPolicy")]?.spec else {
            Issue.record("no BackupPolicy/DefaultPolicy")
            return
        }
        #expect(policy.retention.daily?.count == 45)
    }
}
