import CofferManifest
import CofferModel
@testable import CofferPlatform
import CofferReconciler
import CofferTestSupport
import Foundation

/// The property a plan promises: without errors, the apply succeeds and a backup of every VM the platform
/// then protects succeeds; with errors, the apply or one of those backups would fail (no false alarm).
/// Each case starts from the reference world with the shipped manifests applied, changes the platform out
/// of band and the manifests with seeded mutations, and checks both directions on the embedded platform:
/// the plan's own apply, or, for a plan with errors, the same changes forced through on the same state.
///
/// Causes no plan can know are not generated: a fault injected after the plan, a concurrent job, the
/// instant-restore point limit reached by on-demand backups between plan and apply.
enum PlanTruth {
    /// A change to the platform (out of band) or to the manifests.
    struct Mutation: CustomStringConvertible, Sendable {
        var description: String
        var manifests: (@Sendable (inout [DesiredResource]) -> Void)?
        var platform: (@Sendable (Platform) throws -> Void)?
        var prune = false
    }

    struct Verdict: CustomStringConvertible {
        var errors: [String]
        /// Why the forced apply or a backup failed; nil when everything succeeded.
        var failure: String?
        var holds: Bool { errors.isEmpty == (failure == nil) }
        var description: String {
            errors.isEmpty
                ? "clean plan, but: \(failure ?? "-")"
                : "plan errors \(errors), but the apply and every backup succeeded"
        }
    }

    /// The reference world with `manifests/` applied and every VM backed up once, in a directory that each
    /// case copies; built once.
    static func template() async throws -> Template { try await TemplateCache.shared.template() }

    struct Template: Sendable {
        var directory: String
        var base: [DesiredResource]
    }

    actor TemplateCache {
        static let shared = TemplateCache()
        private var built: Task<Template, any Error>?

        func template() async throws -> Template {
            if let built { return try await built.value }
            let task = Task { try await Self.build() }
            built = task
            return try await task.value
        }

        static func build() async throws -> Template {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-plan-truth-\(UUID().uuidString)").path
            let world = try WorldLoader.load(path: ShippedManifests.packageRoot.appendingPathComponent("examples/reference/world.yaml").path)
            let platform = try Platform.create(stateDirectory: directory, world: world)
            let loaded = ManifestLoader().load(files: try ShippedManifests.files().sorted { $0.key < $1.key }.map { ($0.key, [UInt8]($0.value)) })
            guard let desired = loaded.state else { throw PlanTruthError("the shipped manifests do not load: \(loaded.diagnostics)") }
            let plan = try await Planner(provider: platform).plan(desired: desired, inventory: [:])
            let result = try await Applier(provider: platform, store: FileStateStore(stateDirectory: directory)).apply(plan, source: ApplySource())
            guard result.result == .succeeded else { throw PlanTruthError("the shipped manifests do not apply: \(String(describing: result.error))") }
            for item in try platform.protectedItems() { _ = try platform.backup(vm: item.vm) }
            _ = try await platform.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            return Template(directory: directory, base: desired.resources)
        }
    }

    struct PlanTruthError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Copies the template to a fresh directory.
    static func copy(_ template: Template) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "coffer-plan-truth-case")
        for entry in try FileManager.default.contentsOfDirectory(atPath: template.directory) where !entry.hasSuffix("-shm") {
            try FileManager.default.copyItem(
                atPath: (template.directory as NSString).appendingPathComponent(entry), toPath: directory.path(entry))
        }
        return directory
    }

    /// Plays `mutations` on a copy of the template and judges the plan.
    static func judge(_ mutations: [Mutation]) async throws -> Verdict {
        let template = try await template()
        let directory = try copy(template)
        defer { withExtendedLifetime(directory) {} }
        let platform = try Platform(stateDirectory: directory.path)
        let store = FileStateStore(stateDirectory: directory.path)
        var resources = template.base
        var prune = false
        for mutation in mutations {
            // An out-of-band change the platform refuses simply does not happen.
            if let change = mutation.platform { try? change(platform) }
            mutation.manifests?(&resources)
            prune = prune || mutation.prune
        }
        // Through the loader, as a user's files go: validation is part of the plan.
        let text = ManifestWriter.yaml(DesiredState(resources: resources))
        let loaded = ManifestLoader().load(files: [("generated.yaml", [UInt8](text.utf8))])
        var errors = loaded.diagnostics.filter { $0.severity == .error }.map(\.code)
        let desired = loaded.state ?? DesiredState(resources: resources)
        var plan = try await Planner(provider: platform).plan(
            desired: desired, inventory: try store.inventory(), options: PlanOptions(prune: prune, allowPruneAll: true))
        errors += plan.diagnostics.filter { $0.severity == .error }.map(\.code)
        // The same changes, forced through when the plan has errors: would they really fail?
        plan.diagnostics = []
        let outcome = try await Applier(provider: platform, store: store).apply(plan, source: ApplySource())
        if let error = outcome.error { return Verdict(errors: errors, failure: "apply: \(error.code): \(error.message)") }
        for item in try platform.protectedItems() where item.state == .protected || item.state == .irPending {
            do {
                _ = try platform.backup(vm: item.vm)
            } catch let error as PlatformError {
                return Verdict(errors: errors, failure: "backup of \(item.vm): \(error.code): \(error.message)")
            }
        }
        return Verdict(errors: errors, failure: nil)
    }

    /// The manifests `mutations` lead to, as far as they differ from the shipped ones: the documents added
    /// or changed, and the addresses removed.
    static func manifestDifference(_ mutations: [Mutation]) async throws -> String {
        let base = try await template().base
        var resources = base
        for mutation in mutations { mutation.manifests?(&resources) }
        let before = Dictionary(base.map { ($0.address, $0.spec) }, uniquingKeysWith: { first, _ in first })
        let changed = resources.filter { before[$0.address] != $0.spec }
        let removed = Set(base.map(\.address)).subtracting(resources.map(\.address)).sorted()
        return (changed.isEmpty ? "" : "added or changed:\n" + ManifestWriter.yaml(DesiredState(resources: changed)))
            + (removed.isEmpty ? "" : "removed: " + removed.map(\.description).joined(separator: ", "))
    }

    /// The fewest of `mutations` that still break the property, removing one at a time.
    static func shrink(_ mutations: [Mutation]) async throws -> [Mutation] {
        var current = mutations
        var changed = true
        while changed && current.count > 1 {
            changed = false
            for index in current.indices {
                var fewer = current
                fewer.remove(at: index)
                if !(try await judge(fewer).holds) {
                    current = fewer
                    changed = true
                    break
                }
            }
        }
        return current
    }
}
