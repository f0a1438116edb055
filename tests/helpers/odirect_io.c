// SPDX-License-Identifier: MIT
/*
 * odirect_io [-l LATFILE] [-n] FILE COUNT [BLOCKSIZE]
 *
 * Real block I/O for tests: writes COUNT blocks of BLOCKSIZE bytes (default
 * 4096) to FILE with O_DIRECT, fsyncs, reads them back with O_DIRECT and
 * checks the content. O_DIRECT bypasses the page cache, so every block is a
 * request at the block layer (FILE must be on a real block device, not
 * tmpfs). Prints one summary line; exit 0 on success, 1 on error, 2 on
 * usage. With -l, writes each pwrite's and pread's latency as measured
 * here (CLOCK_MONOTONIC around the call, ns) to LATFILE, one per line.
 * -n skips the fsync: on a block device it is an empty preflush write,
 * which /sys/block/X/stat counts as a write but the block layer issues as
 * a flush request (so the two would differ by one).
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int io_all(int fd, unsigned long count, size_t bs, unsigned char *buf, int write,
		  FILE *lat)
{
	for (unsigned long b = 0; b < count; b++) {
		off_t off = (off_t)(b * bs);
		uint64_t t0;
		ssize_t n;

		if (write)
			fill(buf, bs, b);
		t0 = now_ns();
		n = write ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
		if (lat)
			fprintf(lat, "%llu\n", (unsigned long long)(now_ns() - t0));
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
	FILE *lat = NULL;
	void *buf = NULL;
	int fd, rc = 1, sync = 1;

	for (;;) {
		if (argc >= 3 && !strcmp(argv[1], "-l")) {
			if (!lat && !(lat = fopen(argv[2], "we"))) {
				fprintf(stderr, "odirect_io: %s: %s\n", argv[2], strerror(errno));
				return 1;
			}
			argc -= 2;
			argv += 2;
		} else if (argc >= 2 && !strcmp(argv[1], "-n")) {
			sync = 0;
			argc--;
			argv++;
		} else {
			break;
		}
	}
	if (argc < 3 || argc > 4 || parse_ulong(argv[2], 1, 1UL << 20, &count) ||
	    (argc == 4 && parse_ulong(argv[3], 512, 1UL << 24, &bs)) || bs % 512) {
		fprintf(stderr, "usage: odirect_io [-l LATFILE] [-n] FILE COUNT [BLOCKSIZE]\n"
				"  BLOCKSIZE: multiple of 512, default 4096\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "odirect_io: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (!fstat(fd, &st) && !S_ISBLK(st.st_mode) && !fstatfs(fd, &sfs) &&
	    sfs.f_type == TMPFS_MAGIC_NR)
		fprintf(stderr, "odirect_io: warning: %s is on tmpfs: no block I/O\n", argv[1]);
	if (posix_memalign(&buf, 4096, bs)) {
		fprintf(stderr, "odirect_io: out of memory\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (io_all(fd, count, bs, buf, 1, lat))
		goto out;
	if (sync && fsync(fd)) {
		fprintf(stderr, "odirect_io: fsync: %s\n", strerror(errno));
		goto out;
	}
	if (io_all(fd, count, bs, buf, 0, lat))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("odirect_io: %lu writes + %lu reads of %lu bytes in %.1f ms\n", count, count, bs,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	rc = 0;
out:
	if (lat && fclose(lat))
		rc = 1;
	free(buf);
	close(fd);
	return rc;
}
