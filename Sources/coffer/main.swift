import CofferCLI
import Foundation

exit(runCoffer(Array(CommandLine.arguments.dropFirst())))
