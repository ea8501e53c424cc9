import CofferTestSupport
import Foundation
import Testing

/// The reconciler's bars over HTTP, beside the embedded provider, on the reference world in one run (two
/// serve processes for the whole scenario): drift (access removed out of band), deletionPolicy Delete and
/// Retain with prune, and adopting what exists without coffer's inventory. At each stage, on the copy served
/// over HTTP, the plan JSON through `--endpoint` is byte for byte the embedded plan of the same state and an
/// apply through the endpoint leaves nothing for an embedded plan to do; on the other copy, an embedded apply
/// leaves nothing for a plan through the endpoint to do.
@Suite(.serialized) struct LifecycleDifferentialTests {
    /// One copy of the platform and its serve.
    struct Side {
        var state: String
        var serve: RunningServe
        var endpoint: [String]

        func run(_ arguments: [String], remote: Bool) async throws -> CofferRun {
            try await CofferRun.run(arguments + ["--state", state] + (remote ? endpoint : []))
        }
    }

    @Test func driftPruneDeletionPoliciesAndAdoptionAgreeOverTheEndpoint() async throws {
        let directory = try TemporaryDirectory()
        let manifests = directory.path("manifests")
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("manifests").path, toPath: manifests)
        var sides: [Side] = []
        for name in ["served", "embedded"] {
            let state = try PristineWorld.reference.copy(into: directory, name: name)
            let serve = try await RunningServe.startProcess(state: state)
            let token = directory.path("token-\(name)")
            try serve.token.write(toFile: token, atomically: true, encoding: .utf8)
            sides.append(Side(state: state, serve: serve, endpoint: ["--endpoint", serve.endpoint, "--token-file", token, "--ca-file", serve.caPath]))
        }
        let (served, embedded) = (sides[0], sides[1])
        defer { withExtendedLifetime(directory) {} }

        /// The plans of both providers agree on the served copy; the apply through the endpoint and the
        /// embedded one on the other copy each converge, as the other provider's plan sees.
        func stage(_ name: String, _ extra: [String] = [], expectChanges: Bool = true) async throws {
            let plan = ["plan", manifests, "--output", "json", "--detailed-exitcode"] + extra
            let local = try await served.run(plan, remote: false)
            let remote = try await served.run(plan, remote: true)
            #expect(local.status == (expectChanges ? 2 : 0), "\(name): embedded plan exit \(local.status): \(local.error)")
            #expect(remote.status == local.status, "\(name): plan exit \(remote.status) over the endpoint, \(local.status) embedded: \(remote.error)")
            #expect(remote.output == local.output, "\(name): the plans differ")
            if remote.output != local.output { try DifferentialTests.showDifference(local.output, remote.output, in: directory) }
            let apply = ["apply", manifests, "--auto-approve", "--output", "json"] + extra
            let appliedRemotely = try await served.run(apply, remote: true)
            let appliedLocally = try await embedded.run(apply, remote: false)
            #expect(appliedRemotely.status == 0, "\(name): apply over the endpoint: \(appliedRemotely.output) \(appliedRemotely.error)")
            #expect(appliedLocally.status == 0, "\(name): embedded apply: \(appliedLocally.output) \(appliedLocally.error)")
            let check = ["plan", manifests, "--output", "json", "--detailed-exitcode"] + extra
            let afterRemote = try await served.run(check, remote: false)
            #expect(afterRemote.status == 0, "\(name): an embedded plan after an apply through the endpoint has changes: \(afterRemote.output.prefix(2000))")
            let afterLocal = try await embedded.run(check, remote: true)
            #expect(afterLocal.status == 0, "\(name): a plan through the endpoint after an embedded apply has changes: \(afterLocal.output.prefix(2000))")
        }

        /// What the platform holds of the protected VMs, the same on both copies.
        func protectedVMs() async throws -> [String] {
            var shown: [String] = []
            for side in sides {
                let got = try await side.run(["get", "protected-vms", "--output", "json"], remote: false)
                let object = try JSONSerialization.jsonObject(with: Data(got.output.utf8)) as? [String: Any]
                let items = (object?["protectedVMs"] as? [[String: Any]]) ?? []
                shown.append(items.map { "\($0["vm"] ?? "")=\($0["state"] ?? "")" }.sorted().joined(separator: ","))
            }
            #expect(shown[0] == shown[1], "the copies differ: \(shown)")
            return shown[0].split(separator: ",").map(String.init)
        }

        // The first apply.
        try await stage("create")

        // Drift: the Backup Management Service's access removed out of band, on both copies.
        for side in sides {
            let removed = try await side.run(["platform", "keyvault", "remove-access", "kv-app-eastus", "Backup Management Service"], remote: false)
            #expect(removed.status == 0, "remove-access: \(removed.error)")
        }
        let drifted = try await served.run(["plan", manifests, "--output", "json"], remote: true)
        #expect(drifted.output.contains("kv-app-eastus-backup"))
        try await stage("drift")

        // deletionPolicy: one VM's becomes Delete (coffer's own attribute), then two VMs leave the manifests:
        // pruned, the Retain one keeps its data (protection stopped), the Delete one is soft-deleted.
        let file = manifests + "/protected-vms.yaml"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let documents = text.components(separatedBy: "\n---\n")
        let retained = try #require(documents.firstIndex { $0.contains("deletionPolicy: Retain") })
        let deleted = try #require(documents.indices.last { $0 != retained && $0 > 0 && $0 < documents.count })
        let name = { (document: String) -> String in
            document.split(separator: "\n").first { $0.hasPrefix("  name: ") && !$0.contains("rg-") }.map { String($0.dropFirst(8)) } ?? ""
        }
        let retainedVM = name(documents[retained])
        let deletedVM = name(documents[deleted])
        var changed = documents
        if changed[deleted].contains("deletionPolicy:") {
            changed[deleted] = changed[deleted].replacingOccurrences(of: "deletionPolicy: Retain", with: "deletionPolicy: Delete")
        } else {
            changed[deleted] += "\n  deletionPolicy: Delete"
        }
        try changed.joined(separator: "\n---\n").write(toFile: file, atomically: true, encoding: .utf8)
        try await stage("deletionPolicy Delete", expectChanges: false)
        try changed.enumerated().filter { $0.offset != retained && $0.offset != deleted }.map(\.element).joined(separator: "\n---\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        try await stage("prune", ["--prune"])
        let states = try await protectedVMs()
        #expect(states.contains { $0.hasPrefix("\(retainedVM)=") && $0.hasSuffix("ProtectionStopped") }, "\(retainedVM) (Retain): \(states)")
        #expect(states.contains { $0.hasPrefix("\(deletedVM)=") && $0.hasSuffix("SoftDeleted") }, "\(deletedVM) (Delete): \(states)")

        // Adoption: the reconciler's state is lost; what the platform holds is adopted, not made again.
        for side in sides { try FileManager.default.removeItem(atPath: side.state + "/reconciler") }
        try String(text).write(toFile: file, atomically: true, encoding: .utf8)
        try await stage("adopt existing")

        for side in sides { await side.serve.stop() }
    }
}
