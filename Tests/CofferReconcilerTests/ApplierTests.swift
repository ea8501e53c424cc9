import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

struct InjectedCrash: Error {}

@Suite struct ApplierTests {
    @Test func failedStepStopsItsDependentsAndReportsThePlatformCode() async throws {
        let provider = Fixture.provider()
        provider.fail(name: "daily", with: ProviderError(code: "BMSUserErrorInvalidPolicyInput", message: "bad policy"))
        let store = MemoryStateStore()
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let outcome = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(outcome.result == .failed)
        #expect(outcome.error?.code == "BMSUserErrorInvalidPolicyInput")
        let statuses = Dictionary(uniqueKeysWithValues: outcome.steps.map { ($0.address, $0.status) })
        #expect(statuses[Fixture.vaultAddress] == .succeeded)
        #expect(statuses[Fixture.policyAddress] == .failed)
        #expect(statuses[Fixture.accessAddress] == .succeeded)
        #expect(statuses[Fixture.vmAddress] == .skipped)
        #expect(!provider.mutations.contains { $0.hasPrefix("create ProtectedVM") })
        // The rest is consistent: what was created is owned, and the next apply finishes the job.
        #expect(Set(try store.inventory().keys) == [Fixture.vaultAddress, Fixture.accessAddress])
        provider.fail(name: "daily", with: nil)
        let retry = try await Applier(provider: provider, store: store).apply(
            try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: try store.inventory()), source: ApplySource())
        #expect(retry.result == .succeeded)
        #expect(try store.history().map(\.result) == [.failed, .succeeded])
        #expect(try store.history().first?.error?.hasPrefix("BMSUserErrorInvalidPolicyInput") == true)
    }

    /// A crash at every step boundary (before a step, and after it ran but before the next), followed by a
    /// fresh plan and apply, converges to the same platform and inventory as an uninterrupted apply, with no
    /// resource created twice.
    @Test(arguments: Array(stride(from: 0.0, through: 3.5, by: 0.5)))
    func crashAtEveryStepBoundaryConverges(crashAt: Double) async throws {
        let reference = Fixture.provider()
        let referenceStore = MemoryStateStore()
        _ = try await Applier(provider: reference, store: referenceStore).apply(
            try await Planner(provider: reference).plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())

        let provider = Fixture.provider()
        let store = MemoryStateStore()
        var crashing = Applier(provider: provider, store: store)
        crashing.faultPoint = { point in if point == crashAt { throw InjectedCrash() } }
        await #expect(throws: InjectedCrash.self) {
            try await crashing.apply(try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        }
        let outcome = try await Applier(provider: provider, store: store).apply(
            try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: try store.inventory()), source: ApplySource())
        #expect(outcome.succeeded)
        #expect(provider.all == reference.all)
        #expect(Set(try store.inventory().keys) == Set(try referenceStore.inventory().keys))
        #expect(!(try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: try store.inventory())).hasChanges)
        let creates = provider.mutations.filter { $0.hasPrefix("create") }
        #expect(creates.count == Set(creates).count)
        // A crash after a step started leaves it in the journal, and the next apply reports it.
        if crashAt != crashAt.rounded() { #expect(!outcome.resumed.isEmpty) }
    }

    @Test func aPlanWithErrorsIsRefused() async throws {
        let provider = Fixture.provider()
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vmAddress, Fixture.protected())])
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: [:])
        #expect(plan.hasErrors)
        let error = try await #require(throws: ReconcilerError.self) {
            try await Applier(provider: provider, store: MemoryStateStore()).apply(plan, source: ApplySource())
        }
        #expect(error.code == .planHasErrors)
        #expect(provider.mutations.isEmpty)
    }
}

@Suite struct CancellationTests {
    @Test func cancelledApplyFinishesTheRunningStepAndSkipsTheRest() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let counter = Counter()
        var applier = Applier(provider: provider, store: store)
        applier.onStep = { _ in counter.increment() }
        applier.isCancelled = { counter.value >= 2 }
        let outcome = try await applier.apply(try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        #expect(outcome.steps.map(\.status) == [.succeeded, .succeeded, .skipped, .skipped])
        #expect(outcome.error?.code == "Interrupted")
        #expect(try store.inventory().count == 2)
        let rest = try await Applier(provider: provider, store: store).apply(
            try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: try store.inventory()), source: ApplySource())
        #expect(rest.steps.map(\.status) == [.succeeded, .succeeded])
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
