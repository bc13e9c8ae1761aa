// What a run or a dry run reads, and the checks that must pass before
// anything is created: the input kind, the command templates every worker
// will compile, the plugin library every worker will load. `shoal check`
// runs the same checks (CheckJobInput), so it accepts what `shoal run` does.
#include <cstdio>
#include <filesystem>

#include "config/load.h"
#include "job/argv_builder.h"
#include "job/command_cwd.h"
#include "job/command_program.h"
#include "job/fields.h"
#include "job/http_request.h"
#include "job/output_file.h"
#include "job/plugin_library.h"
#include "job/python_job.h"
#include "job/template.h"
#include "master/master.h"
#include "master/read_ahead.h"
#include "master/resume.h"
#include "master/retry.h"
#include "master/shard.h"
#include "master/supervisor.h"

namespace shoal {
namespace {

// A file shoal writes for each item (command.stdout_path, http.response_path)
// must lie inside the run directory, or output.tree, for every item; a fixed
// part that cannot would fail every item at run time.
Status CheckOutputPath(const std::string& key, const std::string& text, const std::string& tree,
                       const FieldContext& fields) {
  Result<Template> t = Template::Parse(text, fields);
  if (!t.ok()) return Status::Error(key + ": " + t.status().message());
  Status inside = t->CheckInsideRun(tree);
  if (inside.ok()) return inside;
  // The suggestion keeps what follows the fixed directories: "/data/mirror/{rel}.gz"
  // becomes "{out}/{rel}.gz".
  size_t brace = text.find('{', text.starts_with("{run}") || text.starts_with("{out}") ? 5 : 0);
  size_t slash = text.rfind('/', brace == std::string::npos ? std::string::npos : brace);
  std::string rest = slash == std::string::npos ? text : text.substr(slash + 1);
  return Status::Error(key + " \"" + text + "\" is not inside the run directory (" +
                       inside.message() + "): write it under {out}, e.g. \"{out}/" + rest + "\"");
}

// What {1} {2} ... and {name} may be in the templates: the names of
// input.field_names or else, with input.header, those of the header line.
// `header` is the header when the caller has read it; otherwise a list
// file's is read here (so that `shoal check` knows the names too), and
// standard input's is left to OpenJobInput, which checks again with it.
Result<FieldContext> JobFields(const Settings& s, const std::string* header) {
  Result<FieldSplitter> splitter = FieldSplitter::Make(s.input);
  if (!splitter.ok()) return splitter.status();
  FieldContext fields = FieldContextOf(s);
  if (!s.input.header || !s.input.field_names.empty()) return fields;
  std::unique_ptr<ItemSource> list;
  if (header == nullptr) {
    Result<InputKind> kind = ResolveInputKind(s.input);
    if (kind.ok() && *kind == InputKind::kTree) {
      return Status::Error(
          "input.header = true names the fields by a list's first line, but "
          "input.path is a directory tree: remove input.header");
    }
    fields.names_known = false;
    if (s.input.path == "-" || !kind.ok()) return fields;
    Settings plain = s;  // the header of input.path itself, whatever --items says
    plain.input.items.clear();
    plain.input.shard.clear();
    Result<std::unique_ptr<ItemSource>> opened = OpenItemSource(plain, "");
    if (!opened.ok()) return fields;  // opening the input says what is wrong
    list = std::move(opened).value();
    header = list->Header();
    if (!list->status().ok()) return list->status();
  }
  fields.names_known = true;
  if (header == nullptr) return fields;  // an empty input: no names
  Result<std::vector<std::string>> names = HeaderNames(*splitter, *header);
  if (!names.ok()) return Status::Error("the header of input.path: " + names.status().message());
  fields.names = std::move(names).value();
  return fields;
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

Status CheckJobWith(const Settings& s, const std::string* header) {
  Status tree = CheckOutputTree(s.output.tree, /*create=*/false);
  if (!tree.ok()) return tree;
  Result<FieldContext> fields = JobFields(s, header);
  if (!fields.ok()) return fields.status();
  if (!s.output.tagstring.empty()) {
    Result<Template> tag = Template::Parse(s.output.tagstring, *fields);
    if (!tag.ok()) return Status::Error("output.tagstring: " + tag.status().message());
  }
  if (s.job.handler == HandlerKind::kPlugin) return CheckPluginLibrary(s.plugin.library);
  if (s.job.handler == HandlerKind::kHttp) {
    if (s.http.response == StdoutMode::kFile) {
      Status path =
          CheckOutputPath("http.response_path", s.http.response_path, s.output.tree, *fields);
      if (!path.ok()) return path;
    }
    return CheckHttpJob(s, nullptr, *fields);
  }
  if (s.job.handler == HandlerKind::kCommand) {
    // What every worker will compile, checked once before anything runs.
    Result<ArgvBuilder> argv = ArgvBuilder::Compile(s.command, *fields);
    if (!argv.ok()) return Status::Error("command.argv: " + argv.status().message());
    if (s.command.stdout_mode == StdoutMode::kFile) {
      Status path =
          CheckOutputPath("command.stdout_path", s.command.stdout_path, s.output.tree, *fields);
      if (!path.ok()) return path;
    }
    if (CwdIsTemplate(s.command)) {
      Result<Template> cwd = Template::Parse(s.command.cwd, *fields);
      if (!cwd.ok()) return Status::Error("command.cwd: " + cwd.status().message());
    }
    Status room = CheckCommandLineRoom(s.command);
    if (!room.ok()) return room;
    return CheckFixedCwd(s.command);
  }
  return Status::Ok();
}

}  // namespace

Status CheckJob(const Settings& s) {
  Status checked = CheckJobWith(s, nullptr);
  if (!checked.ok() || s.job.handler != HandlerKind::kPython) return checked;
  // Once, here rather than in CheckJobWith: an import takes a while.
  Result<std::string> worker = FindWorkerExe();
  if (!worker.ok()) return worker.status();
  return CheckPythonJob(s, *worker);
}

Result<JobInput> CheckJobInput(const Settings& s, const RunOptions& options) {
  JobInput input;
  auto kind = ResolveInputKind(s.input);
  if (!kind.ok()) return kind.status();
  input.kind = *kind;
  Status checked = CheckJob(s);
  if (!checked.ok()) return checked;
  if (!options.dry_run) {
    // Not for a dry run, which runs no command: its lines may be meant for
    // a machine that has the program.
    if (s.job.handler == HandlerKind::kCommand) {
      checked = CheckProgram(s.command);
      if (!checked.ok()) return checked;
    }
    checked = CheckOutputTree(s.output.tree, /*create=*/true);
    if (!checked.ok()) return checked;
  }
  input.items = options.items_file.empty() ? s.input.items : options.items_file;
  if (!options.retry_items.empty()) {
    // shoal retry: the failed records, with their indices, not the input.
    auto retry = OpenRetryItems(options.retry_items);
    if (!retry.ok()) return retry.status();
    input.source = std::move(*retry);
    if (!s.input.shard.empty()) {
      // A shard of a retry ('shoal retry RUN --shard K/N'): its share of
      // the items, by the same hash as a shard of the input.
      Result<ShardSpec> spec = ParseShard(s.input.shard);
      if (!spec.ok()) return spec.status();
      input.source = std::make_unique<ShardFilter>(std::move(input.source), *spec);
    }
    return input;
  }
  if (!input.items.empty() && input.items != "-") {
    input.items = std::filesystem::absolute(input.items).lexically_normal();
  }
  // Opening the source is what checks the input: its path and kind, the
  // globs, the items file, the shard.
  auto source = OpenItemSource(s, input.items);
  if (!source.ok()) return source.status();
  input.source = std::move(*source);
  if (s.input.header && s.input.field_names.empty()) {
    // The header is read now, before any worker starts: its names go to the
    // workers in the run's settings.toml (input.field_names), and the
    // templates are checked against them (standard input's are known only now).
    const std::string* header = input.items.empty() ? input.source->Header() : nullptr;
    if (!input.source->status().ok()) return input.source->status();
    static const std::string kEmptyInput;  // no header line: no names
    if (input.items.empty() && header == nullptr) header = &kEmptyInput;
    Status named = CheckJobWith(s, header);
    if (!named.ok()) return named;
    Result<FieldContext> fields = JobFields(s, header);
    if (!fields.ok()) return fields.status();
    if (!fields->names_known) {
      return Status::Error(
          "input.header = true, but with --items the names come from input.path's first line, "
          "which cannot be read (standard input, or no list): give them with input.field_names");
    }
    input.field_names = std::move(fields->names);
  }
  // What the run's settings.toml will hold (--items may name a non-UTF-8
  // path, a header non-UTF-8 names).
  Settings effective = s;
  effective.input.kind = input.kind;
  effective.input.items = input.items;
  if (effective.input.header && effective.input.field_names.empty()) {
    effective.input.field_names = input.field_names;
  }
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
    // Without the thread (a limit on threads) the walk is only slower.
    std::string why;
    input.source = ReadAhead::StartOrKeep(std::move(input.source), &why);
    if (!why.empty())
      std::fprintf(stderr, "shoal: %s; the walk runs on the master's thread\n", why.c_str());
  }
  return input;
}

}  // namespace shoal
