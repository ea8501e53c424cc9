import CofferModel
import CofferRules
import Foundation
import Testing

@Suite struct RuleViolationTests {
    @Test func aViolationIsACofferErrorWithTheServiceCode() throws {
        let violation = RuleViolation(
            "ServiceResourceNotEmpty", "vault 'rsv' still holds 2 items", hint: "stop protection first", field: "spec.location")
        let error: any CofferError = violation
        #expect(error.errorCode == "ServiceResourceNotEmpty")
        #expect(error.description == "ServiceResourceNotEmpty: vault 'rsv' still holds 2 items")
        let decoded = try JSONDecoder().decode(RuleViolation.self, from: JSONEncoder().encode(violation))
        #expect(decoded == violation)
    }
}
