import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// A provider that takes a while over each write and records what ran at once: the most writes in flight,
/// and when each resource's write started and ended.
final class SlowProvider: Provider, @unchecked Sendable {
    let inner: InMemoryProvider
    private let lock = NSLock()
    private var inFlight = 0
    private(set) var maximumInFlight = 0
    private var clock = 0
    private(set) var started: [String: Int] = [:]
    private(set) var ended: [String: Int] = [:]

    init(_ inner: InMemoryProvider) { self.inner = inner }

    var peak: Int { lock.withLock { maximumInFlight } }
    func window(_ name: String) -> (start: Int, end: Int)? {
        lock.withLock { started[name].flatMap { start in ended[name].map { (start, $0) } } }
    }

    private func timed<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        lock.withLock {
            inFlight += 1
            maximumInFlight = max(maximumInFlight, inFlight)
            clock += 1
            started[name] = clock
        }
        try await Task.sleep(for: .milliseconds(20))
        defer {
            lock.withLock {
                inFlight -= 1
                clock += 1
                ended[name] = clock
            }
        }
        return try await body()
    }

    func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) async throws -> String? {
        try await inner.resourceID(name: name, spec: spec, parents: parents)
    }
    func read(kind: ResourceKind, id: String) async throws -> ObservedResource? { try await inner.read(kind: kind, id: id) }
    func create(name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try await timed(name) { try await inner.create(name: name, spec: spec) }
    }
    func update(id: String, name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try await timed(name) { try await inner.update(id: id, name: name, spec: spec) }
    }
    func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) async throws {
        try await timed(id) { try await inner.delete(kind: kind, id: id, deletionPolicy: deletionPolicy) }
    }
    func snapshot() async throws -> any ProviderSnapshot { try await inner.snapshot() }
}

@Suite struct ParallelApplyTests {
    static let vms = (1...12).map { String(format: "vm-%02d", $0) }

    /// Two vaults, a policy in each, an access policy, and twelve protected VMs split between them.
    static var desired: DesiredState {
        var resources: [DesiredResource] = []
        for vault in ["rsv-a", "rsv-b"] {
            resources.append(Fixture.resource(
                ResourceAddress(kind: .recoveryServicesVault, name: vault),
                .vault(VaultSpec(resourceGroup: "rg-backup", location: "eastus", storageRedundancy: .geoRedundant, crossRegionRestore: true))))
            resources.append(Fixture.resource(
                ResourceAddress(kind: .backupPolicy, name: "daily-\(vault)"),
                .backupPolicy(BackupPolicySpec(
                    vault: vault, schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)), instantRestoreRetentionDays: 2,
                    retention: RetentionSpec(daily: DailyRetention(count: 30))))))
        }
        resources.append(Fixture.resource(Fixture.accessAddress, Fixture.access()))
        for (index, vm) in vms.enumerated() {
            let vault = index % 2 == 0 ? "rsv-a" : "rsv-b"
            resources.append(Fixture.resource(
                ResourceAddress(kind: .protectedVM, name: vm),
                .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app", name: vm), vault: vault, policy: "daily-\(vault)"))))
        }
        return DesiredState(resources: resources)
    }

    static func provider() -> InMemoryProvider {
        let provider = Fixture.provider(encryption: .ssePlatformKey)
        for vm in vms {
            provider.addVM(
                VirtualMachineFacts(
                    id: "/subscriptions/sub-prod/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/\(vm)",
                    reference: VMReference(subscription: "sub-prod", resourceGroup: "rg-app", name: vm), subscription: "sub-prod", region: "eastus",
                    os: "linux", encryption: .ssePlatformKey, disks: [DiskFacts(lun: -1, sizeGiB: 32)]))
        }
        return provider
    }

    @Test func independentStepsRunAtOnceInDependencyOrderAndAreReportedInPlanOrder() async throws {
        let slow = SlowProvider(Self.provider())
        let store = MemoryStateStore()
        let plan = try await Planner(provider: slow).plan(desired: Self.desired, inventory: [:])
        let reported = Reported()
        var applier = Applier(provider: slow, store: store) { reported.append($0.address) }
        applier.parallelism = 4
        let outcome = try await applier.apply(plan, source: ApplySource())
        #expect(outcome.result == .succeeded)
        #expect(outcome.steps.count == 17)
        #expect(outcome.steps.allSatisfy { $0.status == .succeeded })
        // At once, but never more than asked.
        #expect(slow.peak > 1)
        #expect(slow.peak <= 4)
        // Each protected VM's write started after its vault's and policy's ended.
        for (index, vm) in Self.vms.enumerated() {
            let vault = index % 2 == 0 ? "rsv-a" : "rsv-b"
            let item = try #require(slow.window(vm))
            #expect(try #require(slow.window(vault)).end < item.start, "\(vm) started before \(vault) was made")
            #expect(try #require(slow.window("daily-\(vault)")).end < item.start, "\(vm) started before its policy was made")
        }
        // Reported and recorded in plan order, whatever order they finished in.
        let planned = plan.changes.filter { $0.action != .noOp }.map(\.address)
        #expect(reported.addresses == planned)
        #expect(outcome.steps.map(\.address) == planned)
        #expect(try store.inventory().count == 17)
        #expect(!(try await Planner(provider: slow).plan(desired: Self.desired, inventory: try store.inventory())).hasChanges)
    }

    /// A failed step skips what depends on it, and only that, also when steps run at once.
    @Test func aFailedPolicySkipsItsItemsOnly() async throws {
        let inner = Self.provider()
        inner.fail(name: "daily-rsv-a", with: ProviderError(code: "BMSUserErrorInvalidPolicyInput", message: "bad policy"))
        var applier = Applier(provider: SlowProvider(inner), store: MemoryStateStore())
        applier.parallelism = 8
        let outcome = try await applier.apply(try await Planner(provider: inner).plan(desired: Self.desired, inventory: [:]), source: ApplySource())
        #expect(outcome.result == .failed)
        #expect(outcome.error?.code == "BMSUserErrorInvalidPolicyInput")
        for (index, vm) in Self.vms.enumerated() {
            let status = outcome.steps.first { $0.address.name == vm }?.status
            #expect(status == (index % 2 == 0 ? .skipped : .succeeded), "\(vm)")
        }
    }

    /// A crash at every step boundary of a parallel apply, then an apply again, converges to what one
    /// uninterrupted apply makes, creating nothing twice.
    @Test(arguments: [0.0, 1.0, 2.5, 4.0, 5.5, 8.0, 12.5, 16.0, 16.5])
    func aCrashAtAnyBoundaryOfAParallelApplyConverges(crashAt: Double) async throws {
        let reference = Self.provider()
        _ = try await Applier(provider: reference, store: MemoryStateStore()).apply(
            try await Planner(provider: reference).plan(desired: Self.desired, inventory: [:]), source: ApplySource())

        let provider = Self.provider()
        let store = MemoryStateStore()
        var crashing = Applier(provider: SlowProvider(provider), store: store)
        crashing.parallelism = 6
        crashing.faultPoint = { point in if point == crashAt { throw InjectedCrash() } }
        await #expect(throws: InjectedCrash.self) {
            try await crashing.apply(try await Planner(provider: provider).plan(desired: Self.desired, inventory: [:]), source: ApplySource())
        }
        var again = Applier(provider: provider, store: store)
        again.parallelism = 6
        let outcome = try await again.apply(
            try await Planner(provider: provider).plan(desired: Self.desired, inventory: try store.inventory()), source: ApplySource())
        #expect(outcome.succeeded)
        #expect(provider.all == reference.all)
        #expect(!(try await Planner(provider: provider).plan(desired: Self.desired, inventory: try store.inventory())).hasChanges)
        let creates = provider.mutations.filter { $0.hasPrefix("create") }
        #expect(creates.count == Set(creates).count)
    }
}

final class Reported: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ResourceAddress] = []
    var addresses: [ResourceAddress] { lock.withLock { list } }
    func append(_ address: ResourceAddress) { lock.withLock { list.append(address) } }
}

@Suite struct StepSchedulerTests {
    /// Steps done out of plan order free their scopes at once: the first holder of a scope is the first step
    /// not done, however many steps hold it (every step holds `*`).
    @Test func scopesAreFreedByStepsDoneInAnyOrder() {
        let vault = StepScopes(shared: ["*"], exclusive: ["rsv:a"])
        let item = { (vm: String) in StepScopes(shared: ["*", "rsv:a"], exclusive: ["vm:\(vm)"]) }
        let alone = StepScopes.alone
        let scheduler = StepScheduler([vault, item("1"), item("2"), item("1"), alone, item("3")])
        #expect(scheduler.startable(limit: 10) == [0])
        scheduler.start(0)
        #expect(scheduler.startable(limit: 10).isEmpty)
        scheduler.done(0)
        // The items of the vault start together, but a second step on VM 1 waits for the first.
        #expect(scheduler.startable(limit: 10) == [1, 2])
        #expect(scheduler.startable(limit: 1) == [1])
        scheduler.start(1)
        scheduler.start(2)
        scheduler.done(2)
        #expect(scheduler.startable(limit: 10).isEmpty)
        scheduler.done(1)
        #expect(scheduler.startable(limit: 10) == [3])
        scheduler.start(3)
        scheduler.done(3)
        // A step that runs alone waits for everything before it, and everything after it waits for it.
        #expect(scheduler.startable(limit: 10) == [4])
        scheduler.start(4)
        #expect(scheduler.startable(limit: 10).isEmpty)
        scheduler.done(4)
        #expect(scheduler.startable(limit: 10) == [5])
        scheduler.start(5)
        #expect(!scheduler.isFinished)
        scheduler.done(5)
        scheduler.done(5)
        #expect(scheduler.isFinished)
    }
}
