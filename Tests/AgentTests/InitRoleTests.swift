#if canImport(Glibc)
    import Glibc
#endif
import Testing

@testable import Agent

// The tests run as an ordinary process (never PID 1): they check the choices the init
// role makes, not the mounts and the power-off, which Tests/VM boots for real.
@Suite struct InitRoleTests {
    @Test(arguments: ["/init", "init", "/sbin/init", "./init"])
    func startedAsInitTakesTheInitRole(programPath: String) {
        #expect(InitRole.isRequested(arguments: [programPath]))
    }

    @Test(arguments: [["iscsi-root"], ["/usr/sbin/iscsi-root", "plan"], ["initialize"], ["/init.d/iscsi-root"]])
    func anyOtherNameRunsTheCommands(arguments: [String]) {
        #expect(!InitRole.isRequested(arguments: arguments))
    }

    @Test func theProcFilesystemIsAMountPointAndAPlainFolderIsNot() throws {
        #expect(try EarlyMount.isMountPoint("/proc"))
        var template = Array("/tmp/agent-tests.XXXXXX".utf8CString)
        let folder = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) })
        let path = String(cString: folder)
        defer { rmdir(path) }
        #expect(try !EarlyMount.isMountPoint(path))
    }

    @Test func theEarlyMountsComeInTheOrderTheBootNeedsThem() {
        #expect(EarlyMount.initramfs.map(\.target) == ["/proc", "/sys", "/dev", "/run"])
        #expect(EarlyMount.initramfs.map(\.filesystemType) == ["proc", "sysfs", "devtmpfs", "tmpfs"])
    }
}
