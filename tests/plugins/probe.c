/* A test-only plugin for worker/plugin_handler_test.cc: each item is an
 * instruction, so one library exercises every sink function.
 *
 *   "write:N"     writes N bytes ('a'..'z' repeating) in chunks of 1000
 *   "fail:TEXT"   sink->fail(TEXT) and returns 0 (fail wins over the return value)
 *   "failtwice"   fails with "first", then "second"
 *   "return:N"    returns N without calling fail
 *   "log:TEXT"    sink->log(TEXT)
 *   ".../out"     (name "out") creates {out} and writes "<out>/out.txt"; output is the out path
 *   "fields"      output: path|rel|name|stem|ext|dir|out|index|worker|item_size
 *   "config"      output: k=v; for each entry, then worker|run_dir|input_path
 *   "count"       output: how many items this worker's state has seen
 *   "json:TEXT"   (revision 2) writes TEXT and sets SHOAL_FLAG_JSON
 *   "permanent:TEXT" (revision 2) fails with TEXT, SHOAL_FLAG_PERMANENT, and
 *                 detail "why: TEXT"
 * config: init_fail = "MSG" makes init fail with MSG; finish_file = PATH makes
 * finish write "finished" there.
 * Built three ways: as is; with PROBE_ABI_VERSION=99 (an ABI shoal refuses);
 * with PROBE_NO_ENTRY (no shoal_plugin_v1 symbol).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/plugin.h>

#ifndef PROBE_ABI_VERSION
#define PROBE_ABI_VERSION SHOAL_PLUGIN_ABI_VERSION
#endif

typedef struct probe_state {
  unsigned long long count;
  char finish_file[1024];
  char config[4096];
} probe_state;

static void* probe_init(const shoal_config* config, char* error, size_t error_size) {
  const char* init_fail = shoal_config_get(config, "init_fail", NULL);
  if (init_fail != NULL) {
    if (*init_fail != '\0') snprintf(error, error_size, "%s", init_fail);
    return NULL;
  }
  probe_state* s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  snprintf(s->finish_file, sizeof s->finish_file, "%s",
           shoal_config_get(config, "finish_file", ""));
  size_t used = 0;
  for (size_t i = 0; i < config->count && used < sizeof s->config; ++i) {
    used += (size_t)snprintf(s->config + used, sizeof s->config - used, "%s=%s;",
                             config->entries[i].key, config->entries[i].value);
  }
  if (used < sizeof s->config) {
    snprintf(s->config + used, sizeof s->config - used, "%d|%s|%s", config->worker, config->run_dir,
             config->input_path);
  }
  return s;
}

static int starts(const shoal_item* item, const char* prefix) {
  return strncmp(item->item, prefix, strlen(prefix)) == 0;
}

static void write_text(shoal_sink* sink, const char* text) {
  sink->write(sink, text, strlen(text));
}

static int probe_process(void* state, const shoal_item* item, shoal_sink* sink) {
  probe_state* s = state;
  ++s->count;
  char buffer[8192];
  if (starts(item, "write:")) {
    long long left = atoll(item->item + 6);
    char chunk[1000];
    for (size_t i = 0; i < sizeof chunk; ++i) chunk[i] = (char)('a' + i % 26);
    while (left > 0) {
      size_t n = left < (long long)sizeof chunk ? (size_t)left : sizeof chunk;
      if (sink->write(sink, chunk, n) != 0) return 1;
      left -= (long long)n;
    }
    return 0;
  }
  if (starts(item, "fail:")) {
    sink->fail(sink, item->item + 5);
    return 0;
  }
  if (strcmp(item->item, "failtwice") == 0) {
    sink->fail(sink, "first");
    sink->fail(sink, "second");
    return 1;
  }
  if (starts(item, "return:")) return atoi(item->item + 7);
  if (starts(item, "json:")) {
    sink->write(sink, item->item + 5, strlen(item->item + 5));
    sink->set_flags(sink, SHOAL_FLAG_JSON);
    return 0;
  }
  if (starts(item, "permanent:")) {
    char why[256];
    snprintf(why, sizeof why, "why: %s", item->item + 10);
    sink->detail(sink, why, strlen(why));
    sink->set_flags(sink, SHOAL_FLAG_PERMANENT);
    sink->fail(sink, item->item + 10);
    return 1;
  }
  if (starts(item, "log:")) {
    sink->log(sink, item->item + 4);
    return 0;
  }
  if (strcmp(item->name, "out") == 0) {
    const char* out = sink->out_dir(sink);
    if (out == NULL) return 1;
    snprintf(buffer, sizeof buffer, "%s/%s.txt", out, item->name);
    FILE* f = fopen(buffer, "w");
    if (f == NULL) {
      sink->fail(sink, "cannot create the file in {out}");
      return 1;
    }
    fputs("made\n", f);
    fclose(f);
    write_text(sink, out);
    return 0;
  }
  if (strcmp(item->item, "fields") == 0) {
    snprintf(buffer, sizeof buffer, "%s|%s|%s|%s|%s|%s|%s|%llu|%d|%zu", item->path, item->rel,
             item->name, item->stem, item->ext, item->dir, item->out,
             (unsigned long long)item->index, item->worker, item->item_size);
    write_text(sink, buffer);
    return 0;
  }
  if (strcmp(item->item, "config") == 0) {
    write_text(sink, s->config);
    return 0;
  }
  if (strcmp(item->item, "count") == 0) {
    snprintf(buffer, sizeof buffer, "%llu", s->count);
    write_text(sink, buffer);
    return 0;
  }
  sink->fail(sink, "probe: unknown instruction");
  return 1;
}

static void probe_finish(void* state) {
  probe_state* s = state;
  if (s->finish_file[0] != '\0') {
    FILE* f = fopen(s->finish_file, "w");
    if (f != NULL) {
      fputs("finished", f);
      fclose(f);
    }
  }
  free(s);
}

static const shoal_plugin kProbe = {
    PROBE_ABI_VERSION, "probe", probe_init, probe_process, probe_finish,
};

#ifdef PROBE_NO_ENTRY
SHOAL_PLUGIN_EXPORT const shoal_plugin* not_the_entry_point(void) {
  return &kProbe;
}
#else
SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kProbe;
}
#endif
