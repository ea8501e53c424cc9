public import CofferModel

/// ARM's error body: `{"error": {"code", "message", "target"?, "details"?}}` (the common-types
/// ErrorResponse that every resource provider answers with, and the SDKs read into `e.error.code`).
public struct ARMErrorResponse: Codable, Sendable, Hashable {
    public var error: ARMErrorDetail

    public init(error: ARMErrorDetail) { self.error = error }
}

/// One error of the envelope.
public struct ARMErrorDetail: Codable, Sendable, Hashable {
    public var code: String
    public var message: String
    public var target: String?
    public var details: [ARMErrorDetail]?

    public init(code: String, message: String, target: String? = nil, details: [ARMErrorDetail]? = nil) {
        self.code = code
        self.message = message
        self.target = target
        self.details = details
    }
}

/// An error answered to an ARM request: the HTTP status and the envelope's code and message.
public struct ARMError: CofferError, Hashable {
    /// The HTTP status: 400, 401, 404, 409, 413, 500...
    public var status: Int
    public var code: String
    public var message: String
    public var target: String?
    /// What to do about it, for logs and the CLI; not sent (ARM's envelope has no hint).
    public var hint: String?

    public init(status: Int, code: String, message: String, target: String? = nil, hint: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.hint = hint
    }

    public var errorCode: String { code }
    public var underlying: (any Error)? { nil }
    public var description: String { "\(status) \(code): \(message)" }

    /// The body to send.
    public var response: ARMErrorResponse {
        ARMErrorResponse(error: ARMErrorDetail(code: code, message: message, target: target))
    }

    // MARK: Requests

    public static let missingAPIVersionCode = "MissingApiVersionParameter"
    public static let invalidAPIVersionCode = "InvalidApiVersionParameter"
    public static let invalidRequestContentCode = "InvalidRequestContent"
    public static let requestContentTooLargeCode = "RequestContentTooLarge"

    /// No `api-version` in the query.
    public static func missingAPIVersion() -> ARMError {
        ARMError(status: 400, code: missingAPIVersionCode,
                 message: "The api-version query parameter (?api-version=) is required for all requests.")
    }

    /// A body that is not JSON, too deep, or not the shape the operation takes.
    public static func invalidRequestContent(_ detail: String) -> ARMError {
        ARMError(status: 400, code: invalidRequestContentCode,
                 message: "The request content was invalid and could not be deserialized: \(detail)")
    }

    /// A body over the limit.
    public static func requestContentTooLarge(limit: Int) -> ARMError {
        ARMError(status: 400, code: requestContentTooLargeCode,
                 message: "The request content is larger than the limit of \(limit) bytes.")
    }

    /// A query parameter whose value is not one the operation takes.
    public static func invalidParameter(_ name: String, _ detail: String) -> ARMError {
        ARMError(status: 400, code: "InvalidParameter", message: "The value of parameter '\(name)' is invalid: \(detail)", target: name)
    }

    // MARK: Routing

    /// A path that names no resource type coffer serves.
    public static func noRoute(method: String, path: String) -> ARMError {
        ARMError(status: 404, code: "NoRegisteredProviderFound",
                 message: "No registered resource provider found for the request \(method) \(path): coffer serve does not serve this resource type or operation.")
    }

    /// A method the resource type does not take.
    public static func methodNotAllowed(method: String, path: String) -> ARMError {
        ARMError(status: 405, code: "MethodNotAllowed", message: "The requested resource does not support http method '\(method)' (\(path)).")
    }

    /// A resource that does not exist.
    public static func resourceNotFound(type: String, name: String, resourceGroup: String? = nil) -> ARMError {
        ARMError(status: 404, code: "ResourceNotFound",
                 message: "The Resource '\(type)/\(name)'" + (resourceGroup.map { " under resource group '\($0)'" } ?? "") + " was not found.")
    }

    /// A resource group that does not exist.
    public static func resourceGroupNotFound(_ name: String) -> ARMError {
        ARMError(status: 404, code: "ResourceGroupNotFound", message: "Resource group '\(name)' could not be found.")
    }

    /// A subscription the caller's tenant does not hold.
    public static func subscriptionNotFound(_ id: String) -> ARMError {
        ARMError(status: 404, code: "SubscriptionNotFound", message: "The subscription '\(id)' could not be found.")
    }

    // MARK: Authentication

    /// No `Authorization` header.
    public static func authenticationHeaderMissing() -> ARMError {
        ARMError(status: 401, code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing.")
    }

    /// An `Authorization` header that is not `Bearer <token>`.
    public static func authenticationHeaderMalformed() -> ARMError {
        ARMError(status: 401, code: "AuthenticationFailed",
                 message: "Authentication failed. The 'Authorization' header is provided in an invalid format.")
    }

    /// A bearer token that is unknown, expired or revoked (`reason` says which).
    public static func invalidAuthenticationToken(_ reason: String) -> ARMError {
        ARMError(status: 401, code: "InvalidAuthenticationToken", message: "The access token is invalid: \(reason).")
    }
}
