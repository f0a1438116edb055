// SPDX-License-Identifier: MIT
/*
 * Fuzz the name parsers: SMB2 command names, errno names, NTSTATUS names
 * and hex values, and the config's error-code parser (track_codes).
 * Properties: whatever a parser accepts maps back through the name
 * tables to a name that parses to the same value (name -> value -> name
 * -> value); at start-up every name in the tables is checked to parse
 * back to its own value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h" /* the name tables, for the start-up sweep */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_NAME 256

static void expect(int ok, const char *what, const char *name)
{
	if (!ok) {
		fprintf(stderr, "%s: '%s'\n", what, name);
		abort();
	}
}

static void check_cmd(const char *s)
{
	int cmd = aod_smb_cmd_from_name(s);
	const char *name;

	if (cmd < 0)
		return;
	name = aod_smb_cmd_name((unsigned)cmd);
	expect(name && (!strcasecmp(s, name) || !strcasecmp(s, name + 5)),
	       "SMB2 command parsed to a command of another name", s);
	expect(aod_smb_cmd_from_name(name) == cmd, "SMB2 command name does not round-trip", s);
}

static void check_errno(const char *s)
{
	int err = aod_errno_from_name(s);
	const char *name;

	if (err < 0)
		return;
	name = aod_errno_name(err);
	expect(err > 0 && name, "errno parsed to a value without a name", s);
	expect(aod_errno_from_name(name) == err, "errno name does not round-trip", s);
}

static void check_ntstatus(const char *s)
{
	uint32_t status, again = 0;
	const char *name;
	char hex[16];

	if (aod_ntstatus_from_name(s, &status))
		return;
	name = aod_ntstatus_name(status);
	expect(!name || (aod_ntstatus_from_name(name, &again) == 0 && again == status),
	       "NTSTATUS name does not round-trip", s);
	snprintf(hex, sizeof(hex), "0x%08X", status);
	expect(aod_ntstatus_from_name(hex, &again) == 0 && again == status,
	       "NTSTATUS hex does not round-trip", s);
}

static void check_code(const char *s)
{
	struct aod_code code, again;

	if (aod_code_from_name(s, &code))
		return;
	expect(code.name[0] && aod_code_from_name(code.name, &again) == 0,
	       "error code's canonical name does not parse", s);
	expect(again.kind == code.kind && again.value == code.value &&
	       !strcmp(again.name, code.name), "error code does not round-trip", s);
	expect(code.kind != AOD_CODE_ERRNO || (int)code.value == aod_errno_from_name(s),
	       "errno code disagrees with aod_errno_from_name", s);
}

static void check_all(const char *s)
{
	check_cmd(s);
	check_errno(s);
	check_ntstatus(s);
	check_code(s);
}

/* Every name in the tables parses back to its own value. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint32_t status;
	const char *name;
	int err;

	for (unsigned i = 0; (name = aod_smb_cmd_name(i)); i++) {
		expect(aod_smb_cmd_from_name(name) == (int)i, "known SMB2 command does not parse",
		       name);
		check_all(name);
	}
	for (size_t i = 0; i < aod_errno_count(); i++) {
		if (!(name = aod_errno_name_at(i)))
			continue; /* a hole in the table */
		err = aod_errno_from_name(name);
		expect(err > 0 && aod_errno_name(err) && !strcmp(aod_errno_name(err), name),
		       "known errno does not round-trip", name);
		check_all(name);
	}
	for (size_t i = 0; i < aod_ntstatus_count(); i++) {
		name = aod_ntstatus_name_at(i);
		expect(aod_ntstatus_from_name(name, &status) == 0 && aod_ntstatus_name(status) &&
		       !strcmp(aod_ntstatus_name(status), name), "known NTSTATUS does not round-trip",
		       name);
		check_all(name);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[MAX_NAME];

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_all(s);
	return 0;
}
