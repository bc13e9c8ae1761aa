/* Test helper: record_exec FILE LINE [SLEEP_MS]
 * Appends LINE and a newline to FILE in one O_APPEND write (atomic between
 * processes), optionally sleeps, exits 0. Lets tests count how often each
 * item really ran, at the cost of one exec like `true`. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  char buf[256];
  size_t n = strlen(argv[2]);
  if (n + 1 > sizeof buf) return 2;
  memcpy(buf, argv[2], n);
  buf[n] = '\n';
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, buf, n + 1) != (ssize_t)(n + 1)) return 3;
  close(fd);
  if (argc > 3) {
    long ms = strtol(argv[3], NULL, 10);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  return 0;
}
