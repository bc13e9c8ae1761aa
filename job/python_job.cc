#include "job/python_job.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/fd.h"
#include "job/plugin_library.h"
#include "shoal/plugin.h"

namespace shoal {
namespace {

constexpr char kPluginName[] = "shoal-python.so";
constexpr char kHostedPluginName[] = "shoal-python-hosted.so";
constexpr char kWorkerModuleName[] = "shoal-pyworker.so";

// What the python executable runs (python -c kHostCode MODULE ARGS...):
// - no current directory on sys.path, as an embedded interpreter has none
//   (sys is built in: nothing is imported from there before);
// - the signals as shoal-worker has them: SIGXFSZ at its default; SIGINT and
//   SIGPIPE ignored, as RunWorker sets them, here too so that Python's own
//   table says so (its SIGINT handler would turn a Ctrl-C into a
//   KeyboardInterrupt in the user's function). _signal is the C half of
//   signal, which would also import enum (3 ms of every worker's start);
// - sys.argv emptied, as an embedded interpreter's is;
// - shoal_worker_main, under the GIL (PyDLL). sys.exit then runs the user's
//   atexit handlers, as Py_FinalizeEx does in shoal-worker.
constexpr char kHostCode[] =
    "import sys\n"
    "if sys.path[:1] == ['']:\n"
    "    del sys.path[0]\n"
    "import _signal, ctypes, os\n"
    "_signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)\n"
    "for s in (_signal.SIGINT, _signal.SIGPIPE):\n"
    "    _signal.signal(s, _signal.SIG_IGN)\n"
    "worker = ctypes.PyDLL(sys.argv[1])\n"
    "args = [os.fsencode(a) for a in sys.argv[2:]]\n"
    "sys.argv[:] = ['']\n"
    "main = worker.shoal_worker_main\n"
    "main.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_char_p))\n"
    "sys.exit(main(len(args), (ctypes.c_char_p * (len(args) + 1))(*args, None)))\n";
constexpr size_t kCheckErrorSize = 4096;

// The child of CheckPythonJob: loads the plugin, imports, writes the error
// (nothing when all is well) to fd. Never returns: a forked copy of the
// master must not run its destructors.
[[noreturn]] void CheckInChild(const std::string& library,
                               const std::map<std::string, std::string>& config, int fd) {
  // The module's own prints at import go where a worker's go: nowhere.
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDOUT_FILENO);
  std::string error;
  Result<PluginLibrary> opened = PluginLibrary::Open(library);
  if (!opened.ok()) {
    error = opened.status().message();
  } else {
    std::vector<shoal_config_entry> entries;
    for (const auto& [key, value] : config) entries.push_back({key.c_str(), value.c_str()});
    shoal_config c{};
    c.entries = entries.data();
    c.count = entries.size();
    c.worker = 0;
    c.run_dir = "";
    c.input_path = "";
    c.revision = SHOAL_PLUGIN_ABI_REVISION;
    char buf[kCheckErrorSize] = "";
    if (opened->entry().init(&c, buf, sizeof buf) == nullptr) {
      buf[sizeof buf - 1] = '\0';
      error = buf[0] != '\0' ? buf : "init failed, no reason given";
    }
  }
  size_t done = 0;
  while (done < error.size()) {
    ssize_t n = ::write(fd, error.data() + done, error.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::_exit(0);
}

// python.executable, else the activated virtualenv's python (the environment
// the user means), else "".
std::string PythonExecutable(const PythonSettings& p) {
  if (!p.executable.empty()) return p.executable;
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv != nullptr && *venv != '\0') {
    return std::string(venv) + "/bin/python";
  }
  return "";
}

}  // namespace

Result<std::string> ThisExecutable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return Status::FromErrno("readlink /proc/self/exe", errno);
  return std::string(buf, static_cast<size_t>(n));
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> FindPythonPlugin(const std::string& dir, PythonPlugin which) {
  const std::string path = (std::filesystem::path(dir) /
                            (which == PythonPlugin::kHosted ? kHostedPluginName : kPluginName))
                               .lexically_normal()
                               .string();
  if (IsFile(path)) return path;
  return Status::IoError("job.handler = \"python\" needs " + path +
                         ", which is not there: it is installed beside shoal-worker when shoal "
                         "is built with Python (Debian: apt install libpython3-dev, then rebuild)");
}

std::map<std::string, std::string> PythonPluginConfig(const Settings& s, bool check_only) {
  const PythonSettings& p = s.python;
  std::map<std::string, std::string> config = {
      {"module", p.module},
      {"path", p.path},
      {"function", p.function},
      {"executable", PythonExecutable(p)},
  };
  if (check_only) config.emplace("check", "1");
  for (const auto& [key, value] : p.config) config["config." + key] = value;
  return config;
}

std::vector<std::string> PythonWorkerHost(const Settings& s, const std::string& worker_exe) {
#ifdef SHOAL_PYTHON_HOST
  const std::string module =
      (std::filesystem::path(worker_exe).parent_path() / kWorkerModuleName).string();
  std::string program = PythonExecutable(s.python);
  if (program.empty()) program = SHOAL_PYTHON_HOST;
  if (!IsFile(module) || ::access(program.c_str(), X_OK) != 0 ||
      !IsFile((std::filesystem::path(worker_exe).parent_path() / kHostedPluginName).string())) {
    return {};
  }
  return {program, "-c", kHostCode, module};
#else
  (void)s;
  (void)worker_exe;
  return {};
#endif
}

Status CheckPythonJob(const Settings& s, const std::string& worker_exe) {
  Result<std::string> library =
      FindPythonPlugin(std::filesystem::path(worker_exe).parent_path().string());
  if (!library.ok()) return library.status();
  const std::map<std::string, std::string> config = PythonPluginConfig(s, /*check_only=*/true);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork (to check python.module)", errno);
  if (pid == 0) CheckInChild(*library, config, write_end.get());
  write_end.Reset();
  std::string error;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    error.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string what = "python.module " + s.python.module;
  if (WIFSIGNALED(status)) {
    return Status::Error(what + ": importing it killed the process with signal " +
                         std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) +
                         "); run it with python3 to see why");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Error(what + ": importing it ended the process with status " +
                         std::to_string(WEXITSTATUS(status)) + " (an os._exit at import?)");
  }
  if (!error.empty()) return Status::Error(what + ": " + error);
  return Status::Ok();
}

}  // namespace shoal
