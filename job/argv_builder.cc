#include "job/argv_builder.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

extern char** environ;

namespace shoal {

Result<ArgvBuilder> ArgvBuilder::Compile(const CommandSettings& command,
                                         const FieldContext& fields) {
  ArgvBuilder line;
  if (command.argv.empty()) return line;
  if (command.shell && command.argv.size() != 1) {
    return Status::Error(
        "command.shell = true needs argv to be one string (the /bin/sh -c script), got " +
        std::to_string(command.argv.size()));
  }
  line.form_ = command.shell ? Form::kScript : Form::kArgv;
  line.fields_ = 0;
  line.batch_ = BatchOf(command);
  if (line.batches()) {
    line.max_args_ = command.max_args > 0 ? static_cast<size_t>(command.max_args) : SIZE_MAX;
    line.max_bytes_ = static_cast<size_t>(command.max_bytes);
  }
  bool per_item = false;
  for (const std::string& text : command.argv) {
    Result<Template> t = Template::Parse(text, fields);
    if (!t.ok()) return t.status();
    line.fields_ |= t->fields();
    per_item = per_item || t->per_item();
    line.templates_.push_back(std::move(t).value());
  }
  if (line.batches() && !per_item) {
    // As xargs and parallel: the items last, each an argument of its own.
    Result<Template> items = Template::Parse(command.shell ? command.argv[0] + " {}" : "{}");
    if (!items.ok()) return items.status();
    line.fields_ |= items->fields();
    if (command.shell) {
      line.templates_[0] = std::move(items).value();
    } else {
      line.templates_.push_back(std::move(items).value());
    }
  }
  return line;
}

size_t ArgvBuilder::ItemBytes(const ItemPaths& paths, std::string* scratch) const {
  size_t bytes = 0;
  for (const Template& t : templates_) {
    if (!t.per_item()) continue;
    scratch->clear();
    const Template::Span span = t.ItemSpan();
    const bool whole = batch_ == BatchMode::kContext;
    // An item that cannot be expanded fails its command line; what it
    // would have cost does not matter then.
    (void)t.AppendPieces(paths, whole ? 0 : span.begin, whole ? t.piece_count() : span.end,
                         form_ == Form::kScript, /*make_out_dir=*/false, scratch);
    // In a script an item is one more word of the one string: its space.
    bytes += form_ == Form::kScript ? scratch->size() + 1 : ArgBytes(scratch->size());
  }
  return bytes;
}

size_t ArgvBuilder::FixedBytes(const ItemPaths& paths, std::string* scratch) const {
  if (form_ != Form::kArgv) {
    // "/bin/sh" "-c" and the script's context.
    scratch->clear();
    const Template::Span span = templates_[0].ItemSpan();
    (void)templates_[0].AppendPieces(paths, 0, span.begin, true, false, scratch);
    (void)templates_[0].AppendPieces(paths, span.end, templates_[0].piece_count(), true, false,
                                     scratch);
    return ArgBytes(7) + ArgBytes(2) + ArgBytes(scratch->size()) + sizeof(char*);
  }
  size_t bytes = sizeof(char*);  // the argv's closing null pointer
  for (const Template& t : templates_) {
    scratch->clear();
    if (t.per_item()) {
      if (batch_ == BatchMode::kContext) continue;
      const Template::Span span = t.ItemSpan();
      (void)t.AppendPieces(paths, 0, span.begin, false, false, scratch);
      (void)t.AppendPieces(paths, span.end, t.piece_count(), false, false, scratch);
      bytes += scratch->size();
    } else {
      (void)t.AppendTo(paths, false, false, scratch);
      bytes += ArgBytes(scratch->size());
    }
  }
  return bytes;
}

size_t ArgvBuilder::Fit(std::span<const ItemPaths> items) const {
  if (!batches() || items.size() <= 1) return std::min<size_t>(items.size(), 1);
  const size_t most = std::min(items.size(), max_args_);
  std::string scratch;
  size_t bytes = FixedBytes(items[0], &scratch);
  for (size_t n = 0; n < most; ++n) {
    bytes += ItemBytes(items[n], &scratch);
    if (bytes > max_bytes_ && n > 0) return n;
  }
  return most;
}

Status ArgvBuilder::AppendWord(const Template& t, std::span<const ItemPaths> items,
                               bool make_out_dir, std::vector<std::string>* argv) const {
  auto next = [&]() -> std::string& {
    argv->emplace_back();
    return argv->back();
  };
  if (!t.per_item()) return t.AppendTo(items[0], false, make_out_dir, &next());
  if (batch_ != BatchMode::kJoin) {
    for (const ItemPaths& paths : items) {
      Status s = t.AppendTo(paths, false, make_out_dir, &next());
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  const Template::Span span = t.ItemSpan();
  for (size_t i = 0; i < items.size(); ++i) {
    std::string& arg = next();
    Status s =
        i == 0 ? t.AppendPieces(items[0], 0, span.begin, false, make_out_dir, &arg) : Status::Ok();
    if (s.ok()) s = t.AppendPieces(items[i], span.begin, span.end, false, make_out_dir, &arg);
    if (s.ok() && i + 1 == items.size()) {
      s = t.AppendPieces(items[i], span.end, t.piece_count(), false, make_out_dir, &arg);
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status ArgvBuilder::BuildBatch(std::span<const ItemPaths> items, bool make_out_dir,
                               std::vector<std::string>* argv) const {
  if (form_ == Form::kArgv && items.size() == 1 && batch_ != BatchMode::kJoin) {
    // One item, the common case: reuse the strings of the last argv.
    const size_t n = templates_.size();
    argv->resize(n);
    for (size_t i = 0; i < n; ++i) {
      std::string& arg = (*argv)[i];
      arg.clear();
      Status s = templates_[i].AppendTo(items[0], /*shell_quote=*/false, make_out_dir, &arg);
      if (!s.ok()) return s;
    }
  } else if (form_ == Form::kArgv) {
    argv->clear();
    for (const Template& t : templates_) {
      Status s = AppendWord(t, items, make_out_dir, argv);
      if (!s.ok()) return s;
    }
  } else {
    argv->resize(3);
    (*argv)[0].assign("/bin/sh");
    (*argv)[1].assign("-c");
    std::string& script = (*argv)[2];
    if (form_ == Form::kItemAsScript) {
      script.assign(items[0].item);
    } else {
      script.clear();
      const Template& t = templates_[0];
      const Template::Span span = t.ItemSpan();
      Status s = t.AppendPieces(items[0], 0, span.begin, true, make_out_dir, &script);
      for (size_t i = 0; i < items.size() && s.ok(); ++i) {
        if (i > 0) script.push_back(' ');
        s = t.AppendPieces(items[i], span.begin, span.end, true, make_out_dir, &script);
      }
      if (s.ok()) {
        s = t.AppendPieces(items.back(), span.end, t.piece_count(), true, make_out_dir, &script);
      }
      if (!s.ok()) return s;
    }
  }
  for (const std::string& a : *argv) {
    if (a.find('\0') != std::string::npos) {
      return Status::Error("an argument contains a NUL byte, which no process argument can carry");
    }
  }
  return Status::Ok();
}

Status CheckCommandLineRoom(const CommandSettings& command) {
  if (BatchOf(command) == BatchMode::kNone) return Status::Ok();
  const long arg_max = ::sysconf(_SC_ARG_MAX);
  if (arg_max <= 0) return Status::Ok();  // no limit known
  size_t env = sizeof(char*);
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (command.env.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
      env += entry.size() + 1 + sizeof(char*);
    }
  }
  for (const auto& [key, value] : command.env) env += key.size() + value.size() + 2 + sizeof(char*);
  // The program's path and what the kernel adds to the stack besides.
  constexpr size_t kSlack = 4096;
  const size_t limit = static_cast<size_t>(arg_max);
  const size_t room = limit > env + kSlack ? limit - env - kSlack : 0;
  if (static_cast<size_t>(command.max_bytes) <= room) return Status::Ok();
  return Status::Error("command.max_bytes = " + std::to_string(command.max_bytes) +
                       " does not fit: the system allows " + std::to_string(limit) +
                       " bytes of arguments and environment (ARG_MAX), the environment takes " +
                       std::to_string(env) + "; set command.max_bytes to at most " +
                       std::to_string(room));
}

}  // namespace shoal
