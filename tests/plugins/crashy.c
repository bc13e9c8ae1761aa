/* A test-only plugin for the end-to-end tests: the item equal to
 * plugin.config `crash_on` dies of SIGSEGV (a write through a null pointer),
 * the item equal to `hang_on` (optional) never returns; every other item
 * succeeds with the item as its output. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <shoal/plugin.h>

typedef struct crashy_state {
  char crash_on[1024];
  char hang_on[1024];
} crashy_state;

static void* crashy_init(const shoal_config* config, char* error, size_t error_size) {
  const char* crash_on = shoal_config_get(config, "crash_on", NULL);
  if (crash_on == NULL || strlen(crash_on) >= sizeof((crashy_state*)0)->crash_on) {
    strncpy(error, "plugin.config.crash_on is required (an item)", error_size - 1);
    return NULL;
  }
  crashy_state* s = calloc(1, sizeof *s);
  if (s != NULL) strcpy(s->crash_on, crash_on);
  const char* hang_on = shoal_config_get(config, "hang_on", "");
  if (s != NULL && strlen(hang_on) < sizeof s->hang_on) strcpy(s->hang_on, hang_on);
  return s;
}

static int crashy_process(void* state, const shoal_item* item, shoal_sink* sink) {
  const crashy_state* s = state;
  if (strcmp(item->item, s->crash_on) == 0) {
    /* No core file; and the default action even under a sanitizer runtime. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(SIGSEGV, SIG_DFL);
    /* volatile: the compiler cannot see the pointer is null and turn the
     * write into a trap instruction (SIGILL). */
    volatile int* volatile nowhere = NULL;
    *nowhere = 1;
  }
  if (s->hang_on[0] != '\0' && strcmp(item->item, s->hang_on) == 0) {
    for (;;) pause(); /* an in-process handler that overruns job.timeout */
  }
  sink->write(sink, item->item, item->item_size);
  return 0;
}

static void crashy_finish(void* state) {
  free(state);
}

static const shoal_plugin kCrashy = {
    SHOAL_PLUGIN_ABI_VERSION, "crashy", crashy_init, crashy_process, crashy_finish,
};

SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kCrashy;
}
