import CofferModel
import CofferReconciler
import Foundation

/// Renders plans the way Terraform users read them, and as the versioned JSON of the CLI contract.
enum PlanRendering {
    // MARK: Text

    static func text(_ plan: Plan, terminal: Terminal) -> String {
        var out: [String] = []
        if !plan.drift.isEmpty {
            out.append(terminal.paint("Note: Objects have changed outside of coffer", .bold))
            out.append("")
            out.append("coffer detected the following changes made outside of coffer since the last apply:")
            for entry in plan.drift {
                out.append("")
                if entry.changedPaths == [""] {
                    out.append("  # \(entry.address) has been deleted")
                } else {
                    out.append("  # \(entry.address) has changed")
                    for path in entry.changedPaths {
                        let before = entry.lastApplied?.value(at: path) ?? .null
                        let after = entry.observed?.value(at: path) ?? .null
                        out.append("      " + terminal.paint("~", .yellow) + " \(path) = \(before.rendered) -> \(after.rendered)")
                    }
                }
            }
            out.append("")
            out.append(String(repeating: "─", count: 77))
            out.append("")
        }

        let actionable = plan.changes.filter { $0.action != .noOp }
        if !actionable.isEmpty {
            out.append("coffer will perform the following actions:")
            for change in actionable {
                out.append("")
                out.append(contentsOf: block(change, terminal: terminal))
            }
            out.append("")
        }
        let adopted = plan.changes.filter { $0.action == .noOp && $0.reason == .adopt }
        if !adopted.isEmpty {
            out.append("coffer will adopt these existing resources, which already match the manifests:")
            for change in adopted { out.append("  \(terminal.paint("=", .cyan)) \(change.address)") }
            out.append("")
        }
        let forgotten = plan.changes.filter { $0.action == .noOp && $0.reason == .forget }
        if !forgotten.isEmpty {
            out.append("coffer will forget these default policies, which left the manifests; their vaults keep them (not destroyed):")
            for change in forgotten {
                let vault = change.before?.value(at: "vault").map { " in vault \($0.rendered)" } ?? ""
                out.append("  \(terminal.paint(".", .cyan)) \(change.address)\(vault)")
            }
            out.append("")
        }
        out.append(terminal.paint(plan.summary.line, .bold))
        return out.joined(separator: "\n")
    }

    private static func header(_ change: ResourceChange) -> String {
        switch (change.action, change.reason) {
        case (.create, .recoverSoftDeleted):
            return "# \(change.address) will be recovered from soft delete\n  # (its VM's backup item is soft-deleted in this vault: apply undeletes it, recovery points and all, and resumes protection)"
        case (.create, .drifted): return "# \(change.address) will be created (because it was deleted outside of coffer)"
        case (.create, _): return "# \(change.address) will be created"
        case (.update, .drifted): return "# \(change.address) will be updated in-place (to repair changes made outside of coffer)"
        case (.update, _): return "# \(change.address) will be updated in-place"
        case (.replace, _): return "# \(change.address) must be replaced"
        case (.delete, _):
            var text = "# \(change.address) will be destroyed\n  # (because \(change.address) is not in the manifests)"
            if change.deletionPolicy == .retain {
                text += "\n  # deletionPolicy Retain: protection stops and the recovery points are kept"
            } else if change.deletionPolicy == .delete {
                text += "\n  # deletionPolicy Delete: protection stops and the backup data is deleted (soft delete applies)"
                if let softDelete = change.softDelete {
                    let days = softDelete.retentionDays.map { "\($0) days (the vault's soft-delete retention)" } ?? "the vault's soft-delete retention"
                    text += "\n  # the item stays soft-deleted for \(days), its recovery points kept and restorable;"
                    text += "\n  # 'coffer undelete \(change.address.name)' (or putting the ProtectedVM back) recovers it until then"
                    if let purge = softDelete.purgeAfter { text += "\n  # the data is purged for good at \(purge), if applied now" }
                }
            }
            return text
        case (.noOp, _): return "# \(change.address) is up to date"
        }
    }

    private static func block(_ change: ResourceChange, terminal: Terminal) -> [String] {
        var lines = ["  " + terminal.paint(header(change), .bold)]
        let (symbol, style): (String, Terminal.Style) =
            switch change.action {
            case .create: ("  +", .green)
            case .update: ("  ~", .yellow)
            case .replace: ("-/+", .red)
            case .delete: ("  -", .red)
            case .noOp: ("   ", .dim)
            }
        lines.append("\(terminal.paint(symbol, style)) resource \"\(change.address.kind.rawValue)\" \"\(change.address.name)\" {")
        switch change.action {
        case .create:
            lines += attributeLines(change.after, prefix: terminal.paint("+", .green))
        case .delete:
            lines += attributeLines(change.before, prefix: terminal.paint("-", .red))
        case .update, .replace:
            let width = change.changedPaths.map(\.count).max() ?? 0
            for path in change.changedPaths {
                let before = change.before?.value(at: path) ?? .null
                let after = change.after?.value(at: path) ?? .null
                var line = "      \(terminal.paint("~", .yellow)) \(path.padding(toLength: width, withPad: " ", startingAt: 0)) = \(before.rendered) -> \(after.rendered)"
                if change.replacePaths.contains(path) { line += " " + terminal.paint("# forces replacement", .red) }
                lines.append(line)
            }
        case .noOp:
            break
        }
        lines.append("    }")
        return lines
    }

    /// One line per leaf attribute, aligned; nulls and empty collections are left out.
    private static func attributeLines(_ value: AttributeValue?, prefix: String) -> [String] {
        guard let value else { return [] }
        var leaves: [(String, AttributeValue)] = []
        func walk(_ value: AttributeValue, _ path: String) {
            switch value {
            case .object(let fields):
                for key in fields.keys.sorted() { walk(fields[key]!, path.isEmpty ? key : "\(path).\(key)") }
            case .null: break
            case .array(let items) where items.isEmpty: break
            default: leaves.append((path, value))
            }
        }
        walk(value, "")
        let width = leaves.map(\.0.count).max() ?? 0
        return leaves.map { "      \(prefix) \($0.0.padding(toLength: width, withPad: " ", startingAt: 0)) = \($0.1.rendered)" }
    }
}

/// The plan's `--output json` document, modelled on Terraform's plan JSON.
struct PlanJSON: Encodable {
    var plan: Plan

    init(_ plan: Plan) { self.plan = plan }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", summary, resourceChanges = "resource_changes", drift, diagnostics
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Plan.formatVersion, forKey: .formatVersion)
        try container.encode(plan.summary, forKey: .summary)
        try container.encode(plan.changes.map(Change.init), forKey: .resourceChanges)
        try container.encode(plan.drift.map(Drift.init), forKey: .drift)
        try container.encode(plan.diagnostics.map(DiagnosticJSON.init), forKey: .diagnostics)
    }

    struct Change: Encodable {
        var change: ResourceChange

        init(_ change: ResourceChange) { self.change = change }

        enum CodingKeys: String, CodingKey {
            case address, kind, name, id, action, reason, before, after
            case changedPaths = "changed_paths", replacePaths = "replace_paths", sensitivePaths = "sensitive_paths"
            case deletionPolicy = "deletion_policy"
            case softDelete = "soft_delete"
        }

        struct SoftDelete: Encodable {
            var outcome: SoftDeleteOutcome

            enum CodingKeys: String, CodingKey {
                case retentionDays = "retention_days", purgeAfter = "purge_after"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeOrNull(outcome.retentionDays, forKey: .retentionDays)
                try container.encodeOrNull(outcome.purgeAfter, forKey: .purgeAfter)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(change.address.description, forKey: .address)
            try container.encode(change.address.kind.rawValue, forKey: .kind)
            try container.encode(change.address.name, forKey: .name)
            try container.encode(change.id, forKey: .id)
            try container.encode(change.action.rawValue, forKey: .action)
            try container.encode(change.reason.rawValue, forKey: .reason)
            try container.encodeOrNull(change.before, forKey: .before)
            try container.encodeOrNull(change.after, forKey: .after)
            try container.encode(change.changedPaths, forKey: .changedPaths)
            try container.encode(change.replacePaths, forKey: .replacePaths)
            try container.encode(change.sensitivePaths, forKey: .sensitivePaths)
            try container.encodeOrNull(change.deletionPolicy?.rawValue, forKey: .deletionPolicy)
            try container.encodeIfPresent(change.softDelete.map(SoftDelete.init), forKey: .softDelete)
        }
    }

    struct Drift: Encodable {
        var entry: DriftEntry

        init(_ entry: DriftEntry) { self.entry = entry }

        enum CodingKeys: String, CodingKey {
            case address, changedPaths = "changed_paths", lastApplied = "last_applied", observed
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(entry.address.description, forKey: .address)
            try container.encode(entry.changedPaths, forKey: .changedPaths)
            try container.encodeOrNull(entry.lastApplied, forKey: .lastApplied)
            try container.encodeOrNull(entry.observed, forKey: .observed)
        }
    }
}

/// What `plan` and `apply --output json` print when the manifests are invalid: nothing was planned.
struct InvalidManifestsJSON: Encodable {
    var valid = false
    var diagnostics: [DiagnosticJSON]
}

/// The apply's `--output json` document: the result, the plan's summary, every step, the steps of an
/// interrupted apply that this one repaired, and the first error.
struct ApplyJSON: Encodable {
    var outcome: ApplyOutcome
    var summary: PlanSummary

    enum CodingKeys: String, CodingKey { case result, summary, steps, resumed, error }
    enum StepKeys: String, CodingKey { case address, action, status, errorCode = "error_code", message }
    enum ErrorKeys: String, CodingKey { case code, message }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outcome.result.rawValue, forKey: .result)
        try container.encode(summary, forKey: .summary)
        var steps = container.nestedUnkeyedContainer(forKey: .steps)
        for step in outcome.steps {
            var entry = steps.nestedContainer(keyedBy: StepKeys.self)
            try entry.encode(step.address.description, forKey: .address)
            try entry.encode(step.action.rawValue, forKey: .action)
            try entry.encode(step.status.rawValue, forKey: .status)
            try entry.encodeOrNull(step.errorCode, forKey: .errorCode)
            try entry.encodeOrNull(step.message, forKey: .message)
        }
        var resumed = container.nestedUnkeyedContainer(forKey: .resumed)
        for step in outcome.resumed {
            var entry = resumed.nestedContainer(keyedBy: StepKeys.self)
            try entry.encode(step.address.description, forKey: .address)
            try entry.encode(step.action.rawValue, forKey: .action)
            try entry.encode(step.status.rawValue, forKey: .status)
        }
        if let error = outcome.error {
            var entry = container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error)
            try entry.encode(error.code, forKey: .code)
            try entry.encode(error.message, forKey: .message)
        } else {
            try container.encodeNil(forKey: .error)
        }
    }
}
