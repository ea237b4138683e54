package pretouch

// System call numbers of linux/amd64 (arch/x86/entry/syscalls/syscall_64.tbl).
const (
	sysRead    = 0
	sysClose   = 3
	sysMadvise = 28
	sysOpenat  = 257
)
