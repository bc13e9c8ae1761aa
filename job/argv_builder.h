// The argv one item runs, built the same way by the command handler in each
// worker and by the master (its check before a run, and --dry-run's printing),
// so that what the master shows or rejects is exactly what a worker would run.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "config/settings.h"
#include "job/item_paths.h"
#include "job/template.h"

namespace shoal {

// The argv templates expanded (shell = false), one script with shell-quoted
// values for /bin/sh -c (shell = true), or the item itself as a command line
// (empty argv). The templates are parsed once, by Compile; Build runs per item
// and is const: one ArgvBuilder serves every item of a process.
class ArgvBuilder {
 public:
  // Fails on a bad template, or shell = true with more than one argv string.
  // `fields` says what {1} {2} ... and {name} may be (FieldContextOf).
  static Result<ArgvBuilder> Compile(const CommandSettings& command,
                                     const FieldContext& fields = {});
  ArgvBuilder() = default;

  // The ItemPaths members Build reads (a PathField mask).
  unsigned fields() const { return fields_; }
  // Fills *argv, reusing its strings. With make_out_dir false, {out} is named
  // but not created (--dry-run). Fails on an argument holding a NUL byte.
  Status Build(const ItemPaths& paths, bool make_out_dir, std::vector<std::string>* argv) const;

 private:
  enum class Form { kItemAsScript, kScript, kArgv };
  Form form_ = Form::kItemAsScript;
  std::vector<Template> templates_;
  unsigned fields_ = kFieldItem;
};

}  // namespace shoal
