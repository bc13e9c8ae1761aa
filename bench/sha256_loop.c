/* sha256_loop: the floor for hashing files through the page cache.
 *
 *   sha256_loop LIST [K]
 *
 * Hashes every file named in LIST (one path a line) the way shoal's sha256
 * handler does, with nothing around it: open, fstat, read(2) in 1 MiB pieces
 * into one buffer, OpenSSL EVP SHA-256, close; no records, no queue. With K
 * (default 1) it forks K processes, process i taking lines i, i+K, ... and
 * waits for them all. Prints "BYTES FILES CPU_SECONDS" (all K processes'
 * user+sys) on stdout. bench/bench.py runs it as the practical ceiling next to
 * the bare `openssl speed` limit, which hashes one buffer that stays in cache. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kBlock = 1 << 20 };

/* Hashes the files of lines i, i+k, ...; returns the bytes hashed, -1 on error. */
static long long hash_share(const char* list, int i, int k) {
  FILE* in = fopen(list, "r");
  if (in == NULL) {
    perror(list);
    return -1;
  }
  unsigned char* buf = malloc(kBlock);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  char* line = NULL;
  size_t cap = 0;
  long long bytes = 0;
  for (long n = 0; getline(&line, &cap, in) > 0; ++n) {
    if (n % k != i) continue;
    line[strcspn(line, "\n")] = '\0';
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      perror(line);
      return -1;
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (off_t left = st.st_size; left > 0;) {
      ssize_t got = read(fd, buf, left < kBlock ? (size_t)left : kBlock);
      if (got <= 0) break;
      EVP_DigestUpdate(ctx, buf, (size_t)got);
      left -= got;
      bytes += got;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    close(fd);
  }
  fclose(in);
  return bytes;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: sha256_loop LIST [K]\n");
    return 2;
  }
  int k = argc == 3 ? atoi(argv[2]) : 1;
  if (k < 1) k = 1;
  int pipes[2];
  if (pipe(pipes) != 0) return 1;
  for (int i = 0; i < k; ++i) {
    if (fork() == 0) {
      long long bytes = hash_share(argv[1], i, k);
      if (write(pipes[1], &bytes, sizeof bytes) != sizeof bytes) _exit(1);
      _exit(bytes < 0 ? 1 : 0);
    }
  }
  close(pipes[1]);
  long long total = 0, bytes;
  int failed = 0;
  while (read(pipes[0], &bytes, sizeof bytes) == sizeof bytes) {
    if (bytes < 0) failed = 1;
    total += bytes;
  }
  for (int status; wait(&status) > 0;) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  long files = 0;
  FILE* in = fopen(argv[1], "r");
  for (int c; in != NULL && (c = fgetc(in)) != EOF;) files += c == '\n';
  if (in != NULL) fclose(in);
  printf("%lld %ld %.3f\n", total, files, cpu);
  return failed;
}
