import CofferModel
@testable import CofferPlatform
import CofferTestSupport
import Foundation
import Testing

@Suite struct WorldLoaderTests {
    @Test func loadsTheReferenceWorld() throws {
        let world = try WorldLoader.load(path: Fixtures.referenceWorldPath)
        #expect(world.tenant == "contoso")
        #expect(world.operatorIdentity == .init(user: "ops@partner.example", type: .guest))
        #expect(world.defaultSubscription?.name == "sub-prod")
        #expect(world.defaultSubscription?.id == "11111111-1111-1111-1111-111111111111")
        #expect(world.regions == ["eastus", "westeurope"])
        #expect(world.resourceGroups.map(\.name).sorted() == [
            "rg-app-eastus", "rg-app-westeurope", "rg-backup-eastus", "rg-backup-westeurope", "rg-keys-eastus",
            "rg-keys-westeurope",
        ])
        let kv = try #require(world.keyVaults.first { $0.name == "kv-app-eastus" })
        #expect(kv.enabledForDiskEncryption && kv.softDelete && kv.purgeProtection)
        #expect(kv.keys == [World.Key(name: "kek-win-app-01", keyType: "RSA", size: 3072)])
        let win = try #require(world.virtualMachines.first { $0.name == "win-app-01" })
        #expect(win.os == .windows && win.region == "eastus" && win.resourceGroup == "rg-app-eastus")
        #expect(win.osDisk == World.Disk(sizeGiB: 128) && win.dataDisks == [World.Disk(lun: 0, sizeGiB: 64)])
        #expect(win.encryption == .ade(keyVault: "kv-app-eastus", kek: "kek-win-app-01", aadClientID: nil))
        #expect(win.initialData.first == World.InitialData(disk: .os, offset: 0, length: 1 << 20, seed: 101))
        let db = try #require(world.virtualMachines.first { $0.name == "lnx-db-01" })
        #expect(db.encryption.kind == .adeBEKOnly && db.dataDisks.first?.sizeGiB == 256)
        let web = try #require(world.virtualMachines.first { $0.name == "lnx-web-01" })
        #expect(web.encryption == .ssePlatformKey && web.osDisk.sizeGiB == 32)
        let cmk = try #require(world.virtualMachines.first { $0.name == "win-cmk-01" })
        #expect(cmk.encryption == .sseCustomerKey(diskEncryptionSet: "des-westeurope"))
        #expect(world.clock == Fixtures.date("2026-01-05T00:00:00Z"))
    }

    /// Loads `text` and returns the diagnostics it fails with.
    func diagnostics(_ text: String) -> [Diagnostic] {
        do {
            _ = try WorldLoader.load(text: text, file: "w.yaml")
            return []
        } catch let error as WorldError {
            return error.diagnostics
        } catch {
            return [.error("unexpected", "\(error)")]
        }
    }

    static let minimal = """
        tenant: t
        operator: {user: a@b.example, type: member}
        subscriptions:
          - {name: s, id: 22222222-2222-2222-2222-222222222222}
        regions: [eastus]
        resourceGroups:
          - {name: rg, region: eastus}

        """

    @Test func minimalWorldLoadsWithDefaults() throws {
        let world = try WorldLoader.load(text: Self.minimal, file: "w.yaml")
        #expect(world.clock == World.defaultClock)
        #expect(world.defaultSubscription?.name == "s")
        #expect(world.virtualMachines.isEmpty)
    }

    @Test func unknownFieldIsReportedAtItsPositionWithASuggestion() throws {
        let found = diagnostics(Self.minimal + "virtualMachine: []\n")
        let diagnostic = try #require(found.first)
        #expect(found.count == 1)
        #expect(diagnostic.code == "world-unknown-field")
        #expect(diagnostic.location == SourceLocation(file: "w.yaml", line: 8, column: 1))
        #expect(diagnostic.hint == "did you mean 'virtualMachines'?")
        #expect(diagnostic.sourceLine == "virtualMachine: []")
        #expect(diagnostic.rendered().hasPrefix("w.yaml:8:1: error[world-unknown-field]"))
    }

    @Test func everyProblemIsReportedAtOnce() {
        let text = Self.minimal + """
            virtualMachines:
              - name: vm1
                os: plan9
                region: mars
                resourceGroup: rg
                osDisk: {sizeGiB: 40000}
                encryption: {type: ade, keyVault: nowhere}

            """
        let found = diagnostics(text)
        // The loader reports the type error first; fix it and the rules are checked.
        #expect(found.map(\.code) == ["world-invalid-value"])
        #expect(found.first?.location?.line == 10)
        let rules = diagnostics(text.replacingOccurrences(of: "plan9", with: "linux"))
        #expect(Set(rules.map(\.code)) == ["world-unknown-region", "world-invalid-value", "world-unknown-reference"])
        #expect(rules.count == 3)
        #expect(rules.map { $0.location?.line ?? 0 } == [11, 13, 14])
    }

    @Test func anchorsAliasesAndTagsAreRefused() {
        let anchored = Self.minimal.replacingOccurrences(of: "regions: [eastus]", with: "regions: &r [eastus]")
            + "x: *r\n"
        let found = diagnostics(anchored)
        #expect(found.contains { $0.code == "world-anchor" && $0.location?.line == 5 }, "\(found)")
        let tagged = Self.minimal.replacingOccurrences(of: "tenant: t", with: "tenant: !!str t")
        #expect(diagnostics(tagged).map(\.code) == ["world-tag"])
        let custom = Self.minimal.replacingOccurrences(of: "tenant: t", with: "tenant: !custom t")
        #expect(diagnostics(custom).map(\.code) == ["world-tag"])
        #expect(diagnostics(Self.minimal.replacingOccurrences(of: "tenant: t", with: "tenant: \"t\"")).isEmpty)
        // Indicators inside values, quotes, comments and block scalars are data, not tags or aliases.
        let data = Self.minimal + """
            keyVaults:
              - name: kv-one  # a comment with !tag and *alias
                resourceGroup: rg
                region: eastus
                secrets:
                  - {name: a, value: "!quoted *star"}
                  - {name: b, value: 'it''s & fine'}
                  - {name: c, value: plain!bang*star&amp}
                  - name: d
                    value: |
                      !literal
                      *block
            
            """
        #expect(diagnostics(data).isEmpty)
    }

    @Test func syntaxErrorsAndDuplicateKeysHaveALocation() {
        let broken = diagnostics("tenant: [unclosed\n")
        #expect(broken.first?.code == "world-syntax")
        #expect(broken.first?.location?.file == "w.yaml")
        let duplicate = diagnostics(Self.minimal + "tenant: again\n")
        #expect(duplicate.first?.code == "world-duplicate-key")
        #expect(diagnostics("").first?.code == "world-empty")
    }

    @Test func adeNeedsADiskEncryptionEnabledKeyVaultInTheVMsRegion() {
        let text = Self.minimal.replacingOccurrences(of: "regions: [eastus]", with: "regions: [eastus, westus]") + """
            keyVaults:
              - {name: kv-one, resourceGroup: rg, region: westus}
            virtualMachines:
              - name: vm1
                os: windows
                region: eastus
                resourceGroup: rg
                osDisk: {sizeGiB: 64}
                encryption: {type: ade, keyVault: kv-one, kek: missing}

            """
        let found = diagnostics(text)
        #expect(found.filter { $0.code == "world-rule" }.count == 2)
        #expect(found.contains { $0.code == "world-unknown-reference" && $0.summary.contains("missing") })
    }

    @Test func diskEncryptionSetNeedsPurgeProtectionAndAKey() {
        let text = Self.minimal + """
            keyVaults:
              - {name: kv-one, resourceGroup: rg, region: eastus, keys: [{name: k1}]}
            diskEncryptionSets:
              - {name: des1, resourceGroup: rg, region: eastus, keyVault: kv-one, key: k2}

            """
        let found = diagnostics(text)
        #expect(found.contains { $0.code == "world-rule" && $0.summary.contains("purge protection") })
        #expect(found.contains { $0.code == "world-unknown-reference" && $0.summary.contains("k2") })
    }

    @Test func namesAndLimitsFollowTheService() {
        let text = Self.minimal + """
            keyVaults:
              - {name: kv--bad, resourceGroup: rg, region: eastus, softDeleteRetentionDays: 120,
                 keys: [{name: k1, size: 1024}]}
            virtualMachines:
              - name: a-windows-name-too-long
                os: windows
                region: eastus
                resourceGroup: rg
                osDisk: {sizeGiB: 64, managed: false}
                dataDisks: [{lun: 0, sizeGiB: 10}, {lun: 0, sizeGiB: 10, managed: false}]
                initialData: [{disk: 3, offset: 0, length: 1}]

            """
        let found = diagnostics(text)
        let summaries = found.map(\.summary).joined(separator: "\n")
        #expect(summaries.contains("no consecutive hyphens"))
        #expect(summaries.contains("softDeleteRetentionDays"))
        #expect(summaries.contains("2048, 3072 or 4096"))
        #expect(summaries.contains("1 to 15 characters"))
        #expect(summaries.contains("all managed or all unmanaged"))
        #expect(summaries.contains("LUN 0 is used twice"))
        #expect(summaries.contains("has no disk '3'"))
    }

    @Test func aVMsSecurityTypeIsStandardOrTrustedLaunchOnManagedDisks() throws {
        let world = try WorldLoader.load(text: Self.minimal + """
            virtualMachines:
              - {name: tl, os: linux, region: eastus, resourceGroup: rg, securityType: trustedlaunch, osDisk: {sizeGiB: 8}}
              - {name: plain, os: linux, region: eastus, resourceGroup: rg, osDisk: {sizeGiB: 8}}

            """, file: "w.yaml")
        #expect(world.virtualMachines.map(\.securityType) == [.trustedLaunch, .standard])
        let unmanaged = diagnostics(Self.minimal + """
            virtualMachines:
              - {name: tl, os: linux, region: eastus, resourceGroup: rg, securityType: TrustedLaunch, osDisk: {sizeGiB: 8, managed: false}}

            """)
        #expect(unmanaged.contains { $0.code == "world-rule" && $0.summary.contains("Trusted Launch VM has managed disks only") })
        let found = diagnostics(Self.minimal + """
            virtualMachines:
              - {name: cvm, os: linux, region: eastus, resourceGroup: rg, securityType: ConfidentialVM, osDisk: {sizeGiB: 8}}

            """)
        #expect(found.contains { $0.code == "world-invalid-value" && $0.summary.contains("'ConfidentialVM' is not a valid securityType") })
    }

    @Test func sizesAcceptBinarySuffixes() {
        #expect(parseSize("4096") == 4096)
        #expect(parseSize("64K") == 65536)
        #expect(parseSize("1M") == 1 << 20)
        #expect(parseSize("2GiB") == 2 << 30)
        #expect(parseSize("x") == nil)
    }

    // MARK: Hostile world files: refused by the YAML layer, as manifests are

    @Test func referenceWorldWithAnAliasBombIsRefusedWithoutExpanding() throws {
        let reference = try String(contentsOfFile: Fixtures.referenceWorldPath, encoding: .utf8)
        let text = reference.hasSuffix("\n") ? reference : reference + "\n"
        let bombLine = text.split(separator: "\n", omittingEmptySubsequences: false).count
        let found = diagnostics(text + HostileYAML.billionLaughs(under: "bomb"))
        // The anchors and aliases are reported once each, with the file's counts, where the first is written.
        let anchors = found.filter { $0.code == "world-anchor" }
        #expect(anchors.map(\.summary) == [
            "YAML anchors are not allowed in a world file", "YAML aliases are not allowed in a world file",
        ])
        #expect(anchors.map(\.location) == [
            SourceLocation(file: "w.yaml", line: bombLine + 1, column: 6),
            SourceLocation(file: "w.yaml", line: bombLine + 2, column: 10),
        ])
        #expect(anchors.map(\.detail) == [
            "the file has 9 anchors; only the first is shown", "the file has 72 aliases; only the first is shown",
        ])
        #expect(found.contains { $0.code == "world-unknown-field" && $0.summary == "unknown field 'bomb'" })
        #expect(found.allSatisfy { $0.severity == .error })
        #expect(anchors.first?.rendered().hasPrefix("w.yaml:\(bombLine + 1):6: error[world-anchor]") == true)
    }

    @Test func tenThousandLevelsOfNestingAreRefusedAtTheDepthLimit() throws {
        // The root mapping is level 1, so the 64th bracket is the first past the limit of 64.
        let flow = diagnostics(Self.minimal + "x: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n")
        #expect(flow.map(\.code) == ["world-limit"])
        #expect(flow.first?.summary == "the YAML nests deeper than 64 levels")
        #expect(flow.first?.location == SourceLocation(file: "w.yaml", line: 8, column: 4 + 63))
        let block = diagnostics(Self.minimal + "x:\n  " + String(repeating: "- ", count: 10_000) + "x\n")
        #expect(block.map(\.code) == ["world-limit"])
        #expect(block.first?.location == SourceLocation(file: "w.yaml", line: 9, column: 3 + 2 * 63))
    }

    @Test func bytesThatAreNotUTF8TextAreRefusedWhereTheyAre() throws {
        func diagnostics(_ bytes: [UInt8]) -> [Diagnostic] {
            do {
                _ = try WorldLoader.load(bytes: bytes, file: "w.yaml")
                return []
            } catch let error as WorldError {
                return error.diagnostics
            } catch {
                return [.error("unexpected", "\(error)")]
            }
        }
        let utf16 = diagnostics([0xFF, 0xFE, 0x61, 0x00])
        #expect(utf16.map(\.code) == ["world-encoding"])
        #expect(utf16.first?.summary == "the file starts with a UTF-16 byte-order mark")
        let invalid = diagnostics(Array("tenant: caf".utf8) + [0xC0, 0xAF])
        #expect(invalid.map(\.code) == ["world-encoding"])
        #expect(invalid.first?.location == SourceLocation(file: "w.yaml", line: 1, column: 12))
        let escape = diagnostics(Array("tenant: \u{1B}[31mred\n".utf8))
        #expect(escape.first?.sourceLine == "tenant: \u{FFFD}[31mred")
        // A UTF-8 byte-order mark is accepted.
        #expect(diagnostics([0xEF, 0xBB, 0xBF] + Array(Self.minimal.utf8)).isEmpty)
    }

    @Test func oneDocumentPerFile() {
        let two = diagnostics(Self.minimal + "---\ntenant: u\n")
        #expect(two.map(\.code) == ["world-syntax"])
        #expect(two.first?.location == SourceLocation(file: "w.yaml", line: 8, column: 1))
        #expect(two.first?.hint == "a world file holds exactly one YAML document")
        #expect(diagnostics("# only a comment\n").map(\.code) == ["world-empty"])
    }

    @Test func aFileOverTheSizeLimitIsNotRead() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.sparseFile("huge.yaml", size: 100_000_000)
        let error = #expect(throws: WorldError.self) { try WorldLoader.load(path: path) }
        #expect(error?.diagnostics.map(\.code) == ["world-limit"])
        #expect(error?.diagnostics.first?.summary == "the world file is 100000000 bytes, over the limit of 4194304 bytes")
    }
}
