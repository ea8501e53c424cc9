import CofferARM
import CofferModel
import CofferPlatform
import CofferSystem
import Crypto
import Foundation
import NIOPosix

/// The platform as the server uses it: its calls are synchronous (SQLite, disk images, crypto), so they run
/// on NIO's blocking-I/O thread pool, never on the event loops or the cooperative pool.
struct PlatformAccess: Sendable {
    let platform: Platform
    let pool: NIOThreadPool
    /// The world's fixed facts, read once at start: the tenant, subscriptions and resource groups.
    let world: ServedWorld

    /// Runs `body` on the thread pool, turning a platform error into the ARM error to answer.
    func run<T: Sendable>(_ body: @escaping @Sendable (Platform) throws -> T) async throws(ARMError) -> T {
        do {
            return try await pool.runIfActive { [platform] in try body(platform) }
        } catch let error as ARMError {
            throw error
        } catch let error as PlatformError {
            throw Self.armError(error)
        } catch {
            throw ARMError(status: 500, code: "InternalServerError", message: "coffer serve failed: \(error)")
        }
    }

    /// The ARM error for a platform error: its code and message, with the hint, and the status the service
    /// answers with (404 for what does not exist, 409 for a conflict or a busy VM, 500 for the state
    /// directory's own failures, 400 for a rule).
    static func armError(_ error: PlatformError) -> ARMError {
        let status: Int
        switch error.code {
        case PlatformErrorCode.resourceNotFound, PlatformErrorCode.recoveryPointNotFound: status = 404
        case PlatformErrorCode.resourceAlreadyExists, PlatformErrorCode.backupOperationInProgress, PlatformErrorCode.roleAssignmentExists,
            PlatformErrorCode.roleAssignmentUpdateNotPermitted:
            status = 409
        case PlatformErrorCode.storageError, PlatformErrorCode.notInitialized, PlatformErrorCode.recoveryPointIntegrityCheckFailed: status = 500
        default: status = 400
        }
        let message = error.message + (error.hint.map { ". \($0)" } ?? "")
        return ARMError(status: status, code: error.code, message: message, hint: error.hint)
    }
}

/// The facts of the world that never change while serve runs (a world is fixed at `platform init`).
struct ServedWorld: Sendable {
    struct Subscription: Sendable {
        var name: String
        var id: String
    }

    struct ResourceGroup: Sendable {
        var subscriptionID: String
        var name: String
        var region: String
    }

    var tenant: String
    /// A GUID for the tenant, derived from its name (the world names tenants; ARM gives them ids).
    var tenantID: String
    var subscriptions: [Subscription]
    var resourceGroups: [ResourceGroup]

    init(_ overview: PlatformOverview) {
        tenant = overview.tenant
        tenantID = Self.guid(from: "tenant:" + overview.tenant)
        subscriptions = overview.subscriptions.map { Subscription(name: $0.name, id: $0.id) }
        resourceGroups = overview.resourceGroups.compactMap { group in
            guard let subscription = overview.subscriptions.first(where: { $0.name == group.subscription }) else { return nil }
            return ResourceGroup(subscriptionID: subscription.id, name: group.name, region: group.region)
        }
    }

    /// The subscription with this id (any case).
    func subscription(id: String) -> Subscription? {
        subscriptions.first { $0.id.lowercased() == id.lowercased() }
    }

    func resourceGroup(subscriptionID: String, name: String) -> ResourceGroup? {
        resourceGroups.first { $0.subscriptionID.lowercased() == subscriptionID.lowercased() && $0.name.lowercased() == name.lowercased() }
    }

    /// A stable GUID from a name: the first 16 bytes of its SHA-256, formatted as a version 4 GUID.
    static func guid(from name: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { Hex.encode(bytes[$0]) }.joined(separator: "-")
    }
}

extension Date {
    /// ISO 8601 in UTC, as ARM writes times: `2026-01-05T02:00:00Z`.
    var armTime: String { formatted(.iso8601) }
}
