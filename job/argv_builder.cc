#include "job/argv_builder.h"

#include <string>
#include <utility>

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
  for (const std::string& text : command.argv) {
    Result<Template> t = Template::Parse(text, fields);
    if (!t.ok()) return t.status();
    line.fields_ |= t->fields();
    line.templates_.push_back(std::move(t).value());
  }
  return line;
}

Status ArgvBuilder::Build(const ItemPaths& paths, bool make_out_dir,
                          std::vector<std::string>* argv) const {
  const size_t n = form_ == Form::kArgv ? templates_.size() : 3;
  argv->resize(n);
  if (form_ == Form::kArgv) {
    for (size_t i = 0; i < n; ++i) {
      std::string& arg = (*argv)[i];
      arg.clear();
      Status s = templates_[i].AppendTo(paths, /*shell_quote=*/false, make_out_dir, &arg);
      if (!s.ok()) return s;
    }
  } else {
    (*argv)[0].assign("/bin/sh");
    (*argv)[1].assign("-c");
    std::string& script = (*argv)[2];
    if (form_ == Form::kItemAsScript) {
      script.assign(paths.item);
    } else {
      script.clear();
      Status s = templates_[0].AppendTo(paths, /*shell_quote=*/true, make_out_dir, &script);
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

}  // namespace shoal
