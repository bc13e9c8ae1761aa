/* libshoal_zstd.so: compresses each input file into {out}/<name>.zst with
 * libzstd (the same format as `zstd -k`), in process: no zstd process per
 * file. The output of each item is JSON text {"bytes_in":N,"bytes_out":M}.
 *
 *   [plugin]
 *   library = "libshoal_zstd.so"
 *   config = { level = 3 }      # 1..19 (up to 22 with more memory); default 3
 *
 * The compressed file is written as <name>.zst.tmp and renamed when complete:
 * a crash or a kill never leaves a truncated <name>.zst behind.
 * Built only where libzstd-dev is installed (pkg-config libzstd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <shoal/plugin.h>

typedef struct zstd_state {
  ZSTD_CCtx* cctx;
  void* in;
  size_t in_size;
  void* out;
  size_t out_size;
  char path[4096];
  char tmp[4096];
} zstd_state;

static void zstd_finish(void* state) {
  zstd_state* s = state;
  if (s == NULL) return;
  ZSTD_freeCCtx(s->cctx);
  free(s->in);
  free(s->out);
  free(s);
}

static void* zstd_init(const shoal_config* config, char* error, size_t error_size) {
  const char* text = shoal_config_get(config, "level", "3");
  char* end = NULL;
  long level = strtol(text, &end, 10);
  if (end == text || *end != '\0' || level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    snprintf(error, error_size, "plugin.config.level must be a whole number in %d..%d, got \"%s\"",
             ZSTD_minCLevel(), ZSTD_maxCLevel(), text);
    return NULL;
  }
  zstd_state* s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  s->cctx = ZSTD_createCCtx();
  s->in_size = ZSTD_CStreamInSize();
  s->out_size = ZSTD_CStreamOutSize();
  s->in = malloc(s->in_size);
  s->out = malloc(s->out_size);
  if (s->cctx == NULL || s->in == NULL || s->out == NULL ||
      ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, (int)level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_checksumFlag, 1))) {
    zstd_finish(s);
    snprintf(error, error_size, "cannot set up a zstd context at level %ld", level);
    return NULL;
  }
  return s;
}

static int write_all(int fd, const void* data, size_t size) {
  const char* p = data;
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    size -= (size_t)n;
  }
  return 0;
}

/* Fails the item with "what: strerror(errno)" and returns 1. */
static int fail_errno(shoal_sink* sink, const char* what, const char* path) {
  char reason[4200];
  snprintf(reason, sizeof reason, "%s %s: %s", what, path, strerror(errno));
  sink->fail(sink, reason);
  return 1;
}

/* Streams in_fd through the context into out_fd. Returns 0, or 1 after sink->fail. */
static int compress_fd(zstd_state* s, int in_fd, int out_fd, const shoal_item* item,
                       shoal_sink* sink, unsigned long long* bytes_in,
                       unsigned long long* bytes_out) {
  ZSTD_CCtx_reset(s->cctx, ZSTD_reset_session_only);
  for (;;) {
    ssize_t n = read(in_fd, s->in, s->in_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(sink, "read failed:", item->path);
    }
    *bytes_in += (unsigned long long)n;
    ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer input = {s->in, (size_t)n, 0};
    int done = 0;
    while (!done) {
      ZSTD_outBuffer output = {s->out, s->out_size, 0};
      size_t left = ZSTD_compressStream2(s->cctx, &output, &input, mode);
      if (ZSTD_isError(left)) {
        char reason[256];
        snprintf(reason, sizeof reason, "zstd: %s", ZSTD_getErrorName(left));
        sink->fail(sink, reason);
        return 1;
      }
      if (write_all(out_fd, s->out, output.pos) != 0) {
        return fail_errno(sink, "write failed:", s->tmp);
      }
      *bytes_out += output.pos;
      done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
    }
    if (n == 0) return 0;
  }
}

static int zstd_process(void* state, const shoal_item* item, shoal_sink* sink) {
  zstd_state* s = state;
  int in_fd = open(item->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (in_fd < 0) {
    if (errno == ENOENT) {
      sink->fail(sink, "not found");
      return 1;
    }
    return fail_errno(sink, "cannot open", item->path);
  }
  struct stat st;
  if (fstat(in_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(in_fd);
    sink->fail(sink, "not a regular file");
    return 1;
  }
  const char* out_dir = sink->out_dir(sink); /* creates {out} */
  if (out_dir == NULL) {
    close(in_fd);
    return 1; /* the item already failed with the reason */
  }
  if ((size_t)snprintf(s->path, sizeof s->path, "%s/%s.zst", out_dir, item->name) >=
          sizeof s->path ||
      (size_t)snprintf(s->tmp, sizeof s->tmp, "%s.tmp", s->path) >= sizeof s->tmp) {
    close(in_fd);
    sink->fail(sink, "output path too long");
    return 1;
  }
  int out_fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    close(in_fd);
    return fail_errno(sink, "cannot create", s->tmp);
  }
  unsigned long long bytes_in = 0, bytes_out = 0;
  int rc = compress_fd(s, in_fd, out_fd, item, sink, &bytes_in, &bytes_out);
  close(in_fd);
  if (close(out_fd) != 0 && rc == 0) rc = fail_errno(sink, "write failed:", s->tmp);
  if (rc == 0 && rename(s->tmp, s->path) != 0) rc = fail_errno(sink, "cannot rename", s->tmp);
  if (rc != 0) {
    unlink(s->tmp);
    return rc;
  }
  char json[96];
  int n =
      snprintf(json, sizeof json, "{\"bytes_in\":%llu,\"bytes_out\":%llu}", bytes_in, bytes_out);
  return sink->write(sink, json, (size_t)n) == 0 ? 0 : 1;
}

static const shoal_plugin kZstd = {
    SHOAL_PLUGIN_ABI_VERSION, "zstd", zstd_init, zstd_process, zstd_finish,
};

SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kZstd;
}
