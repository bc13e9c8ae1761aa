/* libshoal_failsome.so: fails every item whose index is a multiple of
 * plugin.config `every`, with reason "failed by plugin: index N", and logs
 * "seen <item>" for each item. A small plugin with state, config, logging and
 * failures, used by the end-to-end tests.
 *
 *   [plugin]
 *   library = "libshoal_failsome.so"
 *   config = { every = 10 }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <shoal/plugin.h>

typedef struct failsome_state {
  unsigned long long every;
} failsome_state;

static void* failsome_init(const shoal_config* config, char* error, size_t error_size) {
  const char* every = shoal_config_get(config, "every", NULL);
  if (every == NULL) {
    snprintf(error, error_size, "plugin.config.every is required, e.g. config = { every = 10 }");
    return NULL;
  }
  char* end = NULL;
  errno = 0;
  unsigned long long n = strtoull(every, &end, 10);
  if (errno != 0 || end == every || *end != '\0' || n == 0) {
    snprintf(error, error_size, "plugin.config.every must be a whole number >= 1, got \"%s\"",
             every);
    return NULL;
  }
  failsome_state* state = malloc(sizeof *state);
  if (state == NULL) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  state->every = n;
  return state;
}

static int failsome_process(void* state, const shoal_item* item, shoal_sink* sink) {
  const failsome_state* s = state;
  char line[4096];
  /* %.*s: the item as a C string stops at a NUL byte; a log line needs no more. */
  snprintf(line, sizeof line, "seen %.*s", (int)item->item_size, item->item);
  sink->log(sink, line);
  if (item->index % s->every == 0) {
    char reason[64];
    snprintf(reason, sizeof reason, "failed by plugin: index %llu",
             (unsigned long long)item->index);
    sink->fail(sink, reason);
    return 1;
  }
  return 0;
}

static void failsome_finish(void* state) {
  free(state);
}

static const shoal_plugin kFailsome = {
    SHOAL_PLUGIN_ABI_VERSION, "failsome", failsome_init, failsome_process, failsome_finish,
};

SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kFailsome;
}
