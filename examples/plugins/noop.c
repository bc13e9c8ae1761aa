/* libshoal_noop.so: every item succeeds with no output. What is left of a
 * run's time is shoal's own per-item cost: use it to measure that.
 *
 *   shoal run SETTINGS --set job.handler=plugin \
 *       --set plugin.library=build/plugins/libshoal_noop.so
 */
#include <shoal/plugin.h>

static int noop_process(void* state, const shoal_item* item, shoal_sink* sink) {
  (void)state;
  (void)item;
  (void)sink;
  return 0;
}

static const shoal_plugin kNoop = {
    SHOAL_PLUGIN_ABI_VERSION, /* abi_version */
    "noop",                   /* name */
    NULL,                     /* init: no state */
    noop_process,             /* process */
    NULL,                     /* finish */
};

SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kNoop;
}
