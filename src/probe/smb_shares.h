/* SPDX-License-Identifier: MIT */
/*
 * SMB tree ids -> share names ("\\server\share"), from the cifs client's
 * /proc/fs/cifs/DebugData, which lists each session (SessionId) with its
 * shares and their tree ids ("tid: 0x..."). The probes see only the ids;
 * a person wants the share.
 *
 * The cache is thread-safe; it rereads DebugData when asked for an id it
 * does not know, at most once a second. The parser is pure (tests, fuzz).
 */
#ifndef AOD_PROBE_SMB_SHARES_H
#define AOD_PROBE_SMB_SHARES_H

#include <stddef.h>
#include <stdint.h>

#define AOD_SHARE_NAME_LEN 256
#define AOD_DEBUGDATA_PATH "/proc/fs/cifs/DebugData"

struct aod_smb_share {
	uint64_t sesid;
	uint32_t tid;
	char name[AOD_SHARE_NAME_LEN]; /* as DebugData prints it: "\\127.0.0.1\share" */
};

/* Parse DebugData text; returns how many shares were found (at most max). */
size_t aod_smb_shares_parse(const char *text, size_t len, struct aod_smb_share *out, size_t max);

struct aod_smb_shares;

/* path: normally AOD_DEBUGDATA_PATH. NULL on allocation failure. */
struct aod_smb_shares *aod_smb_shares_new(const char *path);
void aod_smb_shares_free(struct aod_smb_shares *s);

/* The share of (sesid, tid), or "" if unknown (sesid 0: any session).
 * Returns 0, or -ENOENT when unknown. */
int aod_smb_share_name(struct aod_smb_shares *s, uint64_t sesid, uint32_t tid, char *buf,
		       size_t len);

#endif /* AOD_PROBE_SMB_SHARES_H */
