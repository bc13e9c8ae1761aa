// The one reader of settings: walks Keys() and reads each key that the
// (file + overrides) table holds into its Settings member, checking its type,
// its range and its own rules, then the combinations of keys. Every problem is
// collected, under the override that set the value when one did.
#include "config/reader.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <span>
#include <sstream>
#include <type_traits>

#include "config/capacity.h"
#include "config/halt.h"
#include "config/keys.h"
#include "config/load.h"
#include "config/toml_text.h"

namespace shoal {

namespace fs = std::filesystem;

namespace {

class SettingsReader {
 public:
  SettingsReader(const toml::table& root, const Origins& origins, fs::path base_dir, fs::path cwd,
                 Problems* problems)
      : root_(root),
        origins_(origins),
        base_dir_(std::move(base_dir)),
        cwd_(std::move(cwd)),
        problems_(problems) {}

  void Read(Settings* s) {
    for (const SectionSpec& section : Sections()) CheckKeys(section.name);
    for (const KeySpec& spec : Keys()) ReadKey(spec, s);
    CrossCheck(*s);
  }

 private:
  // One key into its member, by the member's type.
  void ReadKey(const KeySpec& spec, Settings* s) {
    const std::string_view section = spec.section, key = spec.key;
    std::visit(
        [&](auto accessor) {
          auto& member = accessor(*s);
          using T = std::remove_reference_t<decltype(member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            const bool read = spec.kind == Kind::kPath ? ReadPath(spec, &member)
                                                       : ReadString(section, key, &member);
            if (read && spec.rules.check != nullptr) {
              const std::string dotted = std::string(section) + "." + std::string(key);
              const Complaint c = spec.rules.check(member, OriginOf(dotted) != nullptr);
              if (!c.what.empty()) Fail(section, key, c.what, c.fix);
            }
          } else if constexpr (std::is_same_v<T, int>) {
            ReadInt(section, key, spec.rules.min, spec.rules.max, &member);
          } else if constexpr (std::is_same_v<T, bool>) {
            ReadBool(section, key, &member);
          } else if constexpr (std::is_same_v<T, Millis>) {
            ReadDuration(section, key, &member);
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            ReadStringArray(section, key, &member);
          } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
            ReadTable(section, key, spec.kind == Kind::kScalarTable, &member);
          } else if constexpr (std::is_same_v<T, JobSettings>) {
            if (spec.kind == Kind::kWorkers) {
              ReadWorkers(&member);
            } else {
              ReadMaxFailures(&member);
            }
          } else {
            static_assert(std::is_enum_v<T>, "a Field alternative without a reader");
            size_t index = 0;
            if (ReadEnum(section, key, Choices(spec), &index)) member = static_cast<T>(index);
          }
        },
        spec.field);
  }

  // command.batch: one command line runs many items, so what is per item
  // in the command itself (its stdout file, log, directory) has no meaning.
  void CheckBatch(const Settings& s) {
    const char* key = s.command.batch != BatchMode::kNone ? "batch" : "max_args";
    const std::string what = "command." + std::string(key) + " runs many items in one command line";
    if (s.command.shell && s.command.batch == BatchMode::kContext) {
      Fail("command", key,
           "command.batch = \"context\" repeats argv words, and with shell = true argv is one "
           "string",
           "use batch = \"join\" (the items shell-quoted, one after another) or shell = false");
    } else if (s.command.stdout_mode == StdoutMode::kFile) {
      Fail("command", key, what + ": command.stdout = \"file\" has no one item to name it by",
           "use stdout = \"result\" (the output goes with the first item) or \"discard\"");
    } else if (s.output.item_logs) {
      Fail("command", key, what + ": output.item_logs has no one item to name the log by",
           "set item_logs = false under [output]");
    } else if (s.command.cwd.find('{') != std::string::npos) {
      Fail("command", key, what + ": command.cwd " + Quote(s.command.cwd) + " is per item",
           "give command.cwd a fixed directory, or leave batch = \"none\"");
    }
  }

  // Combinations that are each valid alone but cannot work together.
  void CrossCheck(const Settings& s) {
    if (s.job.handler == HandlerKind::kPlugin && s.plugin.library.empty()) {
      Fail("job", "handler", "job.handler = \"plugin\" needs plugin.library",
           "set library = \"./libmyjob.so\" under [plugin]");
    }
    if (s.job.handler == HandlerKind::kPython && s.python.module.empty()) {
      Fail("job", "handler", "job.handler = \"python\" needs python.module",
           "set module = \"job.py\" under [python] (shoal init --handler python writes one)");
    }
    if (s.job.handler == HandlerKind::kHttp && s.http.url.empty()) {
      Fail("job", "handler", "job.handler = \"http\" needs http.url",
           "set url = \"https://api.example/customers/{item}\" under [http]");
    }
    if (!s.http.body.empty() && !s.http.body_file.empty()) {
      Fail("http", "body_file", "http.body and http.body_file are both set",
           "keep one: the body itself, or the file that holds it");
    }
    if (s.command.shell && s.command.argv.size() > 1) {
      Fail("command", "shell",
           "command.shell = true takes argv as one command line, got " +
               std::to_string(s.command.argv.size()) + " strings",
           "write argv = [\"" + s.command.argv[0] + " ...\"] or set shell = false");
    }
    if (BatchOf(s.command) != BatchMode::kNone) CheckBatch(s);
    if (s.command.stdout_mode == StdoutMode::kFile) {
      static constexpr std::string_view kPerItem[] = {"{item}", "{path}",  "{rel}", "{name}",
                                                      "{stem}", "{index}", "{}",    "{.}",
                                                      "{/}",    "{/.}",    "{#}"};
      const std::string& p = s.command.stdout_path;
      const bool per_item = std::any_of(std::begin(kPerItem), std::end(kPerItem),
                                        [&](std::string_view ph) { return p.find(ph) != p.npos; });
      if (!per_item) {
        Fail("command", Find("command", "stdout_path") ? "stdout_path" : "stdout",
             "command.stdout = \"file\" with stdout_path " + Quote(p) +
                 " writes every item's output to the same file",
             "put a placeholder in stdout_path, e.g. \"{out}/{name}.out\"");
      }
    }
    const Result<HaltRule> halt = ParseHalt(s.job.halt);
    if ((s.job.max_failures > 0 || s.job.max_failures_percent > 0) && halt.ok() &&
        halt->when != HaltWhen::kNever) {
      Fail("job", "halt",
           "job.max_failures and job.halt are both set; max_failures = N is the older spelling "
           "of halt = \"soon,fail=N\"",
           "keep one of the two (job.halt says all that max_failures does, and \"now\" too)");
    }
    if (s.output.records == RecordDetail::kFailures && s.output.format == OutputFormat::kTsv) {
      Fail("output", "records",
           "output.records = \"failures\" records succeeded items as JSON lines, which "
           "output.format = \"tsv\" cannot hold",
           "set format = \"jsonl\" under [output], or records = \"all\"");
    }
    if (s.output.compress != Compression::kNone && s.output.format == OutputFormat::kTsv &&
        s.job.handler == HandlerKind::kSha256) {
      Fail("output", "compress",
           "the sha256 handler's results.tsv is sha256sum's format, kept plain so that "
           "sha256sum -c reads it, line for line with times.tsv",
           "set format = \"jsonl\" under [output] to compress the records, or compress = \"none\"");
    }
    if (!s.input.require.empty() && s.input.select != Select::kDirs) {
      Fail("input", "require", "input.require only applies to directories",
           "set select = \"dirs\" under [input], or remove require");
    }
  }

  // Unknown keys inside a known section.
  void CheckKeys(std::string_view section) {
    const toml::node* node = root_.get(section);
    if (node == nullptr || !node->is_table()) return;
    for (auto&& [key, value] : *node->as_table()) {
      if (FindKey(section, key.str()) != nullptr) continue;
      const std::string dotted = std::string(section) + "." + std::string(key.str());
      const Loc loc = LocOf(dotted, key.source());
      const std::string guess = DidYouMean(key.str(), KeysOf(section));
      problems_->Add(loc, "unknown key '" + dotted + "'",
                     guess.empty() ? "the keys of [" + std::string(section) + "] are " +
                                         Join(KeysOf(section), ", ")
                                   : "did you mean '" + guess + "'?");
    }
  }

  const toml::node* Find(std::string_view section, std::string_view key) const {
    const toml::node* s = root_.get(section);
    if (s == nullptr || !s->is_table()) return nullptr;
    return s->as_table()->get(key);
  }

  const OriginInfo* OriginOf(const std::string& dotted) const {
    // The longest set prefix wins: "command.env.A" before "command.env".
    for (std::string key = dotted;;) {
      auto it = origins_.find(key);
      if (it != origins_.end()) return &it->second;
      const size_t dot = key.rfind('.');
      if (dot == std::string::npos) return nullptr;
      key.resize(dot);
    }
  }

  Loc LocOf(const std::string& dotted, const toml::source_region& region) const {
    const OriginInfo* origin = OriginOf(dotted);
    return origin != nullptr ? Problems::At(*origin) : problems_->At(region);
  }

  void Fail(std::string_view section, std::string_view key, const std::string& what,
            const std::string& fix) {
    const std::string dotted = std::string(section) + "." + std::string(key);
    const toml::node* node = Find(section, key);
    problems_->Add(node != nullptr ? LocOf(dotted, node->source()) : LocOf(dotted, {}), what, fix);
  }

  // "write e.g. workers = 8" in a file, "e.g. job.workers=8" for an override.
  std::string Example(std::string_view section, std::string_view key) const {
    const KeySpec* spec = FindKey(section, key);
    const std::string dotted = std::string(section) + "." + std::string(key);
    if (OriginOf(dotted) != nullptr) {
      std::string v(spec->example);
      if (spec->kind == Kind::kString || spec->kind == Kind::kPath ||
          spec->kind == Kind::kDuration || spec->kind == Kind::kEnum) {
        v = v.substr(1, v.size() - 2);
      }
      return "write e.g. " + dotted + "=" + v;
    }
    return "write e.g. " + std::string(key) + " = " + std::string(spec->example);
  }

  void WrongType(std::string_view section, std::string_view key, const toml::node& node,
                 const std::string& wanted) {
    Fail(section, key,
         std::string(section) + "." + std::string(key) + " must be " + wanted + ", got " +
             Shown(node),
         Example(section, key));
  }

  bool ReadString(std::string_view section, std::string_view key, std::string* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return false;
    if (!node->is_string()) {
      WrongType(section, key, *node, "a string");
      return false;
    }
    *out = node->as_string()->get();
    return true;
  }

  void ReadBool(std::string_view section, std::string_view key, bool* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    if (!node->is_boolean()) return WrongType(section, key, *node, "true or false");
    *out = node->as_boolean()->get();
  }

  void ReadInt(std::string_view section, std::string_view key, int64_t lo, int64_t hi, int* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    if (!node->is_integer()) return WrongType(section, key, *node, "an integer");
    const int64_t v = node->as_integer()->get();
    if (v < lo || v > hi) {
      const std::string dotted = std::string(section) + "." + std::string(key);
      const std::string range = hi != INT_MAX
                                    ? "between " + std::to_string(lo) + " and " + std::to_string(hi)
                                : v < lo ? std::to_string(lo) + " or more"
                                         : "at most " + std::to_string(hi);
      return Fail(section, key, dotted + " must be " + range + ", got " + std::to_string(v),
                  Example(section, key));
    }
    *out = static_cast<int>(v);
  }

  void ReadDuration(std::string_view section, std::string_view key, Millis* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    if (!node->is_string()) return WrongType(section, key, *node, "a duration string");
    Result<Millis> d = ParseDuration(node->as_string()->get());
    if (!d.ok()) {
      // ParseDuration's message already says how to fix it.
      const std::string dotted = std::string(section) + "." + std::string(key);
      const std::string& m = d.status().message();
      const size_t semi = m.find("; ");
      return Fail(section, key, dotted + ": " + m.substr(0, semi),
                  semi == std::string::npos ? Example(section, key) : m.substr(semi + 2));
    }
    *out = *d;
  }

  // `names` are an enum's, indexed by its value; *index gets the one read.
  bool ReadEnum(std::string_view section, std::string_view key,
                std::span<const std::string_view> names, size_t* index) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return false;
    std::vector<std::string> accepted(names.begin(), names.end());
    const std::string dotted = std::string(section) + "." + std::string(key);
    if (!node->is_string()) {
      WrongType(section, key, *node, "one of \"" + Join(accepted, "\", \"") + "\"");
      return false;
    }
    const std::string& v = node->as_string()->get();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == v) {
        *index = i;
        return true;
      }
    }
    const std::string guess = DidYouMean(v, accepted);
    Fail(section, key,
         dotted + " must be one of \"" + Join(accepted, "\", \"") + "\", got " + Quote(v),
         guess.empty() ? Example(section, key) : "did you mean " + Quote(guess) + "?");
    return false;
  }

  void ReadStringArray(std::string_view section, std::string_view key,
                       std::vector<std::string>* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    if (!node->is_array()) return WrongType(section, key, *node, "an array of strings");
    std::vector<std::string> values;
    const std::string dotted = std::string(section) + "." + std::string(key);
    size_t i = 0;
    for (const toml::node& element : *node->as_array()) {
      if (!element.is_string()) {
        problems_->Add(
            LocOf(dotted, element.source()),
            dotted + "[" + std::to_string(i) + "] must be a string, got " + Shown(element),
            "quote it, " + Example(section, key));
        return;
      }
      values.push_back(element.as_string()->get());
      ++i;
    }
    *out = std::move(values);
  }

  // command.env takes strings only; plugin.config any scalar, kept as text.
  void ReadTable(std::string_view section, std::string_view key, bool scalars,
                 std::map<std::string, std::string>* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    if (!node->is_table()) {
      return WrongType(section, key, *node, scalars ? "a table" : "a table of strings");
    }
    std::map<std::string, std::string> values;
    const std::string dotted = std::string(section) + "." + std::string(key);
    bool ok = true;
    for (auto&& [name, value] : *node->as_table()) {
      const std::string sub = dotted + "." + std::string(name.str());
      const Loc loc = LocOf(sub, value.source());
      if (!scalars && name.str().find('=') != std::string_view::npos) {
        problems_->Add(LocOf(sub, name.source()),
                       "environment variable name " + Quote(name.str()) + " contains '='",
                       "remove the '=' from the name");
        ok = false;
      } else if (const auto* s = value.as_string()) {
        values[std::string(name.str())] = s->get();
      } else if (!scalars) {
        problems_->Add(loc, sub + " must be a string, got " + Shown(value),
                       "quote it, e.g. " + std::string(name.str()) + " = \"1\"");
        ok = false;
      } else if (value.is_array() || value.is_table()) {
        problems_->Add(loc, sub + " must be a string, number or boolean, got " + Shown(value),
                       "pass structured values as one string, e.g. \"a,b,c\"");
        ok = false;
      } else if (const auto* d = value.as_floating_point()) {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d->get());
        values[std::string(name.str())] = std::string(buf, end);
      } else {
        std::ostringstream os;
        value.visit([&](const auto& v) { os << v; });
        values[std::string(name.str())] = os.str();
      }
    }
    if (ok) *out = std::move(values);
  }

  // A count (8), or relative to the online cores ("50%", "+2", "-1").
  void ReadWorkers(JobSettings* job) {
    const toml::node* node = Find("job", "workers");
    if (node == nullptr) return;
    if (const auto* i = node->as_integer()) {
      if (i->get() < 0 || i->get() > kMaxWorkers) {
        // -1 would be one fewer than the cores to a parallel user: say how.
        const std::string hint = i->get() < 0 ? " (fewer than the cores is a string: \"" +
                                                    std::to_string(i->get()) + "\")"
                                              : "";
        return Fail("job", "workers",
                    "job.workers must be between 0 and " + std::to_string(kMaxWorkers) + ", got " +
                        std::to_string(i->get()) + hint,
                    Example("job", "workers"));
      }
      job->workers = static_cast<int>(i->get());
      job->workers_share.clear();
      return;
    }
    const std::string fix = OriginOf("job.workers") != nullptr
                                ? "write e.g. -j 8, -j 50%, -j +2 or -j -1"
                                : "write e.g. workers = 8, \"50%\", \"+2\" or \"-1\"";
    const auto* s = node->as_string();
    if (s == nullptr) {
      return Fail("job", "workers",
                  "job.workers must be a count or a share of the cores, got " + Shown(*node), fix);
    }
    if (Status st = CheckWorkerShare(s->get()); !st.ok()) {
      return Fail("job", "workers", st.message(), fix);
    }
    job->workers = 0;
    job->workers_share = s->get();
  }

  // A count (10) or a percentage of the items seen so far ("5%").
  void ReadMaxFailures(JobSettings* job) {
    const toml::node* node = Find("job", "max_failures");
    if (node == nullptr) return;
    const std::string fix = OriginOf("job.max_failures") != nullptr
                                ? "write e.g. job.max_failures=10 or job.max_failures=5%"
                                : "write e.g. max_failures = 10 or max_failures = \"5%\"";
    if (const auto* i = node->as_integer()) {
      if (i->get() < 0) {
        return Fail("job", "max_failures",
                    "job.max_failures must be 0 or more, got " + std::to_string(i->get()), fix);
      }
      job->max_failures = i->get();
      job->max_failures_percent = 0;
      return;
    }
    const auto* s = node->as_string();
    const std::string v = s != nullptr ? s->get() : "";
    double percent = 0;
    bool parsed = false;
    if (v.size() >= 2 && v.back() == '%' && v.find_first_not_of("0123456789.") == v.size() - 1) {
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size() - 1, percent);
      parsed = ec == std::errc() && end == v.data() + v.size() - 1;
    }
    if (!parsed) {
      return Fail("job", "max_failures",
                  "job.max_failures must be a count or a percentage, got " + Shown(*node), fix);
    }
    if (!(percent > 0 && percent <= 100)) {
      return Fail("job", "max_failures",
                  "job.max_failures percentage must be above 0% and at most 100%, got " + Quote(v),
                  fix);
    }
    job->max_failures = 0;
    job->max_failures_percent = percent;
  }

  // A path from the file (or a default) is relative to the file's directory,
  // one from an override to the current directory. Lexical only: symlinks are
  // the user's business. Empty stays empty, and so do "-" and "{dir}..." for
  // the keys whose rules allow them. Returns whether the key was there and
  // read; a default is resolved too.
  bool ReadPath(const KeySpec& spec, std::string* out) {
    const std::string_view section = spec.section, key = spec.key;
    const bool read = ReadString(section, key, out);
    const std::string& v = *out;
    if (v.empty() || (v == "-" && spec.rules.dash_is_stdin) ||
        (v[0] == '{' && spec.rules.per_item) ||
        (spec.rules.module_name && v.find('/') == std::string::npos && !v.ends_with(".py"))) {
      return read;
    }
    const std::string dotted = std::string(section) + "." + std::string(key);
    fs::path p(v);
    if (p.is_relative()) p = (OriginOf(dotted) != nullptr ? cwd_ : base_dir_) / p;
    std::string s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    *out = s;
    return read;
  }

  const toml::table& root_;
  const Origins& origins_;
  const fs::path base_dir_;
  const fs::path cwd_;
  Problems* problems_;
};

}  // namespace

void ReadSettings(const toml::table& root, const Origins& origins, const fs::path& base_dir,
                  const fs::path& cwd, Problems* problems, Settings* settings) {
  SettingsReader(root, origins, base_dir, cwd, problems).Read(settings);
}

}  // namespace shoal
