import CofferModel
import Testing

/// The one table of Azure's naming rules: what each check reports, in which order.
@Suite struct NamingRuleTests {
    @Test(arguments: [
        ("kv-app", nil),
        ("kv", NamingProblem.length),
        (String(repeating: "k", count: 25), .length),
        ("kv_app", .character),
        ("1kv", .first),
        ("kv-", .last),
        ("kv--app", .doubleHyphen),
    ] as [(String, NamingProblem?)])
    func keyVault(_ name: String, _ problem: NamingProblem?) {
        #expect(NamingRule.keyVault.check(name) == problem)
        #expect(NamingRule.keyVault.accepts(name) == (problem == nil))
    }

    @Test func vmNamesOnWindowsAreShorterAndHaveNoPeriods() {
        #expect(NamingRule.vmName.check("lnx.db-01") == nil)
        #expect(NamingRule.windowsVMName.check("win.app") == .character)
        #expect(NamingRule.windowsVMName.check("win-app-0123456789") == .length)
        #expect(NamingRule.vmName.check("12345") == .allDigits)
        #expect(NamingRule.vmName.check("vm-") == .last)
        #expect(NamingRule.vmName.check("_vm") == .first)
        #expect(NamingRule.vmName.check("7") == .allDigits)
        #expect(NamingRule.vmName.check("a") == nil)
    }

    @Test func theLengthIsCheckedFirstAndInScalars() {
        // A huge name costs no more than the limit, and is a length problem whatever its characters.
        #expect(NamingRule.vault.check(String(repeating: "?", count: 1_000_000)) == .length)
        #expect(NamingRule.vault.check("é" + String(repeating: "a", count: 49)) == .character)
        #expect(NamingRule.diskEncryptionSet.check(String(repeating: "x", count: 80)) == nil)
        #expect(NamingRule.diskEncryptionSet.check("") == .length)
    }

    @Test func uuidsAndVMIDsAreFormats() {
        #expect(NamingRule.uuid.check("f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64") == nil)
        #expect(NamingRule.uuid.check("f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a6g") == .format)
        #expect(NamingRule.uuid.check("f40e5c5a") == .length)
        let id = "/subscriptions/s/resourceGroups/rg/providers/microsoft.compute/virtualMachines/vm"
        #expect(NamingRule.vmID.check(id) == nil)
        #expect(NamingRule.vmID.check(id.replacingOccurrences(of: "/rg/", with: "//")) == .format)
    }

    @Test func resourceGroupsAcceptUnicodeWordCharacters() {
        #expect(NamingRule.resourceGroup.check("rg-été_(1)") == nil)
        #expect(NamingRule.resourceGroup.check("rg.") == .last)
        #expect(NamingRule.resourceGroup.check("rg/a") == .character)
    }
}
