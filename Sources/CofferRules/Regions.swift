/// An Azure region as the platform knows it: its ARM name, its geography, and its paired region.
public struct Region: Sendable, Hashable, Codable {
    /// The lower-case ARM name, such as `eastus`.
    public var name: String
    /// The geography the region belongs to, such as `United States`.
    public var geography: String
    /// The region that this region's geo-redundant data replicates to, or nil when it has none.
    public var pair: String?
    /// Whether access to the region is restricted (the `*` regions of the pairing table).
    public var accessRestricted: Bool

    /// A region of the table.
    public init(name: String, geography: String, pair: String?, accessRestricted: Bool = false) {
        self.name = name
        self.geography = geography
        self.pair = pair
        self.accessRestricted = accessRestricted
    }
}

/// The built-in table of Azure regions and their pairs (the official pairing table), including the one-way
/// pairs and the regions that have no pair.
public enum Regions {
    /// Every region, by name.
    public static let all: [String: Region] = {
        var table: [String: Region] = [:]
        func add(_ name: String, _ geography: String, pair: String?, restricted: Bool = false) {
            table[name] = Region(name: name, geography: geography, pair: pair, accessRestricted: restricted)
        }
        // Symmetric pairs: each region's pair is the other.
        let symmetric: [(String, String, String, Bool, Bool)] = [
            ("Asia-Pacific", "eastasia", "southeastasia", false, false),
            ("Australia", "australiaeast", "australiasoutheast", false, false),
            ("Australia", "australiacentral", "australiacentral2", false, true),
            ("Canada", "canadacentral", "canadaeast", false, false),
            ("China", "chinanorth", "chinaeast", false, false),
            ("China", "chinanorth2", "chinaeast2", false, false),
            ("China", "chinanorth3", "chinaeast3", false, true),
            ("Europe", "northeurope", "westeurope", false, false),
            ("France", "francecentral", "francesouth", false, true),
            ("Germany", "germanywestcentral", "germanynorth", false, true),
            ("India", "centralindia", "southindia", false, false),
            ("Japan", "japaneast", "japanwest", false, false),
            ("Korea", "koreacentral", "koreasouth", false, true),
            ("United States", "eastus", "westus", false, false),
            ("United States", "eastus2", "centralus", false, false),
            ("United States", "northcentralus", "southcentralus", false, false),
            ("United States", "westus2", "westcentralus", false, false),
            ("Norway", "norwayeast", "norwaywest", false, true),
            ("South Africa", "southafricanorth", "southafricawest", false, true),
            ("Sweden", "swedencentral", "swedensouth", false, true),
            ("Switzerland", "switzerlandnorth", "switzerlandwest", false, true),
            ("UK", "uksouth", "ukwest", false, false),
            ("UAE", "uaenorth", "uaecentral", false, true),
            ("US DoD", "usdodeast", "usdodcentral", true, true),
            ("US Gov", "usgovvirginia", "usgovtexas", true, true),
        ]
        for (geography, a, b, restrictedA, restrictedB) in symmetric {
            add(a, geography, pair: b, restricted: restrictedA)
            add(b, geography, pair: a, restricted: restrictedB)
        }
        // One-way pairs: the first region pairs with the second, whose own pair is another region.
        add("brazilsouth", "Brazil", pair: "southcentralus")
        add("brazilsoutheast", "Brazil", pair: "brazilsouth", restricted: true)
        add("westindia", "India", pair: "southindia")
        add("westus3", "United States", pair: "eastus")
        add("usgovarizona", "US Gov", pair: "usgovtexas", restricted: true)
        // Regions without a pair: no geo-redundant storage, hence no cross-region restore.
        add("qatarcentral", "Qatar", pair: nil)
        add("polandcentral", "Poland", pair: nil)
        add("israelcentral", "Israel", pair: nil)
        add("italynorth", "Italy", pair: nil)
        add("austriaeast", "Austria", pair: nil)
        add("spaincentral", "Spain", pair: nil)
        return table
    }()

    /// The region with this name (case-insensitive), or nil when there is none.
    public static func region(named name: String) -> Region? {
        all[name.lowercased()]
    }

    /// The paired region of `name`, or nil when it has none or is unknown.
    public static func pair(of name: String) -> Region? {
        guard let pair = region(named: name)?.pair else { return nil }
        return all[pair]
    }

    /// All region names, sorted, for messages that list what is allowed.
    public static var names: [String] { all.keys.sorted() }
}
