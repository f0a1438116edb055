// SPDX-License-Identifier: MIT
/*
 * Constant lookup tables shared by config, detector and decoders: SMB2
 * commands, NTSTATUS codes (with the errno the Linux cifs client maps each
 * one to, from fs/smb/client/smb2maperror.c), errno names, tool and mode
 * names. Constant data only: no strerror(), no locale.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h"
#include "config/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* SMB2 opcodes 0..19 (MS-SMB2 2.2.1). */
static const char *const smb_cmd_names[AOD_SMB_NCMDS_CFG] = {
	"SMB2_NEGOTIATE", "SMB2_SESSION_SETUP", "SMB2_LOGOFF",
	"SMB2_TREE_CONNECT", "SMB2_TREE_DISCONNECT", "SMB2_CREATE",
	"SMB2_CLOSE", "SMB2_FLUSH", "SMB2_READ", "SMB2_WRITE", "SMB2_LOCK",
	"SMB2_IOCTL", "SMB2_CANCEL", "SMB2_ECHO", "SMB2_QUERY_DIRECTORY",
	"SMB2_CHANGE_NOTIFY", "SMB2_QUERY_INFO", "SMB2_SET_INFO",
	"SMB2_OPLOCK_BREAK", "SMB2_SERVER_TO_CLIENT_NOTIFICATION",
};

const char *aod_smb_cmd_name(unsigned cmd)
{
	return cmd < AOD_SMB_NCMDS_CFG ? smb_cmd_names[cmd] : NULL;
}

/* "SMB2_READ", "smb2_read" and "READ" all name opcode 8. */
int aod_smb_cmd_from_name(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < AOD_SMB_NCMDS_CFG; i++) {
		const char *full = smb_cmd_names[i];

		if (!strcasecmp(name, full) || !strcasecmp(name, full + 5))
			return (int)i;
	}
	return -1;
}

struct ntstatus_entry {
	uint32_t status;
	int err;           /* positive errno the cifs client maps it to */
	const char *name;
};

/*
 * The statuses an SMB client meets in practice. Values from MS-ERREF
 * 2.3.1; errno from the kernel's smb2_error_map_table.
 */
static const struct ntstatus_entry ntstatus_table[] = {
	{ 0x80000005, E2BIG, "STATUS_BUFFER_OVERFLOW" },
	{ 0x80000006, ENODATA, "STATUS_NO_MORE_FILES" },
	{ 0x8000001A, EIO, "STATUS_NO_MORE_ENTRIES" },
	{ 0x8000002D, EOPNOTSUPP, "STATUS_STOPPED_ON_SYMLINK" },
	{ 0xC0000001, EIO, "STATUS_UNSUCCESSFUL" },
	{ 0xC0000002, EOPNOTSUPP, "STATUS_NOT_IMPLEMENTED" },
	{ 0xC0000003, EIO, "STATUS_INVALID_INFO_CLASS" },
	{ 0xC0000004, EIO, "STATUS_INFO_LENGTH_MISMATCH" },
	{ 0xC0000005, EACCES, "STATUS_ACCESS_VIOLATION" },
	{ 0xC0000008, EBADF, "STATUS_INVALID_HANDLE" },
	{ 0xC000000D, EINVAL, "STATUS_INVALID_PARAMETER" },
	{ 0xC000000E, ENODEV, "STATUS_NO_SUCH_DEVICE" },
	{ 0xC000000F, ENOENT, "STATUS_NO_SUCH_FILE" },
	{ 0xC0000010, EOPNOTSUPP, "STATUS_INVALID_DEVICE_REQUEST" },
	{ 0xC0000011, ENODATA, "STATUS_END_OF_FILE" },
	{ 0xC0000016, EIO, "STATUS_MORE_PROCESSING_REQUIRED" },
	{ 0xC0000017, EREMOTEIO, "STATUS_NO_MEMORY" },
	{ 0xC0000022, EACCES, "STATUS_ACCESS_DENIED" },
	{ 0xC0000023, EIO, "STATUS_BUFFER_TOO_SMALL" },
	{ 0xC0000024, EIO, "STATUS_OBJECT_TYPE_MISMATCH" },
	{ 0xC000002A, EIO, "STATUS_NOT_LOCKED" },
	{ 0xC0000030, EINVAL, "STATUS_INVALID_PARAMETER_MIX" },
	{ 0xC0000032, EIO, "STATUS_DISK_CORRUPT_ERROR" },
	{ 0xC0000033, ENOENT, "STATUS_OBJECT_NAME_INVALID" },
	{ 0xC0000034, ENOENT, "STATUS_OBJECT_NAME_NOT_FOUND" },
	{ 0xC0000035, EEXIST, "STATUS_OBJECT_NAME_COLLISION" },
	{ 0xC0000039, ENOTDIR, "STATUS_OBJECT_PATH_INVALID" },
	{ 0xC000003A, ENOENT, "STATUS_OBJECT_PATH_NOT_FOUND" },
	{ 0xC000003B, EIO, "STATUS_OBJECT_PATH_SYNTAX_BAD" },
	{ 0xC000003E, EIO, "STATUS_DATA_ERROR" },
	{ 0xC000003F, EIO, "STATUS_CRC_ERROR" },
	{ 0xC0000043, EBUSY, "STATUS_SHARING_VIOLATION" },
	{ 0xC0000044, EDQUOT, "STATUS_QUOTA_EXCEEDED" },
	{ 0xC000004F, EOPNOTSUPP, "STATUS_EAS_NOT_SUPPORTED" },
	{ 0xC0000050, EIO, "STATUS_EA_TOO_LARGE" },
	{ 0xC0000052, ENODATA, "STATUS_NO_EAS_ON_FILE" },
	{ 0xC0000054, EACCES, "STATUS_FILE_LOCK_CONFLICT" },
	{ 0xC0000055, EACCES, "STATUS_LOCK_NOT_GRANTED" },
	{ 0xC0000056, ENOENT, "STATUS_DELETE_PENDING" },
	{ 0xC0000061, EPERM, "STATUS_PRIVILEGE_NOT_HELD" },
	{ 0xC000006A, EACCES, "STATUS_WRONG_PASSWORD" },
	{ 0xC000006D, EACCES, "STATUS_LOGON_FAILURE" },
	{ 0xC000006E, EACCES, "STATUS_ACCOUNT_RESTRICTION" },
	{ 0xC000006F, EACCES, "STATUS_INVALID_LOGON_HOURS" },
	{ 0xC0000070, EACCES, "STATUS_INVALID_WORKSTATION" },
	{ 0xC0000071, EKEYEXPIRED, "STATUS_PASSWORD_EXPIRED" },
	{ 0xC0000072, EKEYREVOKED, "STATUS_ACCOUNT_DISABLED" },
	{ 0xC000007E, EIO, "STATUS_RANGE_NOT_LOCKED" },
	{ 0xC000007F, ENOSPC, "STATUS_DISK_FULL" },
	{ 0xC000009A, EAGAIN, "STATUS_INSUFFICIENT_RESOURCES" },
	{ 0xC000009C, EIO, "STATUS_DEVICE_DATA_ERROR" },
	{ 0xC000009D, EIO, "STATUS_DEVICE_NOT_CONNECTED" },
	{ 0xC00000A2, EROFS, "STATUS_MEDIA_WRITE_PROTECTED" },
	{ 0xC00000A3, EIO, "STATUS_DEVICE_NOT_READY" },
	{ 0xC00000AE, EBUSY, "STATUS_PIPE_BUSY" },
	{ 0xC00000B0, EPIPE, "STATUS_PIPE_DISCONNECTED" },
	{ 0xC00000B5, EAGAIN, "STATUS_IO_TIMEOUT" },
	{ 0xC00000B6, EIO, "STATUS_FILE_FORCED_CLOSED" },
	{ 0xC00000BA, EISDIR, "STATUS_FILE_IS_A_DIRECTORY" },
	{ 0xC00000BB, EOPNOTSUPP, "STATUS_NOT_SUPPORTED" },
	{ 0xC00000BC, EHOSTDOWN, "STATUS_REMOTE_NOT_LISTENING" },
	{ 0xC00000BD, ENOTUNIQ, "STATUS_DUPLICATE_NAME" },
	{ 0xC00000BE, EINVAL, "STATUS_BAD_NETWORK_PATH" },
	{ 0xC00000BF, EBUSY, "STATUS_NETWORK_BUSY" },
	{ 0xC00000C0, ENODEV, "STATUS_DEVICE_DOES_NOT_EXIST" },
	{ 0xC00000C3, EIO, "STATUS_INVALID_NETWORK_RESPONSE" },
	{ 0xC00000C4, EIO, "STATUS_UNEXPECTED_NETWORK_ERROR" },
	{ 0xC00000C9, EREMCHG, "STATUS_NETWORK_NAME_DELETED" },
	{ 0xC00000CA, EACCES, "STATUS_NETWORK_ACCESS_DENIED" },
	{ 0xC00000CB, EIO, "STATUS_BAD_DEVICE_TYPE" },
	{ 0xC00000CC, ENOENT, "STATUS_BAD_NETWORK_NAME" },
	{ 0xC00000CE, EIO, "STATUS_TOO_MANY_SESSIONS" },
	{ 0xC00000D0, EIO, "STATUS_REQUEST_NOT_ACCEPTED" },
	{ 0xC00000D4, EXDEV, "STATUS_NOT_SAME_DEVICE" },
	{ 0xC00000D5, EIO, "STATUS_FILE_RENAMED" },
	{ 0xC00000D6, EIO, "STATUS_VIRTUAL_CIRCUIT_CLOSED" },
	{ 0xC00000E2, EIO, "STATUS_OPLOCK_NOT_GRANTED" },
	{ 0xC00000E5, EIO, "STATUS_INTERNAL_ERROR" },
	{ 0xC00000E9, EIO, "STATUS_UNEXPECTED_IO_ERROR" },
	{ 0xC0000101, ENOTEMPTY, "STATUS_DIRECTORY_NOT_EMPTY" },
	{ 0xC0000102, EIO, "STATUS_FILE_CORRUPT_ERROR" },
	{ 0xC0000103, ENOTDIR, "STATUS_NOT_A_DIRECTORY" },
	{ 0xC0000106, ENAMETOOLONG, "STATUS_NAME_TOO_LONG" },
	{ 0xC000011F, EMFILE, "STATUS_TOO_MANY_OPENED_FILES" },
	{ 0xC0000120, EIO, "STATUS_CANCELLED" },
	{ 0xC0000121, EACCES, "STATUS_CANNOT_DELETE" },
	{ 0xC0000123, EIO, "STATUS_FILE_DELETED" },
	{ 0xC0000128, EBADF, "STATUS_FILE_CLOSED" },
	{ 0xC000013C, ESHUTDOWN, "STATUS_REMOTE_DISCONNECT" },
	{ 0xC000013F, ETIMEDOUT, "STATUS_LINK_TIMEOUT" },
	{ 0xC000014B, EPIPE, "STATUS_PIPE_BROKEN" },
	{ 0xC0000184, EIO, "STATUS_INVALID_DEVICE_STATE" },
	{ 0xC0000185, EIO, "STATUS_IO_DEVICE_ERROR" },
	{ 0xC0000193, EKEYEXPIRED, "STATUS_ACCOUNT_EXPIRED" },
	{ 0xC000019C, EOPNOTSUPP, "STATUS_FS_DRIVER_REQUIRED" },
	{ 0xC0000203, EIO, "STATUS_USER_SESSION_DELETED" },
	{ 0xC0000205, EIO, "STATUS_INSUFF_SERVER_RESOURCES" },
	{ 0xC000020C, ECONNABORTED, "STATUS_CONNECTION_DISCONNECTED" },
	{ 0xC000020D, ENETRESET, "STATUS_CONNECTION_RESET" },
	{ 0xC0000224, EIO, "STATUS_PASSWORD_MUST_CHANGE" },
	{ 0xC0000225, ENOENT, "STATUS_NOT_FOUND" },
	{ 0xC000022D, EAGAIN, "STATUS_RETRY" },
	{ 0xC0000234, EACCES, "STATUS_ACCOUNT_LOCKED_OUT" },
	{ 0xC0000236, EIO, "STATUS_CONNECTION_REFUSED" },
	{ 0xC000023C, ENETUNREACH, "STATUS_NETWORK_UNREACHABLE" },
	{ 0xC000023D, EHOSTDOWN, "STATUS_HOST_UNREACHABLE" },
	{ 0xC0000241, ECONNABORTED, "STATUS_CONNECTION_ABORTED" },
	{ 0xC0000257, EREMOTE, "STATUS_PATH_NOT_COVERED" },
	{ 0xC0000265, EMLINK, "STATUS_TOO_MANY_LINKS" },
	{ 0xC000026E, EIO, "STATUS_VOLUME_DISMOUNTED" },
	{ 0xC0000275, ENODATA, "STATUS_NOT_A_REPARSE_POINT" },
	{ 0xC000028A, EIO, "STATUS_ENCRYPTION_FAILED" },
	{ 0xC000028B, EIO, "STATUS_DECRYPTION_FAILED" },
	{ 0xC000035C, EIO, "STATUS_NETWORK_SESSION_EXPIRED" },
};

static const struct ntstatus_entry *ntstatus_find(uint32_t status)
{
	for (size_t i = 0; i < ARRAY_SIZE(ntstatus_table); i++)
		if (ntstatus_table[i].status == status)
			return &ntstatus_table[i];
	return NULL;
}

const char *aod_ntstatus_name(uint32_t status)
{
	const struct ntstatus_entry *e = ntstatus_find(status);

	return e ? e->name : NULL;
}

int aod_ntstatus_to_errno(uint32_t status)
{
	const struct ntstatus_entry *e = ntstatus_find(status);

	return e ? e->err : 0;
}

/* A name (case-insensitive) or a hex value "0xC0000022". 0 or -1. */
int aod_ntstatus_from_name(const char *name, uint32_t *status)
{
	if (!name || !*name)
		return -1;
	if (name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
		char *end;
		unsigned long long v;

		if (!name[2] || strspn(name + 2, "0123456789abcdefABCDEF") !=
				strlen(name + 2))
			return -1;
		v = strtoull(name, &end, 16);
		if (*end || v > UINT32_MAX)
			return -1;
		*status = (uint32_t)v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ntstatus_table); i++) {
		if (!strcasecmp(name, ntstatus_table[i].name)) {
			*status = ntstatus_table[i].status;
			return 0;
		}
	}
	return -1;
}

size_t aod_ntstatus_count(void)
{
	return ARRAY_SIZE(ntstatus_table);
}

const char *aod_ntstatus_name_at(size_t i)
{
	return i < ARRAY_SIZE(ntstatus_table) ? ntstatus_table[i].name : NULL;
}

/*
 * Statuses that are part of normal operation: SPNEGO continuation
 * (MORE_PROCESSING_REQUIRED), end of a directory listing (NO_MORE_FILES),
 * reads at EOF (END_OF_FILE), and lookups of names that do not exist
 * (OBJECT_NAME_NOT_FOUND: every open(O_CREAT) of a new file).
 */
bool aod_ntstatus_is_benign(uint32_t status)
{
	switch (status) {
	case 0xC0000016: /* STATUS_MORE_PROCESSING_REQUIRED */
	case 0x80000006: /* STATUS_NO_MORE_FILES */
	case 0xC0000011: /* STATUS_END_OF_FILE */
	case 0xC0000034: /* STATUS_OBJECT_NAME_NOT_FOUND */
		return true;
	default:
		return false;
	}
}

/* Linux errno values (asm-generic), canonical names. */
static const char *const errno_names[] = {
	[1] = "EPERM", [2] = "ENOENT", [3] = "ESRCH", [4] = "EINTR", [5] = "EIO",
	[6] = "ENXIO", [7] = "E2BIG", [8] = "ENOEXEC", [9] = "EBADF", [10] = "ECHILD",
	[11] = "EAGAIN", [12] = "ENOMEM", [13] = "EACCES", [14] = "EFAULT",
	[15] = "ENOTBLK", [16] = "EBUSY", [17] = "EEXIST", [18] = "EXDEV",
	[19] = "ENODEV", [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL",
	[23] = "ENFILE", [24] = "EMFILE", [25] = "ENOTTY", [26] = "ETXTBSY",
	[27] = "EFBIG", [28] = "ENOSPC", [29] = "ESPIPE", [30] = "EROFS",
	[31] = "EMLINK", [32] = "EPIPE", [33] = "EDOM", [34] = "ERANGE",
	[35] = "EDEADLK", [36] = "ENAMETOOLONG", [37] = "ENOLCK", [38] = "ENOSYS",
	[39] = "ENOTEMPTY", [40] = "ELOOP", [42] = "ENOMSG", [43] = "EIDRM",
	[44] = "ECHRNG", [45] = "EL2NSYNC", [46] = "EL3HLT", [47] = "EL3RST",
	[48] = "ELNRNG", [49] = "EUNATCH", [50] = "ENOCSI", [51] = "EL2HLT",
	[52] = "EBADE", [53] = "EBADR", [54] = "EXFULL", [55] = "ENOANO",
	[56] = "EBADRQC", [57] = "EBADSLT", [59] = "EBFONT", [60] = "ENOSTR",
	[61] = "ENODATA", [62] = "ETIME", [63] = "ENOSR", [64] = "ENONET",
	[65] = "ENOPKG", [66] = "EREMOTE", [67] = "ENOLINK", [68] = "EADV",
	[69] = "ESRMNT", [70] = "ECOMM", [71] = "EPROTO", [72] = "EMULTIHOP",
	[73] = "EDOTDOT", [74] = "EBADMSG", [75] = "EOVERFLOW", [76] = "ENOTUNIQ",
	[77] = "EBADFD", [78] = "EREMCHG", [79] = "ELIBACC", [80] = "ELIBBAD",
	[81] = "ELIBSCN", [82] = "ELIBMAX", [83] = "ELIBEXEC", [84] = "EILSEQ",
	[85] = "ERESTART", [86] = "ESTRPIPE", [87] = "EUSERS", [88] = "ENOTSOCK",
	[89] = "EDESTADDRREQ", [90] = "EMSGSIZE", [91] = "EPROTOTYPE",
	[92] = "ENOPROTOOPT", [93] = "EPROTONOSUPPORT", [94] = "ESOCKTNOSUPPORT",
	[95] = "EOPNOTSUPP", [96] = "EPFNOSUPPORT", [97] = "EAFNOSUPPORT",
	[98] = "EADDRINUSE", [99] = "EADDRNOTAVAIL", [100] = "ENETDOWN",
	[101] = "ENETUNREACH", [102] = "ENETRESET", [103] = "ECONNABORTED",
	[104] = "ECONNRESET", [105] = "ENOBUFS", [106] = "EISCONN",
	[107] = "ENOTCONN", [108] = "ESHUTDOWN", [109] = "ETOOMANYREFS",
	[110] = "ETIMEDOUT", [111] = "ECONNREFUSED", [112] = "EHOSTDOWN",
	[113] = "EHOSTUNREACH", [114] = "EALREADY", [115] = "EINPROGRESS",
	[116] = "ESTALE", [117] = "EUCLEAN", [118] = "ENOTNAM", [119] = "ENAVAIL",
	[120] = "EISNAM", [121] = "EREMOTEIO", [122] = "EDQUOT", [123] = "ENOMEDIUM",
	[124] = "EMEDIUMTYPE", [125] = "ECANCELED", [126] = "ENOKEY",
	[127] = "EKEYEXPIRED", [128] = "EKEYREVOKED", [129] = "EKEYREJECTED",
	[130] = "EOWNERDEAD", [131] = "ENOTRECOVERABLE", [132] = "ERFKILL",
	[133] = "EHWPOISON",
};

/* The kernel-internal errnos that can leak into rc (include/linux/errno.h). */
static const struct { int err; const char *name; } errno_kernel[] = {
	{ 512, "ERESTARTSYS" }, { 513, "ERESTARTNOINTR" },
	{ 514, "ERESTARTNOHAND" }, { 515, "ENOIOCTLCMD" },
	{ 516, "ERESTART_RESTARTBLOCK" }, { 521, "EBADHANDLE" },
	{ 522, "ENOTSYNC" }, { 523, "EBADCOOKIE" }, { 524, "ENOTSUPP" },
	{ 525, "ETOOSMALL" }, { 526, "ESERVERFAULT" }, { 527, "EBADTYPE" },
	{ 528, "EJUKEBOX" }, { 529, "EIOCBQUEUED" },
};

/* Other names for the same value. */
static const struct { int err; const char *name; } errno_aliases[] = {
	{ 11, "EWOULDBLOCK" }, { 35, "EDEADLOCK" }, { 95, "ENOTSUP" },
};

const char *aod_errno_name(int err)
{
	if (err > 0 && (size_t)err < ARRAY_SIZE(errno_names))
		return errno_names[err];
	for (size_t i = 0; i < ARRAY_SIZE(errno_kernel); i++)
		if (errno_kernel[i].err == err)
			return errno_kernel[i].name;
	return NULL;
}

int aod_errno_from_name(const char *name)
{
	if (!name || !*name)
		return -1;
	for (size_t i = 1; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i] && !strcasecmp(name, errno_names[i]))
			return (int)i;
	for (size_t i = 0; i < ARRAY_SIZE(errno_kernel); i++)
		if (!strcasecmp(name, errno_kernel[i].name))
			return errno_kernel[i].err;
	for (size_t i = 0; i < ARRAY_SIZE(errno_aliases); i++)
		if (!strcasecmp(name, errno_aliases[i].name))
			return errno_aliases[i].err;
	return -1;
}

/* Index over every known errno name (for suggestions): table, then kernel. */
size_t aod_errno_count(void)
{
	return ARRAY_SIZE(errno_names) + ARRAY_SIZE(errno_kernel);
}

const char *aod_errno_name_at(size_t i)
{
	if (i < ARRAY_SIZE(errno_names))
		return errno_names[i]; /* NULL for holes (0, 41, 58) */
	i -= ARRAY_SIZE(errno_names);
	return i < ARRAY_SIZE(errno_kernel) ? errno_kernel[i].name : NULL;
}

const char *aod_tool_name(enum aod_tool tool)
{
	switch (tool) {
	case AOD_TOOL_SMBSLOWER: return "smbslower";
	case AOD_TOOL_SMBIOSNOOP: return "smbiosnoop";
	case AOD_TOOL_BIOLATENCY: return "biolatency";
	case AOD_TOOL_BIOERROR: return "bioerror";
	case AOD_TOOL_TCPCONNLAT: return "tcpconnlat";
	case AOD_TOOL_TCPRETRANS: return "tcpretrans";
	case AOD_TOOL_TCPRESET: return "tcpreset";
	case AOD_TOOL_PROCEXIT: return "procexit";
	default: return "unknown";
	}
}

const char *aod_probe_enable_name(enum aod_probe_enable e)
{
	switch (e) {
	case AOD_PROBE_AUTO: return "auto";
	case AOD_PROBE_ON: return "on";
	case AOD_PROBE_OFF: return "off";
	default: return "unknown";
	}
}

const char *aod_mode_name(enum aod_mode mode)
{
	switch (mode) {
	case AOD_MODE_ALL: return "all";
	case AOD_MODE_TRACKONLY: return "trackonly";
	case AOD_MODE_EXCLUDEONLY: return "excludeonly";
	default: return "unknown";
	}
}
