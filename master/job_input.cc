// What a run or a dry run reads, and the checks that must pass before
// anything is created: the input kind, the command templates every worker
// will compile, the plugin library every worker will load. `shoal check`
// runs the same checks (CheckJobInput), so it accepts what `shoal run` does.
#include <filesystem>

#include "config/load.h"
#include "job/argv_builder.h"
#include "job/command_cwd.h"
#include "job/plugin_library.h"
#include "job/template.h"
#include "master/master.h"
#include "master/read_ahead.h"

namespace shoal {
namespace {

// command.stdout_path must name a file inside the run directory for every
// item; a fixed part that cannot would fail every item at run time.
Status CheckStdoutPath(const CommandSettings& command) {
  if (command.stdout_mode != StdoutMode::kFile) return Status::Ok();
  const std::string& text = command.stdout_path;
  Result<Template> t = Template::Parse(text);
  if (!t.ok()) return Status::Error("command.stdout_path: " + t.status().message());
  Status inside = t->CheckInsideRun();
  if (inside.ok()) return inside;
  // The suggestion keeps what follows the fixed directories: "/data/mirror/{rel}.gz"
  // becomes "{out}/{rel}.gz".
  size_t brace = text.find('{', text.starts_with("{run}") || text.starts_with("{out}") ? 5 : 0);
  size_t slash = text.rfind('/', brace == std::string::npos ? std::string::npos : brace);
  std::string rest = slash == std::string::npos ? text : text.substr(slash + 1);
  return Status::Error("command.stdout_path \"" + text + "\" is not inside the run directory (" +
                       inside.message() + "): write it under {out}, e.g. \"{out}/" + rest + "\"");
}

// A walk of output.dir itself would take every earlier run's records as
// items; a directory below input.path is left out of the walk instead
// (OpenItemSource), but the root cannot be.
Status CheckOutputOutsideWalk(const Settings& s) {
  std::error_code ec;
  std::filesystem::path in = std::filesystem::weakly_canonical(s.input.path, ec);
  if (ec) return Status::Ok();
  std::filesystem::path out = std::filesystem::weakly_canonical(s.output.dir, ec);
  if (ec || in != out) return Status::Ok();
  return Status::Error("output.dir '" + s.output.dir + "' is input.path '" + s.input.path +
                       "' itself: each run would walk the run directories of the runs before it; "
                       "set output.dir to a directory below input.path (e.g. \"runs\") or outside "
                       "it");
}

}  // namespace

Status CheckJob(const Settings& s) {
  if (s.job.handler == HandlerKind::kPlugin) return CheckPluginLibrary(s.plugin.library);
  if (s.job.handler == HandlerKind::kCommand) {
    // What every worker will compile, checked once before anything runs.
    Result<ArgvBuilder> argv = ArgvBuilder::Compile(s.command);
    if (!argv.ok()) return Status::Error("command.argv: " + argv.status().message());
    Status stdout_path = CheckStdoutPath(s.command);
    if (!stdout_path.ok()) return stdout_path;
    return CheckFixedCwd(s.command);
  }
  return Status::Ok();
}

Result<JobInput> CheckJobInput(const Settings& s, const RunOptions& options) {
  JobInput input;
  auto kind = ResolveInputKind(s.input);
  if (!kind.ok()) return kind.status();
  input.kind = *kind;
  Status checked = CheckJob(s);
  if (!checked.ok()) return checked;
  input.items = options.items_file.empty() ? s.input.items : options.items_file;
  if (!input.items.empty() && input.items != "-") {
    input.items = std::filesystem::absolute(input.items).lexically_normal();
  }
  // Opening the source is what checks the input: its path and kind, the
  // globs, the items file, the shard.
  auto source = OpenItemSource(s, input.items);
  if (!source.ok()) return source.status();
  input.source = std::move(*source);
  // What the run's settings.toml will hold (--items may name a non-UTF-8 path).
  Settings effective = s;
  effective.input.kind = input.kind;
  effective.input.items = input.items;
  checked = CheckStorable(effective);
  if (!checked.ok()) return checked;
  if (input.kind == InputKind::kTree && input.items.empty()) {
    checked = CheckOutputOutsideWalk(s);
    if (!checked.ok()) return checked;
  }
  return input;
}

Result<JobInput> OpenJobInput(const Settings& s, const RunOptions& options) {
  Result<JobInput> checked = CheckJobInput(s, options);
  if (!checked.ok()) return checked.status();
  JobInput input = std::move(*checked);
  if (input.kind == InputKind::kTree && input.items.empty()) {
    // A walk is mostly getdents64 and sorting: on a thread of its own it
    // overlaps dispatch rather than adding to it.
    auto ahead = ReadAhead::Start(std::move(input.source));
    if (!ahead.ok()) return ahead.status();
    input.source = std::move(*ahead);
  }
  return input;
}

}  // namespace shoal
