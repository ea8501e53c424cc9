import Foundation
@testable import CofferPlatform
import CofferTestSupport
import CofferRules
import Testing

/// docs/world-file.md keeps to what the platform does: its complete example loads, and its region table is
/// the platform's.
@Suite struct WorldFileDocsTests {
    static func page(_ name: String) throws -> String {
        try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/\(name)"), encoding: .utf8)
    }

    /// The complete example of docs/world-file.md is a valid world, and so are the fragments of its sections
    /// with the top level they leave out.
    @Test func worldFileExampleLoads() throws {
        let page = try Self.page("world-file.md")
        let section = try #require(page.components(separatedBy: "## A complete example").last)
        let example = try #require(Markdown.blocks("yaml", in: section).first)
        let world = try WorldLoader.load(text: example, file: "docs/world-file.md")
        #expect(world.virtualMachines.map(\.name) == ["win-app-01", "lnx-db-01", "lnx-api-01", "win-cmk-01"])
        #expect(world.keyVaults.count == 3 && world.diskEncryptionSets.count == 1)
        #expect(world.keyVaults.map(\.permissionModel) == [.accessPolicies, .rbac, .accessPolicies])
        #expect(world.roleDefinitions.map(\.name) == ["Backup Key Vault Reader"])
    }

    /// The role definitions and the RBAC key vault of the sections load with the complete example's top level.
    @Test func worldFileRBACFragmentsLoad() throws {
        let page = try Self.page("world-file.md")
        let rolesSection = try #require(page.components(separatedBy: "## roleDefinitions").last)
        let keyVaultsSection = try #require(page.components(separatedBy: "**roleAssignments[]**").last)
        let roles = try #require(Markdown.blocks("yaml", in: rolesSection).first)
        let keyVaults = try #require(Markdown.blocks("yaml", in: keyVaultsSection).first)
        let top = """
            tenant: contoso
            operator: {user: ops@partner.example, type: guest}
            subscriptions: [{name: sub-prod, id: 11111111-1111-1111-1111-111111111111}]
            regions: [eastus]
            resourceGroups: [{name: rg-keys-eastus, region: eastus}]

            """
        let world = try WorldLoader.load(text: top + roles + "\n" + keyVaults, file: "docs/world-file.md")
        #expect(world.keyVaults.first?.roleAssignments.map(\.role) == ["Key Vault Administrator", "Backup Key Vault Reader"])
    }

    /// The region table of docs/world-file.md is the platform's pairing table.
    @Test func worldFileRegionTableIsThePlatformsTable() throws {
        let page = try Self.page("world-file.md")
        let section = try #require(page.components(separatedBy: "## Region pairs").last)
        var documented: [String: (geography: String, pair: String?, restricted: Bool)] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3 else { continue }
            let restricted = cells[0].hasSuffix("*")
            let name = cells[0].replacingOccurrences(of: "*", with: "").trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let pair = cells[2] == "none" ? nil : cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            documented[name] = (cells[1], pair, restricted)
        }
        #expect(Set(documented.keys) == Set(Regions.all.keys))
        for (name, region) in Regions.all {
            let row = documented[name]
            #expect(row?.geography == region.geography && row?.pair == region.pair && row?.restricted == region.accessRestricted, "\(name)")
        }
    }
}
