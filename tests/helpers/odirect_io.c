// SPDX-License-Identifier: MIT
/*
 * odirect_io FILE COUNT [BLOCKSIZE]
 *
 * Real block I/O for tests: writes COUNT blocks of BLOCKSIZE bytes (default
 * 4096) to FILE with O_DIRECT, fsyncs, reads them back with O_DIRECT and
 * checks the content. O_DIRECT bypasses the page cache, so every block is a
 * request at the block layer (FILE must be on a real block device, not
 * tmpfs). Prints one summary line; exit 0 on success, 1 on error, 2 on
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC_NR 0x01021994

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void fill(unsigned char *buf, size_t len, unsigned long block)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(block * 31 + i);
}

static int io_all(int fd, unsigned long count, size_t bs, unsigned char *buf, int write)
{
	for (unsigned long b = 0; b < count; b++) {
		off_t off = (off_t)(b * bs);
		ssize_t n;

		if (write)
			fill(buf, bs, b);
		n = write ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
		if (n != (ssize_t)bs) {
			fprintf(stderr, "odirect_io: %s block %lu: %s\n",
				write ? "write" : "read", b, n < 0 ? strerror(errno) : "short");
			return -1;
		}
		if (!write) {
			unsigned char want = (unsigned char)(b * 31);

			if (buf[0] != want || buf[bs - 1] != (unsigned char)(b * 31 + bs - 1)) {
				fprintf(stderr, "odirect_io: block %lu reads back wrong\n", b);
				return -1;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count, bs = 4096;
	struct timespec t0, t1;
	struct statfs sfs;
	struct stat st;
	void *buf = NULL;
	int fd, rc = 1;

	if (argc < 3 || argc > 4 || parse_ulong(argv[2], 1, 1UL << 20, &count) ||
	    (argc == 4 && parse_ulong(argv[3], 512, 1UL << 24, &bs)) || bs % 512) {
		fprintf(stderr, "usage: odirect_io FILE COUNT [BLOCKSIZE]\n"
				"  BLOCKSIZE: multiple of 512, default 4096\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "odirect_io: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && !fstatfs(fd, &sfs) &&
	    sfs.f_type == TMPFS_MAGIC_NR)
		fprintf(stderr, "odirect_io: warning: %s is on tmpfs: no block I/O\n", argv[1]);
	if (posix_memalign(&buf, 4096, bs)) {
		fprintf(stderr, "odirect_io: out of memory\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (io_all(fd, count, bs, buf, 1))
		goto out;
	if (fsync(fd)) {
		fprintf(stderr, "odirect_io: fsync: %s\n", strerror(errno));
		goto out;
	}
	if (io_all(fd, count, bs, buf, 0))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("odirect_io: %lu writes + %lu reads of %lu bytes in %.1f ms\n", count, count, bs,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
