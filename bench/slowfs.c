// slowfs: a read-only FUSE passthrough of SOURCE that waits DELAY_US
// microseconds before listing a directory, standing for storage where every
// directory read is a round trip (NFS, Lustre, object stores behind FUSE).
// Only readdir waits: lookups, stats and file reads pass straight through.
// libfuse runs requests on several threads, so reads of different
// directories wait side by side, as on a network file system.
//
//   slowfs SOURCE DELAY_US MOUNTPOINT [fuse options, e.g. -f -o ro]
//   fusermount3 -u MOUNTPOINT
//
// The kernel does not cache FUSE directory listings unless the file system
// asks (FOPEN_CACHE_DIR; slowfs does not), so every walk pays the delay.
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int source_fd = -1;
static long delay_us = 0;

// FUSE paths start with '/'; openat wants them relative to SOURCE.
static const char* Rel(const char* path) {
  return path[1] == '\0' ? "." : path + 1;
}

static int GetAttr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  (void)fi;
  return fstatat(source_fd, Rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int ReadLink(const char* path, char* buf, size_t size) {
  ssize_t n = readlinkat(source_fd, Rel(path), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

static int OpenDir(const char* path, struct fuse_file_info* fi) {
  int fd = openat(source_fd, Rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR* d = fdopendir(fd);
  if (d == NULL) {
    int err = errno;
    close(fd);
    return -err;
  }
  fi->fh = (uintptr_t)d;
  return 0;
}

static int ReadDir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset,
                   struct fuse_file_info* fi, enum fuse_readdir_flags flags) {
  (void)path;
  (void)offset;
  (void)flags;
  DIR* d = (DIR*)(uintptr_t)fi->fh;
  // The high-level API takes the whole listing in one call (offsets 0), so
  // this is one wait per directory.
  struct timespec wait = {delay_us / 1000000, (delay_us % 1000000) * 1000};
  while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {
  }
  rewinddir(d);
  struct dirent* de;
  while ((de = readdir(d)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = de->d_ino;
    st.st_mode = (mode_t)de->d_type << 12;  // d_type for the walker, no stat needed
    if (filler(buf, de->d_name, &st, 0, 0) != 0) break;
  }
  return 0;
}

static int ReleaseDir(const char* path, struct fuse_file_info* fi) {
  (void)path;
  closedir((DIR*)(uintptr_t)fi->fh);
  return 0;
}

static int Open(const char* path, struct fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  int fd = openat(source_fd, Rel(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int Read(const char* path, char* buf, size_t size, off_t offset,
                struct fuse_file_info* fi) {
  (void)path;
  ssize_t n = pread((int)fi->fh, buf, size, offset);
  return n < 0 ? -errno : (int)n;
}

static int Release(const char* path, struct fuse_file_info* fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static const struct fuse_operations kOps = {
    .getattr = GetAttr,
    .readlink = ReadLink,
    .open = Open,
    .read = Read,
    .release = Release,
    .opendir = OpenDir,
    .readdir = ReadDir,
    .releasedir = ReleaseDir,
};

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: slowfs SOURCE DELAY_US MOUNTPOINT [fuse options]\n");
    return 2;
  }
  source_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (source_fd < 0) {
    perror(argv[1]);
    return 2;
  }
  char* end;
  delay_us = strtol(argv[2], &end, 10);
  if (*end != '\0' || delay_us < 0) {
    fprintf(stderr, "slowfs: DELAY_US must be a number of microseconds, got '%s'\n", argv[2]);
    return 2;
  }
  // fuse_main sees: slowfs MOUNTPOINT [options].
  argv[2] = argv[0];
  return fuse_main(argc - 2, argv + 2, &kOps, NULL);
}
