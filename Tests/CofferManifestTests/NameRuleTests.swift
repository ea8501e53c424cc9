import CofferModel
import Testing

@testable import CofferManifest

/// Each naming rule is checked by hand-written code in the loader and printed as a pattern in the schema;
/// both come from one description, and must agree.
@Suite struct NameRuleTests {
    static let rules: [(String, NamingRule)] = [
        ("vault", .vault), ("policy", .policy), ("keyVault", .keyVault), ("keyName", .keyName),
        ("resourceGroup", .resourceGroup), ("vmName", .vmName), ("identifier", .identifier),
        ("subscription", .subscription), ("uuid", .uuid), ("labelKey", .labelKey), ("tagName", .tagName),
        ("vmID", .vmID),
    ]

    @Test func patternsReadAsTheRules() {
        #expect(NamingRule.vault.pattern == "^[a-zA-Z][-a-zA-Z0-9]{1,49}$")
        #expect(NamingRule.policy.pattern == "^[a-zA-Z][-a-zA-Z0-9_!]{1,148}[a-zA-Z0-9_!]$")
        #expect(NamingRule.keyVault.pattern == "^(?!.*--)[a-zA-Z][-a-zA-Z0-9]{1,22}[a-zA-Z0-9]$")
        #expect(NamingRule.resourceGroup.pattern == #"^[-\w.()]{0,89}[-\w()]$"#)
        #expect(NamingRule.vmName.pattern == "^(?![0-9]+$)[a-zA-Z0-9]([-a-zA-Z0-9._]{0,62}[a-zA-Z0-9_])?$")
        #expect(NamingRule.tagName.pattern == #"^[^<>%&\\?/]{1,512}$"#)
        #expect(NamingRule.vmID.pattern.hasPrefix("^/[sS][uU][bB]"))
    }

    /// Names worth trying against every rule: the edges of each, and pseudo-random strings over an alphabet
    /// of the characters the rules treat differently.
    static let samples: [String] = {
        var samples = [
            "", "a", "ab", "a-", "-a", "a--b", "a-b", "1", "12", "123", "1a", "a1", "rsv-prod-eastus",
            "daily-standard-eastus", "p_1!", "kv-app-eastus", "kv--app", "rg(app).x", "rg.", "vm_", "vm.", "vm-",
            "win-app-01", "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", "0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6",
            "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5fg", "app.kubernetes.io/name", "cost center", "a<b", "a\\b",
            "café", "名前", "Ω-1", "a\u{301}", "rg\u{2028}",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
            "/SUBSCRIPTIONS/s/resourcegroups/rg/PROVIDERS/microsoft.compute/VIRTUALMACHINES/v",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v/",
            "/subscriptions//resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
            "/subscriptions/s/resourceGroups/rg/providers/MicrosoftxCompute/virtualMachines/v",
        ]
        for rule in rules.map(\.1) where rule.maxLength < 1000 {
            samples += ["a", "1", "-", "_"].flatMap { [String(repeating: $0, count: rule.maxLength), String(repeating: $0, count: rule.maxLength + 1)] }
            samples.append("a" + String(repeating: "b", count: rule.maxLength - 1))
        }
        let alphabet = Array("aZ09-_.()!/<%&?\\ é名\u{301}")
        var state: UInt64 = 42
        for _ in 0..<3_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 59)
            var text = ""
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            samples.append(text)
        }
        return samples
    }()

    @Test(arguments: rules.map(\.0))
    func codeAndPatternAgree(_ name: String) throws {
        let rule = try #require(Self.rules.first { $0.0 == name }?.1)
        // Unicode-scalar semantics, as JSON Schema's patterns and lengths count code points.
        let regex = try Regex(rule.pattern).matchingSemantics(.unicodeScalar)
        for sample in Self.samples {
            let byPattern = (try? regex.wholeMatch(in: sample)) != nil
            #expect(rule.accepts(sample) == byPattern, "\(name): \(sample.debugDescription)")
        }
    }

    @Test func acceptsTheReferenceWorldsNames() {
        for name in ["rsv-prod-eastus", "rsv-prod-westeurope"] { #expect(NamingRule.vault.accepts(name)) }
        for name in ["daily-standard-eastus", "hourly-enhanced-westeurope"] { #expect(NamingRule.policy.accepts(name)) }
        for name in ["kv-app-eastus", "kv-app-westeurope"] { #expect(NamingRule.keyVault.accepts(name)) }
        for name in ["rg-backup-eastus", "rg-app-westeurope", "rg-keys-eastus"] { #expect(NamingRule.resourceGroup.accepts(name)) }
        for name in ["win-app-01", "lnx-db-01", "lnx-web-01", "win-cmk-01"] { #expect(NamingRule.vmName.accepts(name)) }
        #expect(NamingRule.subscription.accepts("11111111-1111-1111-1111-111111111111"))
        #expect(NamingRule.subscription.accepts("sub-prod"))
    }
}
