// SPDX-License-Identifier: MIT
/*
 * stallfs MOUNTPOINT SIZE_MB STALL_FLAG
 *
 * A FUSE filesystem with one file, "disk", SIZE_MB of memory, opened with
 * direct I/O so every read and write reaches this process. While the file
 * STALL_FLAG exists, reads and writes wait: a loop device on "disk" then
 * holds its block requests in flight, the way a hung storage target does.
 * That is how the tests make block I/O hang on a host without dm-delay or
 * null_blk. Runs in the foreground until unmounted or killed.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char disk_path[] = "/disk";

struct stallfs {
	char *data;
	size_t size;
	const char *flag;
};

static struct stallfs *fs(void)
{
	return fuse_get_context()->private_data;
}

static void wait_while_stalled(void)
{
	struct timespec ten_ms = { 0, 10 * 1000 * 1000 };

	while (access(fs()->flag, F_OK) == 0)
		nanosleep(&ten_ms, NULL);
}

static int sfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, disk_path))
		return -ENOENT;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_size = (off_t)fs()->size;
	return 0;
}

static int sfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, disk_path + 1, NULL, 0, 0);
	return 0;
}

static int sfs_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, disk_path))
		return -ENOENT;
	fi->direct_io = 1; /* no page cache: every request comes here */
	return 0;
}

static size_t clip(off_t off, size_t len)
{
	size_t size = fs()->size;

	if (off < 0 || (size_t)off >= size)
		return 0;
	return len < size - (size_t)off ? len : size - (size_t)off;
}

static int sfs_read(const char *path, char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	wait_while_stalled();
	len = clip(off, len);
	memcpy(buf, fs()->data + off, len);
	return (int)len;
}

static int sfs_write(const char *path, const char *buf, size_t len, off_t off,
		     struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	wait_while_stalled();
	len = clip(off, len);
	if (!len)
		return -ENOSPC;
	memcpy(fs()->data + off, buf, len);
	return (int)len;
}

static int sfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	wait_while_stalled();
	return 0;
}

static const struct fuse_operations ops = {
	.getattr = sfs_getattr,
	.readdir = sfs_readdir,
	.open = sfs_open,
	.read = sfs_read,
	.write = sfs_write,
	.fsync = sfs_fsync,
};

int main(int argc, char **argv)
{
	struct stallfs state;
	char *fargv[] = { argv[0], "-f", "-s", "-o", "allow_other", argc > 1 ? argv[1] : "", NULL };
	long mb;

	if (argc != 4 || (mb = strtol(argv[2], NULL, 10)) <= 0 || mb > 4096) {
		fprintf(stderr, "usage: stallfs MOUNTPOINT SIZE_MB STALL_FLAG\n");
		return 2;
	}
	state.size = (size_t)mb << 20;
	state.data = calloc(1, state.size);
	state.flag = argv[3];
	if (!state.data) {
		fprintf(stderr, "stallfs: out of memory\n");
		return 1;
	}
	return fuse_main(6, fargv, &ops, &state);
}
