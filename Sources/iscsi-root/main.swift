import Agent
import Commands

#if canImport(Glibc)
    import Glibc
#endif

if ShutdownRole.isRequested(arguments: CommandLine.arguments) {
    ShutdownRole.run(verb: CommandLine.arguments.dropFirst().first)
}
if InitRole.isRequested(arguments: CommandLine.arguments) {
    InitRole.run(arguments: CommandLine.arguments)
}
exit(runCommandLine(Array(CommandLine.arguments.dropFirst())).rawValue)
