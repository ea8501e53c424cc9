import CofferModel
import CofferReconciler
import Foundation

/// A plan saved by `plan --out`, applied by `apply --plan`, with the desired state it was made from, so
/// that applying it reads no manifests and no git: the plan is made again from that desired state and the
/// platform as it is, and refused when it differs.
///
/// The file holds no secret values: before and after are masked as in every plan, the specs to apply are
/// the desired state's, and the values of sensitive tags in it are replaced by a marker; those values are
/// kept in the state directory (`STATE/saved-plans/`), which already holds what coffer applied, and put
/// back when the plan is read with the same state directory.
public struct SavedPlan: Sendable {
    /// The version of the file's layout; a file of another version is refused.
    public static let formatVersion = "2"
    /// The marker that replaces a sensitive value in the file.
    public static let sensitiveMarker = "(sensitive value)"

    public var created: Date
    /// The source as given to `plan`.
    public var source: ManifestSource
    /// The origin the history records when the plan is applied (with the commit, for a git source).
    public var applySource: ApplySource
    public var options: PlanOptions
    /// The plan as it was shown, without the specs (the desired state has them).
    public var plan: Plan
    /// The desired state the plan was made from, sensitive values included.
    public var desired: DesiredState

    /// The saved form of a plan just made.
    public init(_ planned: PlannedChanges, created: Date = Date()) {
        self.created = created
        source = planned.source
        applySource = planned.applySource
        options = planned.options
        plan = planned.plan
        plan.changes = plan.changes.map { var change = $0; change.spec = nil; return change }
        desired = planned.desired
    }

    /// The commit the plan was made from, for a git source.
    public var commit: String? { applySource.commit }

    /// The layout of the file.
    private struct File: Codable {
        var format_version: String
        var created: Date
        var source: ManifestSource
        var applySource: ApplySource
        var prune: Bool
        var pruneAll: Bool
        var plan: Plan
        var desired: DesiredState
        /// The name of the file under `STATE/saved-plans/` that holds the sensitive values, when there are any.
        var sensitiveValues: String?
    }

    /// Sensitive tag values by resource address and tag key.
    private typealias SensitiveValues = [String: [String: String]]

    /// Writes the plan to `path`, and its sensitive values, if any, under the workspace's state directory.
    public func write(to path: String, workspace: Workspace) throws {
        var masked = desired
        var sensitive: SensitiveValues = [:]
        let sensitivePaths = Dictionary(plan.changes.map { ($0.address, $0.sensitivePaths) }, uniquingKeysWith: { $0 + $1 })
        for index in masked.resources.indices {
            let address = masked.resources[index].address
            let keys = (sensitivePaths[address] ?? []).filter { $0.hasPrefix("tags.") }.map { String($0.dropFirst("tags.".count)) }
            guard !keys.isEmpty, case .vault(var vault) = masked.resources[index].spec else { continue }
            for key in keys {
                guard let value = vault.tags[key] else { continue }
                sensitive[address.description, default: [:]][key] = value
                vault.tags[key] = Self.sensitiveMarker
            }
            masked.resources[index].spec = .vault(vault)
        }
        var name: String?
        if !sensitive.isEmpty {
            let file = UUID().uuidString.lowercased() + ".json"
            let directory = Self.sensitiveDirectory(workspace)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Self.encoder.encode(sensitive).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(file)), options: .atomic)
            name = file
        }
        let file = File(
            format_version: Self.formatVersion, created: created, source: source, applySource: applySource, prune: options.prune,
            pruneAll: options.allowPruneAll, plan: plan, desired: masked, sensitiveValues: name)
        try Self.encoder.encode(file).write(to: URL(fileURLWithPath: path))
    }

    /// Reads the plan saved at `path`, with its sensitive values from the workspace's state directory.
    public static func read(from path: String, workspace: Workspace) throws -> SavedPlan {
        let hint = "make it with coffer plan --out FILE"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GitOpsError(code: .planFile, message: "cannot read the plan file '\(path)'", hint: hint)
        }
        struct Version: Decodable { var format_version: String }
        guard let version = try? decoder.decode(Version.self, from: data) else {
            throw GitOpsError(code: .planFile, message: "'\(path)' is not a coffer plan file", hint: hint)
        }
        guard version.format_version == formatVersion else {
            throw GitOpsError(
                code: .planFile, message: "'\(path)' is a coffer plan file of format version \(version.format_version), which this coffer does not read",
                hint: "make a new plan with coffer plan --out FILE")
        }
        guard let file = try? decoder.decode(File.self, from: data) else {
            throw GitOpsError(code: .planFile, message: "'\(path)' is not a coffer plan file", hint: hint)
        }
        var desired = file.desired
        if let name = file.sensitiveValues {
            let sidecar = (sensitiveDirectory(workspace) as NSString).appendingPathComponent((name as NSString).lastPathComponent)
            guard let stored = FileManager.default.contents(atPath: sidecar), let values = try? decoder.decode(SensitiveValues.self, from: stored) else {
                throw GitOpsError(
                    code: .planFile, message: "the sensitive values of the plan '\(path)' are not in the state directory '\(workspace.stateDirectory)'",
                    hint: "apply it with the state directory it was made with, or make a new plan")
            }
            for index in desired.resources.indices {
                guard let tags = values[desired.resources[index].address.description], case .vault(var vault) = desired.resources[index].spec else { continue }
                for (key, value) in tags { vault.tags[key] = value }
                desired.resources[index].spec = .vault(vault)
            }
        }
        return SavedPlan(
            created: file.created, source: file.source, applySource: file.applySource,
            options: PlanOptions(prune: file.prune, allowPruneAll: file.pruneAll), plan: file.plan, desired: desired)
    }

    private init(created: Date, source: ManifestSource, applySource: ApplySource, options: PlanOptions, plan: Plan, desired: DesiredState) {
        self.created = created
        self.source = source
        self.applySource = applySource
        self.options = options
        self.plan = plan
        self.desired = desired
    }

    private static func sensitiveDirectory(_ workspace: Workspace) -> String {
        (workspace.stateDirectory as NSString).appendingPathComponent("saved-plans")
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Why `fresh`, the plan made again from this plan's desired state, is not this plan; nil when it is.
    func staleness(of fresh: Plan) -> GitOpsError? {
        let stripped = fresh.changes.map { var change = $0; change.spec = nil; return change }
        guard plan.desiredFingerprint == fresh.desiredFingerprint, plan.observedFingerprint == fresh.observedFingerprint, plan.changes == stripped else {
            return GitOpsError(
                code: .stalePlan,
                message: plan.desiredFingerprint != fresh.desiredFingerprint
                    ? "the saved plan is stale: the manifests changed since it was made"
                    : "the saved plan is stale: the platform changed since it was made",
                hint: "make a new plan with coffer plan --out FILE")
        }
        return nil
    }
}
