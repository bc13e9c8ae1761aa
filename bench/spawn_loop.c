/* spawn_loop: the floor for "one process per item" on this machine.
 *
 *   spawn_loop K N PROGRAM [ARGS...]
 *
 * Runs PROGRAM ARGS N times with at most K children in flight: posix_spawn,
 * then waitpid(-1) to reap any child and start the next. PROGRAM is looked up
 * in PATH once, not per run. No shell, no pipes, no output capture, no process
 * group, environment inherited as is: nothing a batch runner could leave out.
 * One process spawns every child; posix_spawn (clone with CLONE_VFORK) holds
 * it until each child has exec'd. bench/bench.py compares shoal's command
 * handler against it. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static long parse_count(const char* s, const char* what) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0) {
    fprintf(stderr, "spawn_loop: bad %s '%s'\n", what, s);
    exit(2);
  }
  return v;
}

/* PROGRAM as execvp would find it, resolved once; NULL if nowhere. */
static char* resolve(const char* prog) {
  if (strchr(prog, '/') != NULL) return strdup(prog);
  const char* path = getenv("PATH");
  if (path == NULL || *path == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  size_t plen = strlen(prog);
  for (const char* p = path;;) {
    const char* colon = strchr(p, ':');
    size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
    char* candidate = malloc(dlen + plen + 3);
    if (candidate == NULL) return NULL;
    if (dlen == 0) {
      strcpy(candidate, "./");
    } else {
      memcpy(candidate, p, dlen);
      strcpy(candidate + dlen, "/");
    }
    strcat(candidate, prog);
    if (access(candidate, X_OK) == 0) return candidate;
    free(candidate);
    if (colon == NULL) return NULL;
    p = colon + 1;
  }
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: spawn_loop K N PROGRAM [ARGS...]\n");
    return 2;
  }
  long k = parse_count(argv[1], "K");
  long n = parse_count(argv[2], "N");
  if (k < 1) k = 1;
  char** child_argv = argv + 3;
  char* program = resolve(child_argv[0]);
  if (program == NULL) {
    fprintf(stderr, "spawn_loop: %s: not found in PATH\n", child_argv[0]);
    return 1;
  }

  long started = 0, running = 0, failed = 0;
  while (started < n || running > 0) {
    while (running < k && started < n) {
      pid_t pid;
      int rc = posix_spawn(&pid, program, NULL, NULL, child_argv, environ);
      if (rc != 0) {
        fprintf(stderr, "spawn_loop: %s: %s\n", program, strerror(rc));
        return 1;
      }
      ++started;
      ++running;
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      perror("spawn_loop: waitpid");
      return 1;
    }
    --running;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  if (failed) fprintf(stderr, "spawn_loop: %ld of %ld runs failed\n", failed, n);
  free(program);
  return failed ? 1 : 0;
}
