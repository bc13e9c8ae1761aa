// settings.toml -> Settings. The file is parsed by TOML++ into a table, the
// command-line overrides are written into that table, and only then is the
// table validated and read: one reader for both sources, with an origin map so
// that a bad override is reported under the option that set it.
#include "config/load.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <sstream>
#include <tuple>

namespace shoal {
namespace {

namespace fs = std::filesystem;

// What a key holds; decides the type check, and how an override's text is
// taken (a raw "8" for an integer key becomes 8, "data" for a string key
// stays "data" even if it would parse as TOML).
enum class Kind {
  kString,
  kInteger,
  kBoolean,
  kDuration,
  kEnum,
  kStringArray,
  kStringTable,
  kScalarTable,
  kCountOrPercent,
};

struct KeySpec {
  std::string_view section;
  std::string_view key;
  Kind kind;
  std::string_view example;  // a TOML value, shown in "how to fix it"
};

// Every key, in SPEC.md's order (the order of `shoal check` and of messages).
constexpr KeySpec kKeys[] = {
    {"job", "name", Kind::kString, "\"checksums\""},
    {"job", "workers", Kind::kInteger, "8"},
    {"job", "handler", Kind::kEnum, "\"command\""},
    {"job", "timeout", Kind::kDuration, "\"2m\""},
    {"job", "retries", Kind::kInteger, "2"},
    {"job", "retry_delay", Kind::kDuration, "\"5s\""},
    {"job", "max_failures", Kind::kCountOrPercent, "10"},
    {"job", "grace", Kind::kDuration, "\"10s\""},
    {"input", "path", Kind::kString, "\"data\""},
    {"input", "kind", Kind::kEnum, "\"auto\""},
    {"input", "recursive", Kind::kBoolean, "true"},
    {"input", "max_depth", Kind::kInteger, "2"},
    {"input", "select", Kind::kEnum, "\"files\""},
    {"input", "require", Kind::kString, "\"CMakeLists.txt\""},
    {"input", "include", Kind::kStringArray, "[\"*.log\"]"},
    {"input", "exclude", Kind::kStringArray, "[\".git\"]"},
    {"input", "follow_links", Kind::kBoolean, "false"},
    {"input", "separator", Kind::kEnum, "\"newline\""},
    {"input", "skip_header", Kind::kBoolean, "true"},
    {"input", "column", Kind::kInteger, "1"},
    {"input", "items", Kind::kString, "\"failed.txt\""},
    {"input", "shard", Kind::kString, "\"0/4\""},
    {"command", "argv", Kind::kStringArray, "[\"gzip\", \"-kf\", \"{path}\"]"},
    {"command", "shell", Kind::kBoolean, "false"},
    {"command", "stdout", Kind::kEnum, "\"result\""},
    {"command", "stdout_path", Kind::kString, "\"{out}/{name}.out\""},
    {"command", "env", Kind::kStringTable, "{ LC_ALL = \"C\" }"},
    {"command", "cwd", Kind::kString, "\"/tmp\""},
    {"plugin", "library", Kind::kString, "\"./libmyjob.so\""},
    {"plugin", "config", Kind::kScalarTable, "{ level = 3 }"},
    {"output", "dir", Kind::kString, "\"runs\""},
    {"output", "format", Kind::kEnum, "\"jsonl\""},
    {"output", "order", Kind::kEnum, "\"completion\""},
    {"output", "item_logs", Kind::kBoolean, "false"},
    {"output", "status_every", Kind::kDuration, "\"30s\""},
    {"queue", "slots", Kind::kInteger, "1024"},
    {"queue", "batch", Kind::kInteger, "16"},
};

constexpr std::string_view kSections[] = {"job", "input", "command", "plugin", "output", "queue"};

const KeySpec* FindKey(std::string_view section, std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (spec.section == section && spec.key == key) return &spec;
  }
  return nullptr;
}

bool IsSection(std::string_view name) {
  return std::find(std::begin(kSections), std::end(kSections), name) != std::end(kSections);
}

std::vector<std::string> KeysOf(std::string_view section) {
  std::vector<std::string> keys;
  for (const KeySpec& spec : kKeys) {
    if (spec.section == section) keys.emplace_back(spec.key);
  }
  return keys;
}

std::string Join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

constexpr EnumName<HandlerKind> kHandlers[] = {{HandlerKind::kCommand, "command"},
                                               {HandlerKind::kSha256, "sha256"},
                                               {HandlerKind::kPlugin, "plugin"}};
constexpr EnumName<InputKind> kInputKinds[] = {
    {InputKind::kAuto, "auto"}, {InputKind::kTree, "tree"}, {InputKind::kList, "list"}};
constexpr EnumName<Select> kSelects[] = {{Select::kFiles, "files"}, {Select::kDirs, "dirs"}};
constexpr EnumName<Separator> kSeparators[] = {{Separator::kNewline, "newline"},
                                               {Separator::kNul, "nul"}};
constexpr EnumName<StdoutMode> kStdoutModes[] = {{StdoutMode::kResult, "result"},
                                                 {StdoutMode::kFile, "file"},
                                                 {StdoutMode::kDiscard, "discard"}};
constexpr EnumName<OutputFormat> kFormats[] = {{OutputFormat::kJsonl, "jsonl"},
                                               {OutputFormat::kTsv, "tsv"}};
constexpr EnumName<OutputOrder> kOrders[] = {{OutputOrder::kCompletion, "completion"},
                                             {OutputOrder::kInput, "input"}};

template <typename E>
std::string_view NameOf(std::span<const EnumName<E>> names, E value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return names.front().name;
}

std::string Quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A value as the user wrote it, for "got ..." in messages.
std::string Shown(const toml::node& node) {
  if (const auto* s = node.as_string()) return std::string(TypeName(node)) + " " + Quote(s->get());
  if (node.is_array() || node.is_table()) return TypeName(node);
  std::ostringstream os;
  node.visit([&](const auto& v) { os << v; });
  return std::string(TypeName(node)) + " " + os.str();
}

// Where a problem is, and how problems sort: file positions first, in file
// order, then overrides in command-line order.
struct Loc {
  int group = 0;  // 0 file, 1 override
  uint64_t line = 0;
  uint64_t column = 0;
  std::string text;  // "settings.toml:3:11" or "--set job.workers=x"
};

struct Problem {
  Loc loc;
  std::string message;
};

struct OriginInfo {
  std::string text;
  size_t index;
};

// Dotted key ("job.workers", "command.env.PATH") -> the override that set it.
using Origins = std::map<std::string, OriginInfo>;

class Problems {
 public:
  explicit Problems(std::string source) : source_(std::move(source)) {}

  Loc At(const toml::source_region& region) const {
    Loc loc;
    loc.line = region.begin.line;
    loc.column = region.begin.column;
    loc.text = source_;
    if (loc.line > 0) {
      loc.text += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
    }
    return loc;
  }
  static Loc At(const OriginInfo& origin) { return Loc{1, origin.index, 0, origin.text}; }

  void Add(const Loc& loc, const std::string& what, const std::string& fix) {
    problems_.push_back(Problem{loc, loc.text + ": " + what + "; " + fix});
  }

  Status ToStatus() {
    if (problems_.empty()) return Status::Ok();
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.loc.group, a.loc.line, a.loc.column) <
             std::tie(b.loc.group, b.loc.line, b.loc.column);
    });
    std::string all;
    for (const Problem& p : problems_) {
      if (!all.empty()) all += "\n";
      all += p.message;
    }
    return Status::Error(all);
  }

 private:
  std::string source_;
  std::vector<Problem> problems_;
};

// Sections must be tables and names must be known; a key written above the
// first section header gets pointed to its section.
void CheckSections(const toml::table& root, Problems* problems) {
  std::vector<std::string> sections(std::begin(kSections), std::end(kSections));
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    const Loc loc = problems->At(key.source());
    if (IsSection(name)) {
      if (!node.is_table()) {
        problems->Add(loc, "'" + name + "' must be a section, got " + TypeName(node),
                      "write [" + name + "] on a line of its own, then its keys below it");
      }
      continue;
    }
    if (node.is_table()) {
      const std::string guess = DidYouMean(name, sections);
      problems->Add(loc, "unknown section [" + name + "]",
                    guess.empty() ? "the sections are [" + Join(sections, "], [") + "]"
                                  : "did you mean '" + guess + "'?");
      continue;
    }
    std::string home;
    for (const KeySpec& spec : kKeys) {
      if (spec.key == name) home = spec.section;
    }
    if (!home.empty()) {
      problems->Add(loc, "key '" + name + "' is outside any section",
                    "move it under [" + home + "]");
    } else {
      problems->Add(loc, "unknown key '" + name + "' outside any section",
                    "keys belong to the sections [" + Join(sections, "], [") + "]");
    }
  }
}

bool LooksLikeInteger(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// Writes one override into the parsed file's table, so that one reader
// validates both. Key errors are reported here; value errors by the reader.
void ApplyOverride(const Override& o, size_t index, toml::table* root, Origins* origins,
                   Problems* problems) {
  OriginInfo origin{o.origin.empty() ? "--set " + o.key + "=" + o.value : o.origin, index};
  const Loc loc = Problems::At(origin);
  std::vector<std::string> sections(std::begin(kSections), std::end(kSections));

  const size_t dot = o.key.find('.');
  if (dot == std::string::npos) {
    std::string home;
    for (const KeySpec& spec : kKeys) {
      if (spec.key == o.key) home = std::string(spec.section) + "." + o.key;
    }
    problems->Add(loc, "'" + o.key + "' is not a SECTION.KEY name",
                  home.empty() ? "write e.g. job.workers=8" : "did you mean '" + home + "'?");
    return;
  }
  const std::string section = o.key.substr(0, dot);
  const size_t dot2 = o.key.find('.', dot + 1);
  const std::string name = o.key.substr(dot + 1, dot2 == std::string::npos ? dot2 : dot2 - dot - 1);
  const std::string sub = dot2 == std::string::npos ? "" : o.key.substr(dot2 + 1);
  if (!IsSection(section)) {
    const std::string guess = DidYouMean(section, sections);
    problems->Add(loc, "unknown section '" + section + "'",
                  guess.empty() ? "the sections are " + Join(sections, ", ")
                                : "did you mean '" + guess + "'?");
    return;
  }
  const KeySpec* spec = FindKey(section, name);
  if (spec == nullptr) {
    const std::string guess = DidYouMean(name, KeysOf(section));
    problems->Add(loc, "unknown key '" + section + "." + name + "'",
                  guess.empty() ? "the keys of [" + section + "] are " + Join(KeysOf(section), ", ")
                                : "did you mean '" + section + "." + guess + "'?");
    return;
  }
  const bool table_key = spec->kind == Kind::kStringTable || spec->kind == Kind::kScalarTable;
  if (dot2 != std::string::npos && (!table_key || sub.empty())) {
    problems->Add(loc, "'" + o.key + "' names no key",
                  table_key ? "write " + section + "." + name + ".NAME=VALUE"
                            : "write " + section + "." + name + "=VALUE");
    return;
  }

  toml::node* section_node = root->get(section);
  if (section_node == nullptr) {
    section_node = root->insert_or_assign(section, toml::table{}).first->second.as_table();
  }
  toml::table* target = section_node->as_table();
  if (target == nullptr) return;  // "'job' must be a section" is reported already
  std::string key = name;
  if (!sub.empty()) {
    toml::node* inner = target->get(name);
    if (inner == nullptr || !inner->is_table()) {
      inner = &target->insert_or_assign(name, toml::table{}).first->second;
    }
    target = inner->as_table();
    key = sub;
  }

  // How the text is taken: a raw value is a string, except that an integer key
  // takes a number (-j 8); --set text is TOML when it parses as one, but a
  // string key keeps the text as typed (an input directory named 2024).
  const bool string_key = spec->kind == Kind::kString || spec->kind == Kind::kDuration ||
                          spec->kind == Kind::kEnum ||
                          (!sub.empty() && spec->kind == Kind::kStringTable);
  int64_t number = 0;
  bool placed = false;
  if (o.raw) {
    if (spec->kind == Kind::kInteger && LooksLikeInteger(o.value, &number)) {
      target->insert_or_assign(key, number);
      placed = true;
    }
  } else {
    try {
      toml::table parsed = toml::parse("v = " + o.value, std::string_view(origin.text));
      toml::node* v = parsed.get("v");
      if (parsed.size() == 1 && v != nullptr && !(string_key && !v->is_string())) {
        v->visit([&](auto& value) { target->insert_or_assign(key, std::move(value)); });
        placed = true;
      }
    } catch (const toml::parse_error&) {
      // Not TOML: the text itself is the value.
    }
  }
  if (!placed) target->insert_or_assign(key, o.value);

  const std::string dotted = o.key;
  if (sub.empty()) {
    std::erase_if(*origins,
                  [&](const auto& entry) { return entry.first.starts_with(dotted + "."); });
  }
  (*origins)[dotted] = origin;
}

// Reads the (file + overrides) table into Settings, reporting every problem.
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
    for (std::string_view section : kSections) CheckKeys(section);
    ReadJob(&s->job);
    ReadInput(&s->input);
    ReadCommand(&s->command);
    ReadPlugin(&s->plugin);
    ReadOutput(&s->output);
    ReadQueue(&s->queue);
    CrossCheck(*s);
  }

 private:
  void ReadJob(JobSettings* job) {
    if (ReadString("job", "name", &job->name)) CheckJobName(job->name);
    ReadInt("job", "workers", 0, 4096, &job->workers);
    ReadEnum<HandlerKind>("job", "handler", kHandlers, &job->handler);
    ReadDuration("job", "timeout", &job->timeout);
    ReadInt("job", "retries", 0, INT_MAX, &job->retries);
    ReadDuration("job", "retry_delay", &job->retry_delay);
    ReadMaxFailures(job);
    ReadDuration("job", "grace", &job->grace);
  }

  void ReadInput(InputSettings* in) {
    ReadPath("input", "path", &in->path);
    if (in->path.empty()) {
      Fail("input", "path", "input.path is empty",
           "name a directory, a list file, or \"-\" for standard input");
    }
    ReadEnum<InputKind>("input", "kind", kInputKinds, &in->kind);
    ReadBool("input", "recursive", &in->recursive);
    ReadInt("input", "max_depth", 0, INT_MAX, &in->max_depth);
    ReadEnum<Select>("input", "select", kSelects, &in->select);
    ReadString("input", "require", &in->require);
    ReadStringArray("input", "include", &in->include);
    ReadStringArray("input", "exclude", &in->exclude);
    ReadBool("input", "follow_links", &in->follow_links);
    ReadEnum<Separator>("input", "separator", kSeparators, &in->separator);
    ReadBool("input", "skip_header", &in->skip_header);
    ReadInt("input", "column", 0, INT_MAX, &in->column);
    ReadPath("input", "items", &in->items);
    if (ReadString("input", "shard", &in->shard)) CheckShard(in->shard);
  }

  void ReadCommand(CommandSettings* cmd) {
    ReadStringArray("command", "argv", &cmd->argv);
    ReadBool("command", "shell", &cmd->shell);
    ReadEnum<StdoutMode>("command", "stdout", kStdoutModes, &cmd->stdout_mode);
    ReadString("command", "stdout_path", &cmd->stdout_path);
    ReadTable("command", "env", /*scalars=*/false, &cmd->env);
    ReadPath("command", "cwd", &cmd->cwd);
  }

  void ReadPlugin(PluginSettings* plugin) {
    ReadPath("plugin", "library", &plugin->library);
    ReadTable("plugin", "config", /*scalars=*/true, &plugin->config);
  }

  void ReadOutput(OutputSettings* out) {
    ReadPath("output", "dir", &out->dir);
    if (out->dir.empty()) {
      Fail("output", "dir", "output.dir is empty", "name the directory runs are written to");
    }
    ReadEnum<OutputFormat>("output", "format", kFormats, &out->format);
    ReadEnum<OutputOrder>("output", "order", kOrders, &out->order);
    ReadBool("output", "item_logs", &out->item_logs);
    ReadDuration("output", "status_every", &out->status_every);
  }

  void ReadQueue(QueueSettings* queue) {
    ReadInt("queue", "slots", 1, 1 << 20, &queue->slots);
    ReadInt("queue", "batch", 0, INT_MAX, &queue->batch);
  }

  // Combinations that are each valid alone but cannot work together.
  void CrossCheck(const Settings& s) {
    if (s.job.handler == HandlerKind::kPlugin && s.plugin.library.empty()) {
      Fail("job", "handler", "job.handler = \"plugin\" needs plugin.library",
           "set library = \"./libmyjob.so\" under [plugin]");
    }
    if (s.command.shell && s.command.argv.size() > 1) {
      Fail("command", "shell",
           "command.shell = true takes argv as one command line, got " +
               std::to_string(s.command.argv.size()) + " strings",
           "write argv = [\"" + s.command.argv[0] + " ...\"] or set shell = false");
    }
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
    if (!s.input.require.empty() && s.input.select != Select::kDirs) {
      Fail("input", "require", "input.require only applies to directories",
           "set select = \"dirs\" under [input], or remove require");
    }
  }

  // "K/N" with 0 <= K < N, both decimal; "" = no sharding.
  void CheckShard(const std::string& shard) {
    if (shard.empty()) return;
    const std::string fix = OriginOf("input.shard") != nullptr
                                ? "write K/N with K from 0 to N-1, e.g. --shard 0/4"
                                : "write K/N with K from 0 to N-1, e.g. shard = \"0/4\"";
    const size_t slash = shard.find('/');
    int64_t k = -1, n = -1;
    const bool parsed = slash != std::string::npos &&
                        shard.find_first_not_of("0123456789/") == std::string::npos &&
                        LooksLikeInteger(std::string_view(shard).substr(0, slash), &k) &&
                        LooksLikeInteger(std::string_view(shard).substr(slash + 1), &n);
    if (!parsed) {
      return Fail("input", "shard", "input.shard must be K/N, got " + Quote(shard), fix);
    }
    if (n < 1 || n > 1'000'000) {
      return Fail("input", "shard",
                  "input.shard " + Quote(shard) + " has " + std::to_string(n) +
                      " shards; N must be between 1 and 1000000",
                  fix);
    }
    if (k >= n) {
      return Fail("input", "shard",
                  "input.shard " + Quote(shard) + ": shard " + std::to_string(k) +
                      " does not exist, shards are numbered 0 to " + std::to_string(n - 1),
                  fix);
    }
  }

  void CheckJobName(const std::string& name) {
    std::string what;
    if (name.empty()) {
      what = "job.name is empty";
    } else if (name == "." || name == "..") {
      what = "job.name " + Quote(name) + " is not a usable directory name";
    } else if (name.find('/') != std::string::npos) {
      what = "job.name " + Quote(name) + " contains '/'";
    } else if (std::any_of(name.begin(), name.end(), [](char c) {
                 return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
               })) {
      what = "job.name " + Quote(name) + " contains a control character";
    } else if (name.size() > 200) {
      what = "job.name is " + std::to_string(name.size()) + " bytes long, more than 200";
    }
    if (!what.empty()) {
      Fail("job", "name", what, "it names the run directory: write e.g. name = \"checksums\"");
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
      if (spec->kind == Kind::kString || spec->kind == Kind::kDuration ||
          spec->kind == Kind::kEnum) {
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

  template <typename E>
  void ReadEnum(std::string_view section, std::string_view key, std::span<const EnumName<E>> names,
                E* out) {
    const toml::node* node = Find(section, key);
    if (node == nullptr) return;
    std::vector<std::string> accepted;
    for (const auto& n : names) accepted.emplace_back(n.name);
    const std::string dotted = std::string(section) + "." + std::string(key);
    if (!node->is_string()) {
      return WrongType(section, key, *node, "one of \"" + Join(accepted, "\", \"") + "\"");
    }
    const std::string& v = node->as_string()->get();
    for (const auto& n : names) {
      if (n.name == v) {
        *out = n.value;
        return;
      }
    }
    const std::string guess = DidYouMean(v, accepted);
    Fail(section, key,
         dotted + " must be one of \"" + Join(accepted, "\", \"") + "\", got " + Quote(v),
         guess.empty() ? Example(section, key) : "did you mean " + Quote(guess) + "?");
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
  // the user's business. Empty stays empty, "-" for input.path or input.items
  // is standard input, and a cwd that starts with a placeholder ("{dir}") is
  // per item.
  void ReadPath(std::string_view section, std::string_view key, std::string* out) {
    ReadString(section, key, out);
    const std::string& v = *out;
    if (v.empty() || (v == "-" && section == "input") || (v[0] == '{' && key == "cwd")) return;
    const std::string dotted = std::string(section) + "." + std::string(key);
    fs::path p(v);
    if (p.is_relative()) p = (OriginOf(dotted) != nullptr ? cwd_ : base_dir_) / p;
    std::string s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    *out = s;
  }

  const toml::table& root_;
  const Origins& origins_;
  const fs::path base_dir_;
  const fs::path cwd_;
  Problems* problems_;
};

std::string Lowercased(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  // A prefix either way round: "max_fail" for "max_failures", "timeout_s" for "timeout".
  for (const std::string& c : candidates) {
    if (!c.empty() && c != word && (c.starts_with(word) || word.starts_with(c))) return c;
  }
  std::string best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] != c[j - 1])});
        diagonal = above;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  return best;
}

Result<Millis> ParseDuration(std::string_view text) {
  const std::string quoted = Quote(text);
  const std::string how = "write a number and a unit (ms, s, m, h), e.g. \"2m\" or \"1.5s\"";
  if (text.empty()) return Status::Error("the duration is empty; " + how);
  if (text[0] == '-') {
    return Status::Error("duration " + quoted +
                         " is negative; write \"0s\" for none, or e.g. \"2m\"");
  }
  // A sum of terms ("1m30s"), each a decimal number and a unit; the fraction
  // is kept in integers so that "0.1s" is exactly 100ms.
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    int64_t whole = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (whole > 1'000'000'000'000)
        return Status::Error("duration " + quoted +
                             " is too long; write a shorter one, e.g. \"48h\"");
      whole = whole * 10 + (text[i++] - '0');
    }
    int64_t fraction = 0;
    int64_t scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (scale < 1'000'000'000) {
          fraction = fraction * 10 + (text[i] - '0');
          scale *= 10;
        }
      }
    }
    const bool has_digits = std::any_of(text.begin() + start, text.begin() + i,
                                        [](char c) { return c >= '0' && c <= '9'; });
    if (!has_digits) return Status::Error(quoted + " is not a duration; " + how);
    const size_t unit_start = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) {
      ++i;
    }
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i == text.size()) {
        return Status::Error("duration " + quoted + " has no unit; write e.g. \"" +
                             std::string(text) + "s\" (units: ms, s, m, h)");
      }
      return Status::Error(quoted + " is not a duration; " + how);
    }
    const int64_t unit_ms = unit == "ms"  ? 1
                            : unit == "s" ? 1000
                            : unit == "m" ? 60'000
                            : unit == "h" ? 3'600'000
                                          : 0;
    if (unit_ms == 0) {
      return Status::Error("duration " + quoted + " has an unknown unit " + Quote(unit) +
                           "; use ms, s, m or h, e.g. \"2m\"");
    }
    int64_t term = 0;
    if (__builtin_mul_overflow(whole, unit_ms, &term) ||
        __builtin_add_overflow(term, (fraction * unit_ms + scale / 2) / scale, &term) ||
        __builtin_add_overflow(total, term, &total)) {
      return Status::Error("duration " + quoted +
                           " is too long; write a shorter one, e.g. \"48h\"");
    }
  }
  return Millis(total);
}

std::string FormatDuration(Millis duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const int64_t h = ms / 3'600'000;
  const int64_t m = ms / 60'000 % 60;
  const int64_t s = ms / 1000 % 60;
  const int64_t rest = ms % 1000;
  if (h != 0) out += std::to_string(h) + "h";
  if (m != 0) out += std::to_string(m) + "m";
  if (s != 0 && rest != 0) {
    std::string frac = std::to_string(1000 + rest).substr(1);
    while (frac.back() == '0') frac.pop_back();
    out += std::to_string(s) + "." + frac + "s";
  } else if (s != 0) {
    out += std::to_string(s) + "s";
  } else if (rest != 0) {
    out += std::to_string(rest) + "ms";
  }
  return out;
}

Result<Settings> ParseSettings(std::string_view text, std::string_view source_name,
                               const std::string& base_dir,
                               const std::vector<Override>& overrides) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return Status::FromErrno("cannot read the current directory", ec.value());
  const fs::path base = (base_dir.empty() ? cwd : cwd / base_dir).lexically_normal();

  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    Problems problems{std::string(source_name)};
    problems.Add(problems.At(e.source()), Lowercased(std::string(e.description())),
                 "fix the TOML syntax there (https://toml.io)");
    return problems.ToStatus();
  }

  Problems problems{std::string(source_name)};
  CheckSections(root, &problems);
  Origins origins;
  for (size_t i = 0; i < overrides.size(); ++i) {
    ApplyOverride(overrides[i], i, &root, &origins, &problems);
  }
  Settings settings;
  SettingsReader(root, origins, base, cwd, &problems).Read(&settings);
  Status status = problems.ToStatus();
  if (!status.ok()) return status;
  return settings;
}

Result<Settings> LoadSettings(const std::string& path, const std::vector<Override>& overrides,
                              bool allow_missing) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    if (errno == ENOENT && allow_missing) return ParseSettings("", path, "", overrides);
    if (errno == ENOENT) {
      return Status::Error(path + ": no such file; create one with 'shoal init " + path +
                           "' or name another");
    }
    return Status::FromErrno(path, errno);
  }
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) text.append(buf, n);
  const int err = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (err != 0) return Status::FromErrno(path, err);
  const std::string base_dir = fs::path(path).parent_path().string();
  return ParseSettings(text, path, base_dir, overrides);
}

namespace {

// TOML basic string: quotes, backslashes and control characters escaped.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string TomlKey(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(key) : TomlString(key);
}

std::string TomlArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + TomlString(values[i]);
  return out + "]";
}

std::string TomlTable(const std::map<std::string, std::string>& values) {
  if (values.empty()) return "{}";
  std::string out = "{ ";
  bool first = true;
  for (const auto& [k, v] : values) {
    out += (first ? "" : ", ") + TomlKey(k) + " = " + TomlString(v);
    first = false;
  }
  return out + " }";
}

const char* TomlBool(bool b) {
  return b ? "true" : "false";
}

std::string Line(std::string_view key, const std::string& value) {
  return std::string(key) + " = " + value + "\n";
}

template <typename E>
std::string TomlEnum(std::span<const EnumName<E>> names, E value) {
  return TomlString(NameOf(names, value));
}

std::string TomlMaxFailures(const JobSettings& job) {
  if (job.max_failures_percent <= 0) return std::to_string(job.max_failures);
  char buf[64];
  // Fixed notation: "1e-05%" would not read back as a percentage.
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, job.max_failures_percent, std::chars_format::fixed);
  return TomlString(std::string(buf, end) + "%");
}

}  // namespace

std::string SettingsToToml(const Settings& s) {
  std::string out;
  out += "[job]\n";
  out += Line("name", TomlString(s.job.name));
  out += Line("workers", std::to_string(s.job.workers));
  out += Line("handler", TomlEnum<HandlerKind>(kHandlers, s.job.handler));
  out += Line("timeout", TomlString(FormatDuration(s.job.timeout)));
  out += Line("retries", std::to_string(s.job.retries));
  out += Line("retry_delay", TomlString(FormatDuration(s.job.retry_delay)));
  out += Line("max_failures", TomlMaxFailures(s.job));
  out += Line("grace", TomlString(FormatDuration(s.job.grace)));
  out += "\n[input]\n";
  out += Line("path", TomlString(s.input.path));
  out += Line("kind", TomlEnum<InputKind>(kInputKinds, s.input.kind));
  out += Line("recursive", TomlBool(s.input.recursive));
  out += Line("max_depth", std::to_string(s.input.max_depth));
  out += Line("select", TomlEnum<Select>(kSelects, s.input.select));
  out += Line("require", TomlString(s.input.require));
  out += Line("include", TomlArray(s.input.include));
  out += Line("exclude", TomlArray(s.input.exclude));
  out += Line("follow_links", TomlBool(s.input.follow_links));
  out += Line("separator", TomlEnum<Separator>(kSeparators, s.input.separator));
  out += Line("skip_header", TomlBool(s.input.skip_header));
  out += Line("column", std::to_string(s.input.column));
  out += Line("items", TomlString(s.input.items));
  out += Line("shard", TomlString(s.input.shard));
  out += "\n[command]\n";
  out += Line("argv", TomlArray(s.command.argv));
  out += Line("shell", TomlBool(s.command.shell));
  out += Line("stdout", TomlEnum<StdoutMode>(kStdoutModes, s.command.stdout_mode));
  out += Line("stdout_path", TomlString(s.command.stdout_path));
  out += Line("env", TomlTable(s.command.env));
  out += Line("cwd", TomlString(s.command.cwd));
  out += "\n[plugin]\n";
  out += Line("library", TomlString(s.plugin.library));
  out += Line("config", TomlTable(s.plugin.config));
  out += "\n[output]\n";
  out += Line("dir", TomlString(s.output.dir));
  out += Line("format", TomlEnum<OutputFormat>(kFormats, s.output.format));
  out += Line("order", TomlEnum<OutputOrder>(kOrders, s.output.order));
  out += Line("item_logs", TomlBool(s.output.item_logs));
  out += Line("status_every", TomlString(FormatDuration(s.output.status_every)));
  out += "\n[queue]\n";
  out += Line("slots", std::to_string(s.queue.slots));
  out += Line("batch", std::to_string(s.queue.batch));
  return out;
}

std::string InitTemplate() {
  return R"(# shoal settings: one job over many items. Check it with 'shoal check',
# run it with 'shoal run'. Paths are relative to this file's directory.
# Durations are a number and a unit: ms, s, m, h ("1.5s", "2m", "1h30m").

[job]
name = "job"              # names the run directory: runs/<name>-<YYYYmmdd-HHMMSS>/
workers = 0               # 0 = one per online core; more than cores for I/O-bound work
handler = "command"       # command | sha256 | plugin
timeout = "0s"            # per item attempt; "0s" = none
retries = 0               # extra attempts for a failed item inside the run
retry_delay = "0s"        # wait before each retry
max_failures = 0          # stop feeding new items after this many failures (0 = never),
                          # or a share of the items seen so far, e.g. "5%"
grace = "10s"             # on Ctrl-C / SIGTERM: how long running items may finish

[input]
path = "data"             # a directory (walked), a list file (one item per line), or "-" (stdin)
kind = "auto"             # auto | tree | list
recursive = true          # tree: descend into sub-directories
max_depth = 0             # tree: 0 = unlimited
select = "files"          # tree: files | dirs
require = ""              # tree, select = "dirs": keep only dirs holding this name (e.g. "CMakeLists.txt")
include = []              # globs an item must match (on its path relative to input.path), e.g. ["*.log"]
exclude = []              # globs that drop an item, or a whole sub-tree for a dir, e.g. [".git"]
follow_links = false      # tree: follow symbolic links
separator = "newline"     # list: newline | nul
skip_header = false       # list: drop the first line
column = 0                # list: 1-based CSV column to take as the item; 0 = whole line
items = ""                # run only the items listed in this file (e.g. a failed.txt), as --items does
shard = ""                # "K/N": only shard K (0-based) of N, by a hash of each item; see 'shoal slurm'

[command]                 # handler = "command"
# Placeholders: {path} {item} {rel} {name} {stem} {ext} {dir} {index} {worker} {run} {out}
# (GNU parallel's {} {.} {/} {//} {/.} {#} {%} too). An empty argv runs each item as a
# command line with /bin/sh -c.
argv = ["gzip", "-kf", "{path}"]   # run directly, no shell
shell = false             # true: argv is one string run by /bin/sh -c, placeholders shell-quoted
stdout = "result"         # result (into the result record) | file (one file per item) | discard
stdout_path = "{out}/{name}.out"   # stdout = "file": where each item's output goes
env = {}                  # extra environment variables, e.g. { LC_ALL = "C" }
cwd = ""                  # working directory for the command ("" = the job's)

[plugin]                  # handler = "plugin"
library = ""              # shared library with the C ABI in include/shoal/plugin.h, e.g. "./libmyjob.so"
config = {}               # passed to the plugin's init, e.g. { level = 3 }

[output]
dir = "runs"              # each run writes runs/<job.name>-<YYYYmmdd-HHMMSS>/
format = "jsonl"          # jsonl | tsv
order = "completion"      # completion | input
item_logs = false         # one log file per item under logs/
status_every = "30s"      # how often a status line (done, failed, remaining) is logged

[queue]
slots = 1024              # capacity of the task ring buffer
batch = 0                 # items a worker takes per pull; 0 = chosen automatically
)";
}

}  // namespace shoal
