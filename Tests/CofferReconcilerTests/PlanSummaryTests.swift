import CofferReconciler
import Testing

@Suite struct PlanSummaryTests {
    @Test func closingLineCountsReplacesAsAddAndDestroy() {
        #expect(PlanSummary(add: 1, change: 2, replace: 1, destroy: 0).line == "Plan: 2 to add, 2 to change, 1 to destroy.")
        #expect(PlanSummary().line == "No changes. The platform matches the manifests.")
        #expect(!PlanSummary().hasChanges)
    }
}
