// shoal-python.so: handler = "python". A plugin over include/shoal/plugin.h
// that embeds CPython in the worker; built again without libpython as
// shoal-python-hosted.so, it runs in the interpreter of the python executable
// that hosts the worker (python/worker_host.cc). Init imports the user's module once (and
// calls its init(config)), process calls the user's function(item, ctx) for
// each item, finish calls its finish(). The settings arrive as the plugin
// config that job/python_job.cc builds from [python].
//
// The Python side (Context, Permanent, the import) is the bootstrap below,
// run as the module `shoal`; the C++ side calls the function for each item
// and moves values across the ABI. The worker's one thread holds the GIL only inside a call,
// so threads the user's code starts can run between items.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <structmember.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shoal/plugin.h"

extern char** environ;

namespace {

// The Python half, executed in the namespace of the module `shoal` (whose
// _log and _out_dir are the C functions below). Process calls the user's
// function itself: no frame of ours sits in a traceback.
constexpr char kBootstrap[] = R"PY(
import _json, importlib, os, sys
# importlib.util's spec_from_file_location and module_from_spec, from the
# halves of importlib that every interpreter has loaded: importlib.util
# itself would also import contextlib, functools and collections.
from importlib._bootstrap import module_from_spec as _module_from_spec
from importlib._bootstrap_external import spec_from_file_location as _spec_from_file

# sys.path as the interpreter set it, before _setup puts the user's
# directories first: where _traceback() finds the standard library's.
_std_path = list(sys.path)
_traceback_module = None

def _traceback():
    """The traceback module, imported when an exception first needs it: it
    and the re it imports are a third of a worker's start-up, and most items
    never fail. It is imported from _std_path, so a traceback.py (or a re.py)
    beside the user's module does not stand in for the standard library's,
    and it is kept out of sys.modules: the user's `import traceback`, before
    or after, finds what their sys.path holds, as in a plain python run."""
    global _traceback_module
    if _traceback_module is None:
        theirs = sys.modules.pop("traceback", None)
        path = sys.path[:]
        sys.path[:] = _std_path
        try:
            import traceback
        finally:
            sys.path[:] = path
            if theirs is not None:
                sys.modules["traceback"] = theirs
            else:
                sys.modules.pop("traceback", None)
        _traceback_module = traceback
    return _traceback_module

class Permanent(Exception):
    """Raise it to fail an item for good: job.retries gives it no other attempt.
    (Any exception with an attribute shoal_permanent = True does the same.)"""

class Context(_ContextBase):
    """What function(item, ctx) knows of its item besides the item itself:
    index, item, path, rel, name, stem, ext, dir and worker (read-only)."""
    __slots__ = ()

    @property
    def out(self):
        """{out}: this item's output directory, created on first use."""
        return _out_dir()

    def log(self, message):
        """Lines for the run's log.txt, as "worker W item I: message"."""
        _log(str(message))

    def __repr__(self):
        return f"Context(index={self.index}, item={self.item!r}, worker={self.worker})"

def log(message):
    """Like ctx.log; before the first item, logged with it."""
    _log(str(message))

class _Lines:
    """sys.stdout inside a worker: print() becomes log lines of the item."""
    def __init__(self):
        self._buf = ""
    def write(self, text):
        self._buf += text
        if "\n" in self._buf:
            *lines, self._buf = self._buf.split("\n")
            for line in lines:
                _log(line)
        return len(text)
    def flush(self):
        if self._buf:
            _log(self._buf)
            self._buf = ""
    def isatty(self):
        return False

def _default(o):
    """json.JSONEncoder.default's refusal, word for word."""
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

# json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# as its C half, made once: encode() would build it again for every value.
# The C side (WriteResult) calls it directly.
_markers = {}
_c_encode = _json.make_encoder(_markers, _default, _json.encode_basestring, None, ":", ",",
                               False, False, False)

def _encode(value):
    try:
        return "".join(_c_encode(value, 0))
    except BaseException:
        _markers.clear()  # what the failed call left of its cycle check
        raise

def _wide_as_text(value):
    """value with each int beyond 64 bits as its decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -2**63 <= value < 2**64 else str(value)
    if isinstance(value, dict):
        return {k: _wide_as_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wide_as_text(v) for v in value]
    return value

def _dumps_wide(value):
    """The output of a value whose JSON has 20 digits in a row, the only text
    that can hold an int beyond 64 bits. The records hold numbers to 64 bits
    (resume and every reader of them parse them so): wider ints are written
    as strings, every digit kept."""
    return _encode(_wide_as_text(value))

def _where(e):
    """ (file, line N)" of the innermost frame, for one-line messages."""
    if isinstance(e, SyntaxError):
        return ""
    frames = _traceback().extract_tb(e.__traceback__)
    return f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""

def _describe(e):
    """(type name, traceback text, permanent) of an exception from the user's code."""
    tb = e.__traceback__
    text = "".join(_traceback().format_exception(type(e), e, tb))
    permanent = isinstance(e, Permanent) or getattr(e, "shoal_permanent", False) is True
    return type(e).__name__, text, permanent

class _SetupError(Exception):
    pass

def _setup(module, path, function, executable, info, worker):
    """Sets sys.path, imports module; returns (module object, function, banner)."""
    if info:
        import json  # here only: it imports re, which most jobs need not load
        major, minor, exe_path, prefix = json.loads(info)
        if (major, minor) != tuple(sys.version_info[:2]):
            raise _SetupError(
                f"python.executable {executable} is Python {major}.{minor}, but shoal embeds "
                f"Python {sys.version_info[0]}.{sys.version_info[1]}: make the virtualenv with "
                f"python{sys.version_info[0]}.{sys.version_info[1]} -m venv")
        sys.path[:] = [p for p in exe_path if p]
        sys.executable = executable
    if path:
        sys.path.insert(0, path)
    try:
        if module.endswith(".py") or "/" in module:
            if not os.path.isfile(module):
                raise _SetupError(f"{module} does not exist: write it (shoal init --handler "
                                  f"python writes a job.py) or fix module under [python]")
            sys.path.insert(0, os.path.dirname(module))
            name = os.path.splitext(os.path.basename(module))[0]
            spec = _spec_from_file(name, module)
            mod = _module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        else:
            mod = importlib.import_module(module)
    except _SetupError:
        raise
    except BaseException as e:
        raise _SetupError(f"cannot import it: {type(e).__name__}: {e}{_where(e)}") from e
    fn = getattr(mod, function, None)
    if fn is None or not callable(fn):
        raise _SetupError(f"defines no function {function}: define def {function}(item, ctx): "
                          f"or set function under [python]")
    banner = (f"python {sys.version.split()[0]} (sys.prefix {sys.prefix}, executable "
              f"{sys.executable or '-'}), module {getattr(mod, '__file__', None) or module}, "
              f"function {function}")
    if worker:
        sys.stdout = _Lines()
    return mod, fn, banner

def _init(mod, config):
    init = getattr(mod, "init", None)
    if init is None:
        return
    try:
        init(config)
    except BaseException as e:
        raise _SetupError(f"init(config) raised {type(e).__name__}: {e}{_where(e)}") from e
)PY";

// The sink of the item being processed; null between items.
shoal_sink* g_sink = nullptr;
// Log lines written before the first item (init, import): logged with it.
std::vector<std::string>* g_early_logs = nullptr;

PyObject* Log(PyObject*, PyObject* arg) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(arg, &size);
  if (text == nullptr) {
    // Surrogates (undecodable bytes of an item): keep them as bytes.
    PyErr_Clear();
    PyObject* bytes = PyUnicode_AsEncodedString(arg, "utf-8", "surrogateescape");
    if (bytes == nullptr) return nullptr;
    std::string copy(PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    if (g_sink != nullptr) g_sink->log(g_sink, copy.c_str());
    Py_RETURN_NONE;
  }
  if (g_sink != nullptr) {
    g_sink->log(g_sink, text);
  } else if (g_early_logs != nullptr) {
    g_early_logs->emplace_back(text, static_cast<size_t>(size));
  }
  Py_RETURN_NONE;
}

PyObject* OutDir(PyObject*, PyObject*) {
  if (g_sink == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "ctx.out is only there while the item runs");
    return nullptr;
  }
  const char* out = g_sink->out_dir(g_sink);
  if (out == nullptr) {
    PyErr_SetString(PyExc_OSError, "cannot create the item's {out} directory");
    return nullptr;
  }
  return PyUnicode_DecodeFSDefault(out);
}

// shoal._ContextBase: the fields of ctx, made from C without running any
// Python (a Python __init__ cost about an eighth of a tiny item), and each
// only when first read: most functions read none or one of them. While its
// call runs a context points at the worker's shoal_item; a context the
// function kept is given every field before the call returns (Detach), so
// that it keeps its own item. One the function did not keep is cleared and
// used again for the next item. Context, in the bootstrap, adds out, log()
// and repr. Its members hold only str and int, so the type needs no GC support.
enum ContextField { kIndex, kItem, kPath, kRel, kName, kStem, kExt, kDir, kWorker, kContextFields };
struct ContextObject {
  PyObject_HEAD PyObject* fields[kContextFields];  // null: not made yet
  const shoal_item* item;                          // null once its call returned
};

PyObject* Text(const char* c, size_t n) {
  return PyUnicode_DecodeUTF8(c, static_cast<Py_ssize_t>(n), "surrogateescape");
}

// Field i of the item being processed, a new reference (kItem is always made).
PyObject* MakeField(ContextObject* ctx, int i) {
  const shoal_item* item = ctx->item;
  // A list item is often its own path and rel: one string for all three.
  auto same_or_text = [&](const char* c) {
    const size_t n = std::strlen(c);
    if (n == item->item_size && std::memcmp(c, item->item, n) == 0) {
      Py_INCREF(ctx->fields[kItem]);
      return ctx->fields[kItem];
    }
    return Text(c, n);
  };
  auto str = [](const char* c) { return Text(c, std::strlen(c)); };
  switch (static_cast<ContextField>(i)) {
    case kIndex: return PyLong_FromUnsignedLongLong(item->index);
    case kPath: return same_or_text(item->path);
    case kRel: return same_or_text(item->rel);
    case kName: return str(item->name);
    case kStem: return str(item->stem);
    case kExt: return str(item->ext);
    case kDir: return str(item->dir);
    case kWorker: return PyLong_FromLong(item->worker);
    case kItem:
    case kContextFields: break;
  }
  PyErr_SetString(PyExc_SystemError, "shoal: no such ctx field");
  return nullptr;
}

PyObject* GetField(PyObject* self, void* closure) {
  auto* ctx = reinterpret_cast<ContextObject*>(self);
  const int i = static_cast<int>(reinterpret_cast<intptr_t>(closure));
  if (ctx->fields[i] == nullptr) {
    if (ctx->item == nullptr) {
      // Detach could not make it (out of memory then).
      PyErr_SetString(PyExc_RuntimeError, "this ctx field was lost after its item ended");
      return nullptr;
    }
    ctx->fields[i] = MakeField(ctx, i);
    if (ctx->fields[i] == nullptr) return nullptr;
  }
  Py_INCREF(ctx->fields[i]);
  return ctx->fields[i];
}

// The context outlives its call: it takes every field now.
void Detach(ContextObject* ctx) {
  for (int i = 0; i < static_cast<int>(kContextFields); ++i) {
    if (ctx->fields[i] == nullptr) ctx->fields[i] = MakeField(ctx, i);
  }
  PyErr_Clear();
  ctx->item = nullptr;
}

void ClearFields(ContextObject* ctx) {
  for (PyObject*& f : ctx->fields) Py_CLEAR(f);
  ctx->item = nullptr;
}

void ContextDealloc(PyObject* self) {
  ClearFields(reinterpret_cast<ContextObject*>(self));
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);  // instances of a heap type hold a reference to it
}

#define SHOAL_CONTEXT_FIELD(name, i) \
  { name, &GetField, nullptr, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(i)) }
PyGetSetDef kContextFieldDefs[] = {
    SHOAL_CONTEXT_FIELD("index", kIndex),   SHOAL_CONTEXT_FIELD("item", kItem),
    SHOAL_CONTEXT_FIELD("path", kPath),     SHOAL_CONTEXT_FIELD("rel", kRel),
    SHOAL_CONTEXT_FIELD("name", kName),     SHOAL_CONTEXT_FIELD("stem", kStem),
    SHOAL_CONTEXT_FIELD("ext", kExt),       SHOAL_CONTEXT_FIELD("dir", kDir),
    SHOAL_CONTEXT_FIELD("worker", kWorker), {nullptr, nullptr, nullptr, nullptr, nullptr},
};
#undef SHOAL_CONTEXT_FIELD

PyType_Slot kContextSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(ContextDealloc)},
    {Py_tp_getset, kContextFieldDefs},
    {0, nullptr},
};
PyType_Spec kContextSpec = {"shoal._ContextBase", sizeof(ContextObject), 0,
                            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, kContextSlots};

PyMethodDef kMethods[] = {
    {"_log", Log, METH_O, "a log line of the current item"},
    {"_out_dir", OutDir, METH_NOARGS, "creates {out}, returns its path"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef kModule = {PyModuleDef_HEAD_INIT,
                       "shoal",
                       "shoal's python handler",
                       -1,
                       kMethods,
                       nullptr,
                       nullptr,
                       nullptr,
                       nullptr};

PyObject* InitShoalModule() {
  PyObject* module = PyModule_Create(&kModule);
  if (module == nullptr) return nullptr;
  PyObject* base = PyType_FromSpec(&kContextSpec);
  if (base == nullptr || PyModule_AddObject(module, "_ContextBase", base) < 0) {
    Py_XDECREF(base);
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}

struct State {
  PyObject* shoal = nullptr;     // the module shoal
  PyObject* context = nullptr;   // shoal.Context
  PyObject* encode = nullptr;    // shoal._c_encode: JSON's C encoder, as chunks
  PyObject* markers = nullptr;   // shoal._markers: its cycle check
  PyObject* dumps_wide = nullptr;  // shoal._dumps_wide: the JSON of a value with wide ints
  PyObject* zero = nullptr;      // 0, the encoder's indent level
  PyObject* empty = nullptr;     // "", what joins its chunks
  ContextObject* ctx = nullptr;  // the next item's context, when the last one was not kept
  PyObject* describe = nullptr;  // shoal._describe
  PyObject* function = nullptr;  // the user's function
  PyObject* module = nullptr;    // the user's module
  PyThreadState* saved = nullptr;
  bool hosted = false;  // in the python executable (Hosted), not embedded
  std::vector<std::string> early_logs;
  bool banner_logged = false;
};

void SetError(char* error, size_t size, const std::string& text) {
  std::snprintf(error, size, "%s", text.c_str());
}

// The message of the pending Python exception (str of it), and clears it.
std::string TakeError() {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  std::string text = "unknown Python error";
  if (value != nullptr) {
    PyObject* s = PyObject_Str(value);
    if (s != nullptr) {
      const char* c = PyUnicode_AsUTF8(s);
      if (c != nullptr) text = c;
      Py_DECREF(s);
    }
  }
  PyErr_Clear();
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return text;
}

// Runs `executable -c ...` for its version, sys.path and prefix, as JSON.
bool AskExecutable(const std::string& executable, std::string* json, std::string* why) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *why = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const char* code =
      "import json, sys; print(json.dumps([sys.version_info[0], sys.version_info[1], sys.path, "
      "sys.prefix]))";
  std::string exe = executable;
  std::vector<char*> argv = {exe.data(), const_cast<char*>("-c"), const_cast<char*>(code), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    *why = "cannot run it: " + std::string(std::strerror(rc));
    return false;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    json->append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || json->empty()) {
    *why = "it failed to report its sys.path (is it a python?)";
    return false;
  }
  return true;
}

// The extension modules of the standard library (math, _json, ...) take
// Python's symbols from the process: the plugin was loaded RTLD_LOCAL, so
// make libpython's global.
// Returns libpython's path, for log.txt.
std::string ExposeLibpython() {
  Dl_info info;
  if (::dladdr(reinterpret_cast<void*>(&Py_InitializeFromConfig), &info) == 0 ||
      info.dli_fname == nullptr) {
    return "?";
  }
  ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  return info.dli_fname;
}

// Whether the python executable hosts this worker (python/worker_host.cc):
// its interpreter runs already and this thread holds the GIL.
bool Hosted() {
  return Py_IsInitialized() != 0;
}

// Registers the module shoal in the running interpreter (hosted).
bool AddShoalModule(std::string* why) {
  PyObject* module = InitShoalModule();
  if (module == nullptr || PyDict_SetItemString(PyImport_GetModuleDict(), "shoal", module) != 0) {
    *why = "cannot register the module shoal: " + TakeError();
    Py_XDECREF(module);
    return false;
  }
  Py_DECREF(module);
  return true;
}

// `where`: how the interpreter is had, for log.txt.
bool StartInterpreter(std::string* where, std::string* why) {
  if (Hosted()) {
    *where = "in the python executable";
    // The interpreter outlives the worker's handle on this library: its
    // types and functions (the module shoal) must stay mapped until python
    // exits, after the worker has unloaded its plugin.
    Dl_info info;
    if (::dladdr(reinterpret_cast<void*>(&InitShoalModule), &info) != 0 &&
        info.dli_fname != nullptr) {
      ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
    return AddShoalModule(why);
  }
  *where = "libpython " + ExposeLibpython();
  if (PyImport_AppendInittab("shoal", &InitShoalModule) != 0) {
    *why = "cannot register the module shoal";
    return false;
  }
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  // The worker owns the signals (include/shoal/plugin.h), and argv is its own.
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  // The prefix (the standard library) is that of the installation whose
  // libpython this is, whatever python is first on PATH.
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, SHOAL_PYTHON_PROGRAM);
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    *why = std::string("cannot start Python: ") +
           (status.err_msg != nullptr ? status.err_msg : "unknown error");
    return false;
  }
  return true;
}

PyObject* ShoalAttr(State* s, const char* name) {
  return PyObject_GetAttrString(s->shoal, name);
}

PyObject* Text(const std::string& s) {
  return Text(s.data(), s.size());
}

// Everything of init but the user's init(config); false with *why.
bool Setup(State* s, const std::map<std::string, std::string>& c, bool worker, std::string* why) {
  auto get = [&](const char* key) {
    auto it = c.find(key);
    return it == c.end() ? std::string() : it->second;
  };
  const std::string executable = get("executable");
  std::string info;
  s->hosted = Hosted();
  // Hosted, the worker is that executable already.
  if (!executable.empty() && !s->hosted) {
    std::string problem;
    if (!AskExecutable(executable, &info, &problem)) {
      *why = "python.executable " + executable + ": " + problem;
      return false;
    }
  }
  std::string where;
  if (!StartInterpreter(&where, why)) return false;
  s->shoal = PyImport_ImportModule("shoal");
  if (s->shoal == nullptr) {
    *why = "cannot import shoal: " + TakeError();
    return false;
  }
  PyObject* globals = PyModule_GetDict(s->shoal);  // borrowed
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* ran = PyRun_String(kBootstrap, Py_file_input, globals, globals);
  if (ran == nullptr) {
    *why = "shoal's bootstrap failed: " + TakeError();
    return false;
  }
  Py_DECREF(ran);
  s->context = ShoalAttr(s, "Context");
  s->encode = ShoalAttr(s, "_c_encode");
  s->markers = ShoalAttr(s, "_markers");
  s->dumps_wide = ShoalAttr(s, "_dumps_wide");
  s->zero = PyLong_FromLong(0);
  s->empty = PyUnicode_FromStringAndSize("", 0);
  s->describe = ShoalAttr(s, "_describe");
  PyObject* setup = ShoalAttr(s, "_setup");
  PyObject* result =
      PyObject_CallFunction(setup, "NNNNNi", Text(get("module")), Text(get("path")),
                            Text(get("function")), Text(executable), Text(info), worker ? 1 : 0);
  Py_DECREF(setup);
  if (result == nullptr) {
    *why = TakeError();
    return false;
  }
  PyObject* banner = nullptr;
  if (!PyArg_ParseTuple(result, "OOO", &s->module, &s->function, &banner)) {
    Py_DECREF(result);
    *why = TakeError();
    return false;
  }
  Py_INCREF(s->module);
  Py_INCREF(s->function);
  if (const char* b = PyUnicode_AsUTF8(banner); b != nullptr) {
    s->early_logs.insert(s->early_logs.begin(), std::string(b) + ", " + where);
  }
  Py_DECREF(result);
  PyErr_Clear();
  return true;
}

// The user's init(config), with python.config as a dict of str.
bool CallUserInit(State* s, const std::map<std::string, std::string>& c, std::string* why) {
  PyObject* config = PyDict_New();
  constexpr std::string_view kPrefix = "config.";
  for (const auto& [key, value] : c) {
    if (!key.starts_with(kPrefix)) continue;
    PyObject* v = Text(value);
    PyDict_SetItemString(config, key.c_str() + kPrefix.size(), v);
    Py_DECREF(v);
  }
  PyObject* init = ShoalAttr(s, "_init");
  PyObject* result = PyObject_CallFunctionObjArgs(init, s->module, config, nullptr);
  Py_DECREF(init);
  Py_DECREF(config);
  if (result == nullptr) {
    *why = TakeError();
    return false;
  }
  Py_DECREF(result);
  return true;
}

void* Init(const shoal_config* config, char* error, size_t error_size) {
  std::map<std::string, std::string> c;
  for (size_t i = 0; i < config->count; ++i) c[config->entries[i].key] = config->entries[i].value;
  const bool check = c.count("check") != 0;
  auto* s = new State();
  g_early_logs = &s->early_logs;
  std::string why;
  if (!Setup(s, c, !check, &why) || (!check && !CallUserInit(s, c, &why))) {
    SetError(error, error_size, why);
    // The interpreter stays: a worker that failed init exits.
    return nullptr;
  }
  s->saved = PyEval_SaveThread();
  return s;
}

// The exception from the user's function: reason "exception: Type", the
// traceback as the record's stderr, permanent when it says so.
void FailWithException(State* s, shoal_sink* sink) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  std::string name = type != nullptr ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "?";
  std::string text;
  bool permanent = false;
  PyObject* d = value != nullptr ? PyObject_CallOneArg(s->describe, value) : nullptr;
  const char *n = nullptr, *t = nullptr;
  int p = 0;
  if (d != nullptr && PyArg_ParseTuple(d, "ssp", &n, &t, &p)) {
    name = n;
    text = t;
    permanent = p != 0;
  }
  Py_XDECREF(d);
  PyErr_Clear();
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  if (permanent) sink->set_flags(sink, SHOAL_FLAG_PERMANENT);
  sink->detail(sink, text.data(), text.size());
  sink->fail(sink, ("exception: " + name).c_str());
}

// function(item, ctx): a new reference, or null with the exception set.
// The context stays in s->ctx for ReleaseContext.
PyObject* CallFunction(State* s, const shoal_item* item) {
  PyObject* item_text = Text(item->item, item->item_size);
  if (item_text == nullptr) return nullptr;
  if (s->ctx == nullptr) {
    // Context adds no slots to its base: its instances are ContextObjects.
    auto* type = reinterpret_cast<PyTypeObject*>(s->context);
    s->ctx = reinterpret_cast<ContextObject*>(type->tp_alloc(type, 0));
    if (s->ctx == nullptr) {
      Py_DECREF(item_text);
      return nullptr;
    }
  }
  // The context owns item_text; the call shares it.
  s->ctx->fields[kItem] = item_text;
  s->ctx->item = item;
  PyObject* args[] = {item_text, reinterpret_cast<PyObject*>(s->ctx)};
  return PyObject_Vectorcall(s->function, args, 2, nullptr);
}

// After the call and its result: the context is the next item's, unless
// the function kept it (then it keeps this item's fields, and the next item
// gets a new one).
void ReleaseContext(State* s) {
  ContextObject* ctx = s->ctx;
  if (ctx == nullptr) return;
  if (Py_REFCNT(ctx) == 1) {
    ClearFields(ctx);
    return;
  }
  Detach(ctx);
  s->ctx = nullptr;
  Py_DECREF(ctx);
}

// An int, float or bool as the JSON the encoder would write, without a
// call into Python (the encoder's Python half cost a quarter of a tiny
// item). False for anything else, and for what the encoder must judge:
// ints beyond 64 bits, NaN and infinities (refused), int and float subclasses.
bool WriteNumber(PyObject* result, shoal_sink* sink) {
  char buf[32];
  std::string_view text;
  if (PyBool_Check(result)) {
    text = result == Py_True ? "true" : "false";
  } else if (PyLong_CheckExact(result)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(result, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
  } else if (PyFloat_CheckExact(result)) {
    const double d = PyFloat_AS_DOUBLE(result);
    if (!std::isfinite(d)) return false;
    // float.__repr__, which the encoder writes: "1.0", "1e+16", "0.1".
    char* repr = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
    if (repr == nullptr) {
      PyErr_Clear();
      return false;
    }
    const size_t n = std::strlen(repr);
    if (n >= sizeof buf) {
      PyMem_Free(repr);
      return false;
    }
    std::memcpy(buf, repr, n);
    PyMem_Free(repr);
    text = std::string_view(buf, n);
  } else {
    return false;
  }
  sink->write(sink, text.data(), text.size());
  sink->set_flags(sink, SHOAL_FLAG_JSON);
  return true;
}

// Whether JSON text holds 20 digits in a row, the only text that can hold
// an int beyond 64 bits (a string may too: then the slow path finds none).
bool HasLongDigitRun(const char* text, size_t size) {
  size_t run = 0;
  for (size_t i = 0; i < size; ++i) {
    run = (text[i] >= '0' && text[i] <= '9') ? run + 1 : 0;
    if (run == 20) return true;
  }
  return false;
}

// A value the encoder writes, as JSON text (a new reference), or null with
// the exception set: not serialisable (TypeError), NaN (ValueError).
PyObject* EncodeJson(State* s, PyObject* value) {
  PyObject* args[] = {value, s->zero};
  PyObject* chunks = PyObject_Vectorcall(s->encode, args, 2, nullptr);
  if (chunks == nullptr) {
    PyDict_Clear(s->markers);  // what the failed call left of its cycle check
    return nullptr;
  }
  PyObject* text = PyUnicode_Join(s->empty, chunks);
  Py_DECREF(chunks);
  return text;
}

// str as its bytes, UTF-8: an ASCII one's own, without a copy.
int WriteText(PyObject* text, shoal_sink* sink) {
  if (PyUnicode_READY(text) == 0 && PyUnicode_IS_ASCII(text)) {
    sink->write(sink, PyUnicode_DATA(text), static_cast<size_t>(PyUnicode_GET_LENGTH(text)));
    return 0;
  }
  PyObject* bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape");
  if (bytes == nullptr) return -1;
  sink->write(sink, PyBytes_AS_STRING(bytes), static_cast<size_t>(PyBytes_GET_SIZE(bytes)));
  Py_DECREF(bytes);
  return 0;
}

// The return value as the item's output (and drops it): bytes as they are,
// str as UTF-8, None as nothing, anything else as JSON.
int WriteResult(State* s, PyObject* result, shoal_sink* sink) {
  if (result == nullptr) {
    FailWithException(s, sink);
    return 1;
  }
  int rc = 0;
  if (result == Py_None) {
  } else if (PyUnicode_Check(result)) {
    rc = WriteText(result, sink);
  } else if (PyBytes_Check(result)) {
    sink->write(sink, PyBytes_AS_STRING(result), static_cast<size_t>(PyBytes_GET_SIZE(result)));
  } else if (PyByteArray_Check(result) || PyMemoryView_Check(result)) {
    PyObject* bytes = PyBytes_FromObject(result);
    if (bytes == nullptr) {
      rc = -1;
    } else {
      sink->write(sink, PyBytes_AS_STRING(bytes), static_cast<size_t>(PyBytes_GET_SIZE(bytes)));
      Py_DECREF(bytes);
    }
  } else if (!WriteNumber(result, sink)) {
    PyObject* text = EncodeJson(s, result);
    Py_ssize_t size = 0;
    const char* utf8 = text != nullptr ? PyUnicode_AsUTF8AndSize(text, &size) : nullptr;
    if (utf8 != nullptr && HasLongDigitRun(utf8, static_cast<size_t>(size))) {
      Py_DECREF(text);
      text = PyObject_CallOneArg(s->dumps_wide, result);
      utf8 = text != nullptr ? PyUnicode_AsUTF8AndSize(text, &size) : nullptr;
    }
    if (utf8 == nullptr) {
      rc = -1;
    } else {
      sink->write(sink, utf8, static_cast<size_t>(size));
      sink->set_flags(sink, SHOAL_FLAG_JSON);
    }
    Py_XDECREF(text);
  }
  Py_DECREF(result);
  if (rc != 0) {
    // Not JSON-serialisable (TypeError), NaN (ValueError), a lone surrogate.
    FailWithException(s, sink);
    return 1;
  }
  return 0;
}

int Process(void* state, const shoal_item* item, shoal_sink* sink) {
  auto* s = static_cast<State*>(state);
  PyEval_RestoreThread(s->saved);
  g_sink = sink;
  if (!s->banner_logged) {
    s->banner_logged = true;
    for (const std::string& line : s->early_logs) sink->log(sink, line.c_str());
    s->early_logs.clear();
    g_early_logs = nullptr;
  }
  int rc = WriteResult(s, CallFunction(s, item), sink);
  ReleaseContext(s);
  g_sink = nullptr;
  s->saved = PyEval_SaveThread();
  return rc;
}

void Finish(void* state) {
  auto* s = static_cast<State*>(state);
  PyEval_RestoreThread(s->saved);
  PyObject* finish = PyObject_GetAttrString(s->module, "finish");
  if (finish == nullptr) {
    PyErr_Clear();
  } else {
    PyObject* r = PyObject_CallNoArgs(finish);
    if (r == nullptr) {
      std::fprintf(stderr, "shoal python: finish() raised an exception:\n");
      PyErr_Print();
    }
    Py_XDECREF(r);
    Py_DECREF(finish);
  }
  g_early_logs = nullptr;
  Py_CLEAR(s->ctx);
  // Flushes what print() left and runs the module's atexit handlers. Hosted,
  // the python executable does that as it exits, and the worker returns to
  // it holding the GIL.
  if (!s->hosted) Py_FinalizeEx();
  delete s;
}

const shoal_plugin kPlugin = {
    SHOAL_PLUGIN_ABI_VERSION, "python", &Init, &Process, &Finish,
};

}  // namespace

extern "C" SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kPlugin;
}
