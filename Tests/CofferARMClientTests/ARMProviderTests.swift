import Testing
@testable import CofferARMClient
