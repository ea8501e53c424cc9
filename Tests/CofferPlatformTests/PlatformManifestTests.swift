import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// The shipped manifests against the reference world, through the provider protocol as the reconciler
/// drives it: every resource is created, and read back it equals its manifest (a plan shows no change).
@Suite struct PlatformManifestTests {
    static let root = Fixtures.repositoryRoot

    @Test func theShippedManifestsConvergeOnTheReferenceWorld() async throws {
        let loaded = ManifestLoader().load(paths: [Self.root.appendingPathComponent("manifests").path])
        let state = try #require(loaded.state, "\(loaded.diagnostics.map { $0.rendered() })")
        let directory = try TemporaryDirectory(prefix: "coffer-manifests")
        let world = try WorldLoader.load(path: Self.root.appendingPathComponent("examples/reference/world.yaml").path)
        let platform = try Platform.create(stateDirectory: directory.path, world: world)
        let provider: any Provider = platform
        let ordered = state.resources.sorted { $0.address < $1.address }
        #expect(ordered.count == 11)
        for resource in ordered {
            let id = try #require(try await provider.resourceID(name: resource.address.name, spec: resource.spec))
            #expect(try await provider.read(kind: resource.address.kind, id: id) == nil)
            let created = try await provider.create(name: resource.address.name, spec: resource.spec)
            #expect(created.id == id, "\(resource.address)")
            #expect(created.tags[ObservedResource.managedByTag] == ObservedResource.managedByValue, "\(resource.address)")
        }
        for resource in ordered {
            let id = try #require(try await provider.resourceID(name: resource.address.name, spec: resource.spec))
            let observed = try #require(try await provider.read(kind: resource.address.kind, id: id))
            #expect(observed.spec == resource.spec, "\(resource.address)")
        }
        // The reference story works from here: both ADE VMs back up (the guest granted access through the
        // manifests), and so do the others.
        for vm in ["win-app-01", "lnx-db-01", "lnx-web-01", "win-cmk-01"] {
            #expect(try platform.backup(vm: vm).status == .completed, "\(vm)")
        }
    }
}
