/* shoal plugin ABI, version 1 (revision 2): custom in-process work for `handler = "plugin"`.
 *
 * The only header a plugin compiles against. Plain C (C99 and later, C++98 and
 * later): no C++ types cross it, so a plugin may be written in C, C++ or any
 * language that can export a C function.
 *
 * WHAT A PLUGIN IS
 *   A shared library that exports one function,
 *
 *       const struct shoal_plugin* shoal_plugin_v1(void);
 *
 *   returning a pointer to a static struct shoal_plugin (below). Each worker
 *   process loads the library once (dlopen, RTLD_NOW | RTLD_LOCAL), checks
 *   abi_version, calls init once, then process once per item, and finish once
 *   when the run ends in order.
 *
 * BUILDING ONE
 *       cc  -shared -fPIC -O2 -I SHOAL/include -o libmyjob.so myjob.c
 *       c++ -shared -fPIC -O2 -I SHOAL/include -o libmyjob.so myjob.cc
 *   then in settings.toml:
 *       [job]
 *       handler = "plugin"
 *       [plugin]
 *       library = "./libmyjob.so"     # relative to the settings file
 *       config = { level = 3 }        # strings, numbers, booleans; all given as text
 *   In C++, define shoal_plugin_v1 inside extern "C" (this header declares it
 *   so, and SHOAL_PLUGIN_EXPORT keeps it visible under -fvisibility=hidden).
 *   Link what the plugin needs (-lzstd, ...) into the plugin itself.
 *   examples/plugins/ holds complete plugins and a step-by-step README.
 *
 * THREAD MODEL
 *   A worker is one process with one thread. init, process and finish are
 *   called on that thread, one at a time, never concurrently: the state that
 *   init returns belongs to that worker alone and needs no locking. Parallelism
 *   comes from job.workers processes, each with its own copy of the library's
 *   globals and its own state. A plugin may start threads of its own inside a
 *   call, but must call the sink functions only from the thread that called
 *   process, and only before process returns.
 *
 * LIFETIME OF POINTERS
 *   - The struct shoal_plugin and the strings it points to: owned by the
 *     plugin; must stay valid while the library is loaded (make it static).
 *   - shoal_config and everything it points to: valid from init until finish
 *     returns. Copying what you need in init is always safe.
 *   - shoal_item, shoal_sink, and everything they point to (including the
 *     string out_dir returns): valid only during that process call. Never keep
 *     them for a later item.
 *   - Strings a plugin passes to the sink (log lines, reasons, output bytes)
 *     are copied before the call returns.
 *
 * WHAT A PLUGIN MUST NOT DO
 *   It runs inside shoal's worker: it must not call exit(), change signal
 *   handlers or the signal mask, close file descriptors it did not open, or
 *   change the working directory. Its stdout and stderr are the terminal of
 *   `shoal run`, not the run directory: use sink->log. A C++ plugin must not
 *   let an exception escape process (shoal catches one as a safety net and
 *   fails the item, but unwinding through C frames is undefined).
 *
 * CRASHES, HANGS AND INTERRUPTS
 *   A crash in the plugin (SIGSEGV, abort, ...) kills the worker process, not
 *   the run. The master notices at once, records whatever the worker published
 *   before, starts a replacement worker (which loads the library and calls init
 *   again), and gives the item it was running another attempt, up to
 *   job.retries extra attempts; after that the item fails with reason
 *   "worker died: signal N" (e.g. "worker died: signal 11") in errors.jsonl
 *   and failed.txt. An item running longer than job.timeout is handled the same
 *   way (its worker is killed) with reason "timeout". finish is called only
 *   when a worker ends in order (the run finished or was stopped between
 *   items), never after a crash, a kill or a timeout: do not rely on finish
 *   for anything a later run needs.
 *
 * COMPATIBILITY
 *   SHOAL_PLUGIN_ABI_VERSION changes, together with the entry point's name,
 *   when any struct below changes incompatibly. A library whose abi_version is
 *   not one shoal speaks is refused at load with a message to rebuild it.
 *   Within a version, shoal may append fields to the structs it fills in
 *   (shoal_config, shoal_item, shoal_sink) and never reorders them; each such
 *   step is a revision (SHOAL_PLUGIN_ABI_REVISION), and shoal_config.revision
 *   says which one the running shoal fills in. Fields marked "revision 2" exist
 *   when config->revision >= 2. A plugin built against this header that must
 *   also load into a shoal older than revision 2 (which has no revision field)
 *   cannot tell: use the revision 2 fields only with shoal of this release or
 *   later (the python handler, installed with shoal, always matches).
 *
 *   Revision 2 (shoal 0.1): shoal_config.revision; shoal_sink.set_flags
 *   (SHOAL_FLAG_PERMANENT: a failure that is not retried; SHOAL_FLAG_JSON: the
 *   output is one JSON value, embedded in the record as JSON) and
 *   shoal_sink.detail (text for the error record's "stderr", e.g. a traceback).
 */
#ifndef SHOAL_PLUGIN_H_
#define SHOAL_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHOAL_PLUGIN_ABI_VERSION 1
/* The revision of this header within version 1: see COMPATIBILITY. */
#define SHOAL_PLUGIN_ABI_REVISION 2
/* The symbol shoal looks up, as a string (for dlsym). */
#define SHOAL_PLUGIN_ENTRY "shoal_plugin_v1"

#if defined(__GNUC__) || defined(__clang__)
#define SHOAL_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SHOAL_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One plugin.config entry. Values are text whatever their TOML type:
 * level = 3 arrives as "3", fast = true as "true". */
typedef struct shoal_config_entry {
  const char* key;
  const char* value;
} shoal_config_entry;

/* What init receives. */
typedef struct shoal_config {
  const shoal_config_entry* entries; /* plugin.config, sorted by key */
  size_t count;                      /* number of entries (0: none) */
  int worker;                        /* this worker's number, 1..job.workers */
  const char* run_dir;               /* the run directory ({run}), absolute */
  const char* input_path;            /* input.path, absolute: the tree walked or the list read */
  /* Revision 2: the SHOAL_PLUGIN_ABI_REVISION shoal was built with. */
  uint32_t revision;
} shoal_config;

/* One item. All strings are NUL-terminated; lengths are given where the bytes
 * may contain a NUL (a list line may). */
typedef struct shoal_item {
  const char* item; /* {item}: exactly as read from the input */
  size_t item_size; /* its length in bytes */
  const char* path; /* {path}: the item as a path (tree: input.path/rel) */
  const char* rel;  /* {rel}: relative to input.path; never absolute, never ".." */
  const char* name; /* {name}: basename */
  const char* stem; /* {stem}: basename without its last extension */
  const char* ext;  /* {ext}: last extension without the dot ("" when none) */
  const char* dir;  /* {dir}: parent directory of path */
  const char* out;  /* {out}: {run}/out/{rel}'s directory. NOT created yet:
                       call sink->out_dir(sink) before writing into it. */
  uint64_t index;   /* {index}: 1-based position in the input */
  int worker;       /* {worker}: 1..job.workers, as in shoal_config */
} shoal_item;

/* How process reports back, besides its return value. Call the functions
 * through the struct, passing the sink itself: sink->log(sink, "text"). */
typedef struct shoal_sink shoal_sink;
struct shoal_sink {
  /* Appends bytes to the item's output (the "output" field of its record).
   * Up to 64 KiB are kept inline; once an item's output grows past that, all
   * of it goes to the file {run}/spill/<index>.output instead, and the record
   * names it in "output_file" (memory stays bounded, nothing is cut).
   * Returns 0, or -1 when the spill file cannot be written; the item then
   * fails with that error as its reason. */
  int (*write)(shoal_sink* sink, const void* data, size_t size);

  /* One line for the run's log.txt, as "worker W item I: <text>". A text with
   * newlines becomes several lines; each line is cut at 16 KiB. */
  void (*log)(shoal_sink* sink, const char* text);

  /* Marks the item failed with this reason (errors.jsonl "reason", and the
   * item lands in failed.txt), whatever process returns. The first reason
   * given is kept; NULL or "" gives "failed by plugin". Cut at 1 KiB. */
  void (*fail)(shoal_sink* sink, const char* reason);

  /* Creates {out} for this item (with missing parents, mode 0755; never
   * outside {run}/out, never through a symlink) and returns its path, the same
   * string as item->out. On failure returns NULL and the item fails with the
   * error as its reason (unless fail was called before). */
  const char* (*out_dir)(shoal_sink* sink);

  void* internal; /* shoal's own; do not touch */

  /* Revision 2. Adds SHOAL_FLAG_* bits to the item's outcome (they stay set):
   * SHOAL_FLAG_PERMANENT makes a failure final: no job.retries attempt
   * follows (input that can never work). SHOAL_FLAG_JSON says the output is
   * one JSON value on one line, embedded in the record as JSON rather than
   * as a string; shoal checks it, and fails the item when it is not valid
   * JSON. Output that spilled to a file stays a file. */
  void (*set_flags)(shoal_sink* sink, unsigned flags);

  /* Revision 2. Appends text to the item's error detail: the "stderr" field
   * of its record (errors.jsonl, or results.jsonl when it succeeded), of which
   * the last 4 KiB are kept. A traceback, a parser's context. */
  void (*detail)(shoal_sink* sink, const char* text, size_t size);
};

/* set_flags bits (revision 2). */
#define SHOAL_FLAG_PERMANENT 1u
#define SHOAL_FLAG_JSON 2u

/* What the library describes itself with. */
typedef struct shoal_plugin {
  /* Must be SHOAL_PLUGIN_ABI_VERSION as the plugin was compiled. */
  uint32_t abi_version;

  /* A short name for messages ("wordcount"). */
  const char* name;

  /* Called once per worker before any item. Returns the worker's state,
   * passed to every process and to finish: any non-NULL pointer (a struct
   * of buffers, or the address of a static when there is nothing to keep).
   * NULL means failure: write why into error (error_size bytes, NUL-terminated,
   * "" on entry) and the worker does not start; the run stops with that
   * message. May be NULL: then state is NULL in process and finish. */
  void* (*init)(const shoal_config* config, char* error, size_t error_size);

  /* Called once per item, required. Returns 0 when the item succeeded
   * (unless sink->fail was called), non-zero when it failed (the reason is
   * what was given to sink->fail, or "plugin returned N"). */
  int (*process)(void* state, const shoal_item* item, shoal_sink* sink);

  /* Called once when the worker ends in order; frees the state. May be NULL. */
  void (*finish)(void* state);
} shoal_plugin;

/* The one symbol a plugin defines. */
SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void);

/* The value of plugin.config's `key`, or `fallback` when it is not set. */
static inline const char* shoal_config_get(const shoal_config* config, const char* key,
                                           const char* fallback) {
  size_t i;
  for (i = 0; i < config->count; ++i) {
    if (strcmp(config->entries[i].key, key) == 0) return config->entries[i].value;
  }
  return fallback;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SHOAL_PLUGIN_H_ */
