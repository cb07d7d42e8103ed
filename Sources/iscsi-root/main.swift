import Commands

#if canImport(Glibc)
import Glibc
#endif

exit(runCommandLine(Array(CommandLine.arguments.dropFirst())).rawValue)
