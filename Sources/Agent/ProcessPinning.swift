import CShims
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// What makes the supervisor survive everything a shutdown does to processes, each a
/// documented convention: systemd's rules for root storage daemons (argv[0] starting with
/// '@' survives the final kill spree), the kernel's OOM and I/O-flusher knobs, and the
/// `sendsigs.omit.d` folder of Debian's sysvinit scripts.
public enum ProcessPinning {
    /// Applies every protection and returns what could not be applied (for the log); none
    /// of them is fatal on its own.
    /// `omitName`: the file under /run/sendsigs.omit.d, one per pinned process.
    public static func pin(omitName: String = "iscsi-root") -> [String] {
        var problems: [String] = []
        // systemd's killing spree skips processes whose argv[0] starts with '@'; only the
        // first byte changes, /proc/self/comm stays "iscsi-root".
        if let first = CommandLine.unsafeArgv[0] { first[0] = CChar(UInt8(ascii: "@")) }
        if !writeExisting("-1000", to: "/proc/self/oom_score_adj") { problems.append("\(SystemError("write /proc/self/oom_score_adj"))") }
        // A process that repairs the root disk must never wait for a page to be read back.
        // MCL_ONFAULT (Linux 4.4) locks pages as they are first touched instead of the whole
        // static image at once: the pages never touched yet belong to the initramfs, which
        // lives in memory (ramfs/tmpfs, no swap), so touching them later costs no I/O.
        if mlockall(MCL_CURRENT | MCL_FUTURE | onFault) != 0 && mlockall(MCL_CURRENT | MCL_FUTURE) != 0 {
            problems.append("\(SystemError("mlockall"))")
        }
        // Memory reclaim must not wait for I/O that only this process can unblock.
        if iscsi_root_set_io_flusher() != 0 { problems.append("\(SystemError("prctl(PR_SET_IO_FLUSHER)"))") }
        // sysvinit's sendsigs and killall5 skip the pids listed here.
        mkdir("/run/sendsigs.omit.d", 0o755)
        if !writeText(String(getpid()), to: "/run/sendsigs.omit.d/\(omitName)") {
            problems.append("/run/sendsigs.omit.d: \(SystemError("write"))")
        }
        // Only the control socket stops the supervisor; a broken client must not kill it either.
        for signalNumber in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { signal(signalNumber, SIG_IGN) }
        return problems
    }

    /// MCL_ONFAULT of <sys/mman.h>, which Glibc's Swift module does not export.
    static let onFault: Int32 = 4

    /// Writes `text` to a file that exists (a /proc or /sys attribute, which refuse O_CREAT).
    static func writeExisting(_ text: String, to path: String) -> Bool {
        (try? writeAttribute(text, to: path)) != nil
    }

    /// Writes `text` to `path`, creating or truncating it.
    static func writeText(_ text: String, to path: String) -> Bool {
        (try? writeFile(Array(text.utf8), to: path, mode: 0o644)) != nil
    }
}
