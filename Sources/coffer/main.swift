import CofferCLI
import Foundation

exit(await runCoffer(Array(CommandLine.arguments.dropFirst())))
