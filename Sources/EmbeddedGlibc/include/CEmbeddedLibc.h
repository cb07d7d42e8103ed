#ifndef ISCSI_ROOT_CEMBEDDEDLIBC_H
#define ISCSI_ROOT_CEMBEDDEDLIBC_H
// The C library as the Embedded build's stand-in for the Glibc module sees it: the headers
// the sources use, and C shims for what the Glibc overlay adds in Swift (errno, the variadic
// functions Swift cannot call, the process arguments).
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int iscsi_root_embedded_errno(void);
void iscsi_root_embedded_set_errno(int value);
int iscsi_root_embedded_open(const char *path, int flags, mode_t mode);
int iscsi_root_embedded_openat(int directory, const char *path, int flags, mode_t mode);
int iscsi_root_embedded_fcntl(int descriptor, int command, long argument);
int iscsi_root_embedded_ioctl(int descriptor, unsigned long request, void *argument);
/// The process's arguments, captured by an ELF constructor (argc and argv as main gets them).
int iscsi_root_embedded_argc(void);
char **iscsi_root_embedded_argv(void);
#endif
