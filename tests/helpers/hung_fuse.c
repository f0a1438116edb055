// SPDX-License-Identifier: MIT
/*
 * Test helper: a FUSE file system that stops answering, the way a cifs
 * mount of a hung server does, but stays killable like cifs: a request is
 * held until the kernel interrupts it (the caller got a fatal signal), then
 * answered EINTR. Speaks the /dev/fuse protocol itself (no libfuse).
 *   hung_fuse MOUNTPOINT lookup   every name lookup hangs (open, stat)
 *   hung_fuse MOUNTPOINT read     every name is a file; the first read of
 *                                 it returns one line, the next one hangs
 * Mounts, prints "ready" on stdout, serves until killed. Root only; run it
 * in a private mount namespace (unshare -m) so nothing else on the host
 * can stumble on the hung mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HELD 256
#define LINE "hung_fuse: the first read of this file works, the next one hangs\n"

static int dev = -1;
static int mode_read;
static uint64_t held[MAX_HELD];
static size_t nheld;

static void reply(uint64_t unique, int error, const void *body, size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 4096];
	struct fuse_out_header h = {
	    .len = (uint32_t)(sizeof(h) + len), .error = error, .unique = unique};

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	if (write(dev, buf, h.len) < 0 && errno != ENOENT)
		perror("hung_fuse: write");
}

static void hold(uint64_t unique)
{
	if (nheld < MAX_HELD)
		held[nheld++] = unique;
}

static void interrupted(uint64_t unique)
{
	for (size_t i = 0; i < nheld; i++) {
		if (held[i] == unique) {
			reply(unique, -EINTR, NULL, 0);
			held[i] = held[--nheld];
			return;
		}
	}
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0444;
	a->nlink = 1;
	a->size = ino == FUSE_ROOT_ID ? 0 : 1 << 20;
	a->blksize = 4096;
}

static void on_init(uint64_t unique, const struct fuse_init_in *in)
{
	struct fuse_init_out out = {
	    .major = FUSE_KERNEL_VERSION,
	    .minor = FUSE_KERNEL_MINOR_VERSION,
	    .max_readahead = in->max_readahead,
	    .max_write = 4096,
	    .max_background = 16,
	    .congestion_threshold = 12,
	};

	reply(unique, 0, &out, sizeof(out));
}

static void on_request(const struct fuse_in_header *h, const void *body)
{
	struct fuse_attr_out attr = {0};
	struct fuse_entry_out entry = {0};
	struct fuse_open_out open_out = {.fh = 1, .open_flags = FOPEN_DIRECT_IO};
	const struct fuse_read_in *rd = body;

	switch (h->opcode) {
	case FUSE_INIT: on_init(h->unique, body); break;
	case FUSE_GETATTR:
		fill_attr(&attr.attr, h->nodeid);
		reply(h->unique, 0, &attr, sizeof(attr));
		break;
	case FUSE_LOOKUP:
		if (!mode_read) {
			hold(h->unique);
			break;
		}
		entry.nodeid = 2;
		fill_attr(&entry.attr, 2);
		reply(h->unique, 0, &entry, sizeof(entry));
		break;
	case FUSE_OPEN: reply(h->unique, 0, &open_out, sizeof(open_out)); break;
	case FUSE_READ:
		if (rd->offset == 0)
			reply(h->unique, 0, LINE, rd->size < sizeof(LINE) - 1 ? rd->size : sizeof(LINE) - 1);
		else
			hold(h->unique);
		break;
	case FUSE_INTERRUPT: interrupted(((const struct fuse_interrupt_in *)body)->unique); break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET: break;
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR: reply(h->unique, 0, NULL, 0); break;
	default: reply(h->unique, -ENOSYS, NULL, 0); break;
	}
}

int main(int argc, char **argv)
{
	static char buf[FUSE_MIN_READ_BUFFER + 65536];
	char opts[128];

	if (argc != 3 || (strcmp(argv[2], "lookup") && strcmp(argv[2], "read"))) {
		fprintf(stderr, "usage: hung_fuse MOUNTPOINT lookup|read\n");
		return 2;
	}
	mode_read = !strcmp(argv[2], "read");
	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		perror("hung_fuse: /dev/fuse");
		return 1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", dev);
	if (mount("hung_fuse", argv[1], "fuse.hung_fuse", MS_NOSUID | MS_NODEV, opts)) {
		perror("hung_fuse: mount");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(dev, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(struct fuse_in_header))
			return n < 0 && errno == ENODEV ? 0 : 1; /* unmounted */
		on_request((const struct fuse_in_header *)buf, buf + sizeof(struct fuse_in_header));
	}
}
