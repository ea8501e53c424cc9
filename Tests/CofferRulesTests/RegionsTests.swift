import CofferRules
import Testing

@Suite struct RegionsTests {
    @Test func symmetricPairsPointAtEachOther() {
        #expect(Regions.pair(of: "eastus")?.name == "westus")
        #expect(Regions.pair(of: "westus")?.name == "eastus")
        #expect(Regions.pair(of: "westeurope")?.name == "northeurope")
        #expect(Regions.pair(of: "northeurope")?.name == "westeurope")
        #expect(Regions.pair(of: "EastUS")?.name == "westus")
    }

    @Test(arguments: [("westus3", "eastus"), ("brazilsouth", "southcentralus"), ("westindia", "southindia"),
                      ("brazilsoutheast", "brazilsouth")])
    func oneWayPairs(region: String, pair: String) throws {
        #expect(Regions.pair(of: region)?.name == pair)
        let back = try #require(Regions.pair(of: pair))
        #expect(back.name != region)
    }

    @Test(arguments: ["qatarcentral", "polandcentral", "israelcentral", "italynorth", "austriaeast", "spaincentral"])
    func regionsWithoutAPair(region: String) throws {
        let known = try #require(Regions.region(named: region))
        #expect(known.pair == nil)
        #expect(Regions.pair(of: region) == nil)
    }

    @Test func geographies() {
        #expect(Regions.region(named: "brazilsouth")?.geography == "Brazil")
        #expect(Regions.region(named: "southcentralus")?.geography == "United States")
        #expect(Regions.region(named: "eastus")?.geography == Regions.region(named: "westus")?.geography)
        #expect(Regions.region(named: "francesouth")?.accessRestricted == true)
        #expect(Regions.region(named: "nowhere") == nil)
    }

    @Test func everyPairIsAKnownRegion() {
        for region in Regions.all.values {
            if let pair = region.pair { #expect(Regions.all[pair] != nil, "\(region.name) pairs with unknown \(pair)") }
        }
        #expect(Regions.all.count >= 60)
    }
}
