#include "master/item_source.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/fields.h"
#include "master/list_reader.h"
#include "master/shard.h"
#include "master/tree_walker.h"

namespace shoal {

namespace {

Status Missing(const std::string& path) {
  return Status::Error("input.path '" + path +
                       "' does not exist; set input.path in settings.toml or pass -i PATH");
}

Result<std::unique_ptr<ItemSource>> OpenList(const InputSettings& input) {
  ListOptions options;
  options.separator = input.separator;
  options.skip_header = input.skip_header;
  options.column = input.column;
  options.delimiter = CsvDelimiter(input);
  options.csv_records = FieldModeOf(input) == FieldMode::kCsv;
  options.header = input.header;
  Result<GlobSet> include = GlobSet::Compile(input.include, "input.include");
  if (!include.ok()) return include.status();
  Result<GlobSet> exclude = GlobSet::Compile(input.exclude, "input.exclude");
  if (!exclude.ok()) return exclude.status();
  options.include = std::move(include).value();
  options.exclude = std::move(exclude).value();
  if (input.path == "-") {
    return std::unique_ptr<ItemSource>(
        std::make_unique<ListReader>(STDIN_FILENO, false, "standard input", std::move(options)));
  }

  UniqueFd fd(::open(input.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Missing(input.path);
    return Status::FromErrno("cannot open input.path '" + input.path + "'", errno,
                             StatusCode::kUsage);
  }
  // A directory opens fine and fails only at the first read: say it now.
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::Error("input.path '" + input.path +
                         "' is a directory; set input.kind = \"tree\" (or \"auto\") to walk it");
  }
  return std::unique_ptr<ItemSource>(
      std::make_unique<ListReader>(fd.Release(), true, "'" + input.path + "'", std::move(options)));
}

}  // namespace

Result<InputKind> ResolveInputKind(const InputSettings& input) {
  if (input.kind != InputKind::kAuto) return input.kind;
  if (input.path == "-") return InputKind::kList;
  struct stat st;
  if (::stat(input.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Missing(input.path);
    return Status::FromErrno("cannot look at input.path '" + input.path + "'", errno,
                             StatusCode::kUsage);
  }
  return S_ISDIR(st.st_mode) ? InputKind::kTree : InputKind::kList;
}

namespace {

Result<std::unique_ptr<ItemSource>> OpenUnsharded(const Settings& settings,
                                                  const std::string& items_file) {
  const InputSettings& input = settings.input;
  if (!items_file.empty()) {
    // A failed list (or any --items file) holds items as they were produced:
    // one per record, already past the header, the column and the globs.
    // Records split into CSV fields are whole records: read as such, so
    // that a quoted line end stays inside its record.
    ListOptions options;
    options.separator = input.separator;
    options.delimiter = CsvDelimiter(input);
    options.csv_records = FieldModeOf(input) == FieldMode::kCsv;
    if (items_file == "-") {
      return std::unique_ptr<ItemSource>(
          std::make_unique<ListReader>(STDIN_FILENO, false, "standard input", std::move(options)));
    }
    UniqueFd fd(::open(items_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return Status::FromErrno("cannot open items file '" + items_file + "'", errno,
                               StatusCode::kUsage);
    }
    return std::unique_ptr<ItemSource>(std::make_unique<ListReader>(
        fd.Release(), true, "'" + items_file + "'", std::move(options)));
  }
  Result<InputKind> kind = ResolveInputKind(input);
  if (!kind.ok()) return kind.status();
  if (*kind == InputKind::kTree) {
    if (input.path == "-") {
      return Status::Error(
          "input.kind = \"tree\" needs a directory, but input.path is '-' (standard input)");
    }
    Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(input);
    if (!w.ok()) return w.status();
    return std::unique_ptr<ItemSource>(std::move(w).value());
  }
  return OpenList(input);
}

}  // namespace

void BoundedWarnings::Add(std::string message) {
  if (kept_.size() < max_) {
    kept_.push_back(std::move(message));
  } else {
    ++dropped_;
  }
}

std::vector<std::string> BoundedWarnings::Take() {
  std::vector<std::string> out;
  out.swap(kept_);
  if (dropped_ > 0) {
    out.push_back(std::to_string(dropped_) + " more warnings like these were not kept");
    dropped_ = 0;
  }
  return out;
}

Result<std::unique_ptr<ItemSource>> OpenItemSource(const Settings& settings,
                                                   const std::string& items_file) {
  Result<std::unique_ptr<ItemSource>> source = OpenUnsharded(settings, items_file);
  if (!source.ok() || settings.input.shard.empty()) return source;
  // Indices stay those of the whole input (or items file): the shards'
  // records merge by index.
  Result<ShardSpec> spec = ParseShard(settings.input.shard);
  if (!spec.ok()) return Status::Error("input.shard: " + spec.status().message());
  return std::unique_ptr<ItemSource>(
      std::make_unique<ShardFilter>(std::move(source).value(), *spec));
}

}  // namespace shoal
