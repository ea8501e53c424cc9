import CofferTestSupport
import Foundation
import Testing

/// What an apply through the endpoint asks of it, from serve's request log: a protected VM's item is not read
/// back after its PUT (the answer is the item), the VMs the plan listed are not read again, and the key
/// vaults and vaults the plan listed are found by their ids, never listed again step by step.
@Suite struct RequestBudgetTests {
    /// "METHOD /path STATUS" of every request serve logged, the path lower-cased.
    static func requests(_ log: String) -> [(method: String, path: String, status: Int)] {
        FaultTests.events([log]).compactMap { event in
            guard event["event"] as? String != "fault", let message = event["message"] as? String else { return nil }
            let words = message.split(separator: " ").map(String.init)
            guard words.count == 3, let status = Int(words[2]) else { return nil }
            return (words[0], words[1].lowercased(), status)
        }
    }

    @Test func anApplyReadsNoItemBackAfterItsWriteAndListsEachKindOnce() async throws {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let log = directory.path("serve.log")
        let serve = try await RunningServe.startProcess(state: state, arguments: ["--sync-grace", "2s"], log: log)
        let endpoint = try FaultTests.endpoint(serve, in: directory)
        let applied = try await CofferRun.run(["apply", "--state", state, FaultTests.manifests, "--auto-approve"] + endpoint)
        await serve.stop()
        #expect(applied.status == 0, "apply: \(applied.error)")

        let requests = Self.requests(log)
        let itemWrites = requests.enumerated().filter { $0.element.method == "PUT" && $0.element.path.contains("/protecteditems/") }
        #expect(itemWrites.count >= 4, "the reference manifests protect four VMs")
        for (index, write) in itemWrites {
            let reads = requests.enumerated().filter { $0.element.method == "GET" && $0.element.path == write.path }
            // Before the write: the apply's look for a create left half-done, and the create's own look for a
            // soft-deleted item. After it: nothing (the PUT answered with the item).
            #expect(reads.filter { $0.offset < index }.count <= 2, "\(write.path) was read \(reads.count) times before its write")
            #expect(!reads.contains { $0.offset > index }, "\(write.path) was read back after its write")
        }
        // The VMs the items name are the ones the plan listed: none is read on its own.
        #expect(!requests.contains { $0.method == "GET" && $0.path.contains("/providers/microsoft.compute/virtualmachines/") })
        for kind in ["/providers/microsoft.keyvault/vaults", "/providers/microsoft.recoveryservices/vaults"] {
            let lists = requests.filter { $0.method == "GET" && $0.path.hasSuffix(kind) }.map(\.path)
            #expect(!lists.isEmpty)
            #expect(lists.count == Set(lists).count, "\(kind) was listed again during the apply: \(lists)")
        }
    }

    @Test func aPlanReadsTheInstanceViewsOfItsVMsThroughTheirGroupsLists() async throws {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let log = directory.path("serve.log")
        let serve = try await RunningServe.startProcess(state: state, log: log)
        let endpoint = try FaultTests.endpoint(serve, in: directory)
        let planned = try await CofferRun.run(["plan", "--state", state, FaultTests.manifests] + endpoint)
        await serve.stop()
        #expect(planned.status == 0, "plan: \(planned.error)")

        let reads = Self.requests(log).filter { $0.method == "GET" }.map(\.path)
        // The four protected VMs are two of rg-app-westeurope's two and two of rg-app-eastus's three: each
        // group is listed with instance views, and no VM is read on its own.
        for group in ["rg-app-eastus", "rg-app-westeurope"] {
            #expect(reads.contains { $0.hasSuffix("/resourcegroups/\(group)/providers/microsoft.compute/virtualmachines") }, "\(group) was not listed")
        }
        #expect(!reads.contains { $0.contains("/providers/microsoft.compute/virtualmachines/") }, "a VM was read on its own")
    }
}
