// SPDX-License-Identifier: MIT
/*
 * bcrypt_hash PASSWORD [COST]: prints a $2b$ bcrypt hash of PASSWORD (cost
 * default 4: tests want speed), as `htpasswd -nB` would, for
 * http.basic_auth_users in tests. Exit 0, or 1 if libxcrypt refuses.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	unsigned long cost = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
	const char *h;

	if (argc < 2 || argc > 3 || !cd) {
		fprintf(stderr, "usage: bcrypt_hash PASSWORD [COST]\n");
		return 2;
	}
	if (!crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt)) ||
	    !(h = crypt_r(argv[1], salt, cd)) || h[0] == '*') {
		fprintf(stderr, "bcrypt_hash: libxcrypt has no bcrypt\n");
		return 1;
	}
	printf("%s\n", h);
	free(cd);
	return 0;
}
