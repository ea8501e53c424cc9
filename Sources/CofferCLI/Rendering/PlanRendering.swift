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
        out.append(terminal.paint(plan.summary.line, .bold))
        return out.joined(separator: "\n")
    }

    private static func header(_ change: ResourceChange) -> String {
        switch (change.action, change.reason) {
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

    // MARK: JSON

    static func jsonObject(_ plan: Plan) throws -> [String: Any] {
        func value(_ attribute: AttributeValue?) throws -> Any {
            guard let attribute else { return NSNull() }
            return try JSONSerialization.jsonObject(with: JSONEncoder().encode(attribute), options: [.fragmentsAllowed])
        }
        let summary = plan.summary
        return [
            "format_version": Plan.formatVersion,
            "summary": ["add": summary.add, "change": summary.change, "replace": summary.replace, "destroy": summary.destroy],
            "resource_changes": try plan.changes.map { change -> [String: Any] in
                [
                    "address": change.address.description,
                    "kind": change.address.kind.rawValue,
                    "name": change.address.name,
                    "id": change.id,
                    "action": change.action.rawValue,
                    "reason": change.reason.rawValue,
                    "before": try value(change.before),
                    "after": try value(change.after),
                    "changed_paths": change.changedPaths,
                    "replace_paths": change.replacePaths,
                    "sensitive_paths": change.sensitivePaths,
                    "deletion_policy": change.deletionPolicy?.rawValue ?? NSNull(),
                ]
            },
            "drift": try plan.drift.map { entry -> [String: Any] in
                [
                    "address": entry.address.description,
                    "changed_paths": entry.changedPaths,
                    "last_applied": try value(entry.lastApplied),
                    "observed": try value(entry.observed),
                ]
            },
            "diagnostics": plan.diagnostics.map(DiagnosticRendering.json),
        ]
    }
}
