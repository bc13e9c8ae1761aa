// The walker's selection is checked against find(1) on generated trees: same
// set, same count, and a deterministic order (each level in byte order).
#include "master/tree_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "master/item_source.h"

namespace shoal {
namespace {

using V = std::vector<std::string>;

// Names a shell script would trip over; every one is a valid file name.
const V kOddNames = {"with space", "new\nline",   "quote\"d",    "single'q",  "$dollar", "star*",
                     "-leading",   "inv\xff\xfe", "back\\slash", "tab\there", "q?mark",  "[br]"};

// Pre-order of a walk whose every level is sorted: compare component by component.
bool ComponentLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  for (;;) {
    if (i >= a.size() || j >= b.size()) return a.size() - i < b.size() - j;
    size_t ea = a.find('/', i), eb = b.find('/', j);
    if (ea == std::string::npos) ea = a.size();
    if (eb == std::string::npos) eb = b.size();
    int c = std::string_view(a).substr(i, ea - i).compare(std::string_view(b).substr(j, eb - j));
    if (c != 0) return c < 0;
    i = ea + 1;
    j = eb + 1;
    if (ea == a.size() || eb == b.size()) return ea == a.size() && eb != b.size();
  }
}

// Drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from this thread's effective
// set while it lives, so that root, too, is refused a chmod 000 directory.
// They stay permitted, and come back at the end.
class WithoutDacOverride {
 public:
  WithoutDacOverride() {
    if (geteuid() != 0) {
      ok_ = true;  // permissions already apply
      return;
    }
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct lowered[2] = {saved_[0], saved_[1]};
    lowered[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ok_ = syscall(SYS_capset, &header_, lowered) == 0;
    dropped_ = ok_;
  }
  ~WithoutDacOverride() {
    if (dropped_) {
      EXPECT_EQ(syscall(SYS_capset, &header_, saved_), 0);
    }
  }
  bool ok() const { return ok_; }

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool ok_ = false;
  bool dropped_ = false;
};

class TreeWalkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_tree_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    ASSERT_EQ(
        system(("chmod -R u+rwx '" + root_ + "' 2>/dev/null; rm -rf '" + root_ + "'").c_str()), 0);
  }

  std::string Abs(const std::string& rel) const { return root_ + "/" + rel; }
  void Dir(const std::string& rel) { ASSERT_EQ(mkdir(Abs(rel).c_str(), 0755), 0) << rel; }
  void File(const std::string& rel) {
    int fd = open(Abs(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << rel;
    close(fd);
  }
  void Link(const std::string& target, const std::string& rel) {
    ASSERT_EQ(symlink(target.c_str(), Abs(rel).c_str()), 0) << rel;
  }

  // A tree three levels deep with odd names at every level, empty
  // directories, a fifo, and files and directories that globs can tell apart.
  void MakeNestedTree() {
    for (const char* d : {"a", "a/b", "a/b/c", "a/empty", "build", "a/build", "src", "src/x.tmp",
                          "src/lib", "src/lib/deep", "src/lib/deep/er"}) {
      Dir(d);
    }
    for (const char* f : {"top.c", "top.h", "a/f1.c", "a/f2.tmp", "a/b/f3.c", "a/b/c/f4.h",
                          "build/out.o", "a/build/out.o", "src/x.tmp/inside.c", "src/main.c",
                          "src/lib/util.c", "src/lib/util.h", "src/lib/deep/er/leaf.c"}) {
      File(f);
    }
    for (const std::string& n : kOddNames) {
      Dir("odd " + n);
      File(n);
      File("odd " + n + "/" + n + ".c");
      Dir("a/b/" + n);
      File("a/b/" + n + "/" + n);
    }
    ASSERT_EQ(mkfifo(Abs("a/fifo").c_str(), 0644), 0);
  }

  // Runs `find ROOT ARGS -printf '%P\0'` (ARGS may use ROOT) and returns its
  // lines sorted; stderr (loop warnings) is dropped.
  V Find(const std::string& args, const std::string& options = "") {
    std::string cmd = "find " + options + " '" + root_ + "' -mindepth 1 " + args + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    EXPECT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    V lines;
    for (size_t start = 0, end; (end = out.find('\0', start)) != std::string::npos;
         start = end + 1) {
      lines.push_back(out.substr(start, end - start));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }
  V FindFiles(const std::string& args = "", const std::string& options = "") {
    return Find(args + " -type f -printf '%P\\0'", options);
  }
  V FindDirs(const std::string& args = "", const std::string& options = "") {
    return Find(args + " -type d -printf '%P\\0'", options);
  }

  InputSettings Input() const {
    InputSettings in;
    in.path = root_;
    in.kind = InputKind::kTree;
    return in;
  }

  // Walks, checks indexes, order, seen() and done(), and returns the items sorted.
  V Walk(const InputSettings& in, V* warnings = nullptr) {
    Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(in);
    EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.status().message());
    if (!w.ok()) return {};
    TreeWalker& walker = **w;
    V items;
    Item item;
    while (walker.Next(&item)) {
      EXPECT_EQ(item.index, items.size() + 1);
      EXPECT_TRUE(item.error.empty());
      EXPECT_FALSE(walker.done());
      items.push_back(item.text);
    }
    EXPECT_TRUE(walker.status().ok()) << walker.status().message();
    EXPECT_TRUE(walker.done());
    EXPECT_EQ(walker.seen(), items.size());
    EXPECT_FALSE(walker.Next(&item));
    EXPECT_TRUE(std::is_sorted(items.begin(), items.end(), ComponentLess));
    V w2 = walker.TakeWarnings();
    if (warnings) *warnings = w2;
    V sorted = items;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "duplicates";
    return sorted;
  }

  std::string root_;
};

TEST_F(TreeWalkerTest, FilesOfANestedTree) {
  MakeNestedTree();
  V want = FindFiles();
  EXPECT_EQ(want.size(), 13u + 3 * kOddNames.size());
  V warnings;
  EXPECT_EQ(Walk(Input(), &warnings), want);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(TreeWalkerTest, DirectoriesOfANestedTree) {
  MakeNestedTree();
  InputSettings in = Input();
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs());
}

TEST_F(TreeWalkerTest, OrderIsByteOrderAtEachLevel) {
  for (const char* d : {"a", "a-b", "B", "\xc3\xa9"}) Dir(d);
  for (const char* f : {"a/x", "a-b/y", "B/z", "\xc3\xa9/w", "a.txt", "_u"}) File(f);
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(Input());
  ASSERT_TRUE(w.ok());
  V items;
  Item item;
  while ((*w)->Next(&item)) items.push_back(item.text);
  EXPECT_EQ(items, (V{"B/z", "_u", "a/x", "a-b/y", "a.txt", "\xc3\xa9/w"}));
}

// Names longer than the 8-byte sort key, sharing it, shorter than it, and a
// prefix of each other: the key decides most pairs, the rest decides ties.
TEST_F(TreeWalkerTest, OrderIsByteOrderBeyondTheFirstEightBytes) {
  V names = {"abcdefgh",
             "abcdefghi",
             "abcdefgh0",
             "abcdefgg~",
             "abcdefg",
             "abcdefgh\xff",
             "abcdefgh-",
             "a",
             "ab",
             "\xff",
             "\x01x",
             "abcdefghij123456",
             "abcdefghij12345",
             "abcdefghij123457",
             "zzzzzzzzz",
             "zzzzzzzz"};
  for (const std::string& n : names) File(n);
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(Input());
  ASSERT_TRUE(w.ok());
  V items;
  Item item;
  while ((*w)->Next(&item)) items.push_back(item.text);
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned
  EXPECT_EQ(items, names);
}

TEST_F(TreeWalkerTest, MaxDepthAndNotRecursive) {
  MakeNestedTree();
  for (int depth = 1; depth <= 5; ++depth) {
    InputSettings in = Input();
    in.max_depth = depth;
    const std::string limit = "-maxdepth " + std::to_string(depth);
    EXPECT_EQ(Walk(in), FindFiles(limit)) << depth;
    in.select = Select::kDirs;
    EXPECT_EQ(Walk(in), FindDirs(limit)) << depth;
  }
  InputSettings in = Input();
  in.recursive = false;
  EXPECT_EQ(Walk(in), FindFiles("-maxdepth 1"));
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs("-maxdepth 1"));
}

TEST_F(TreeWalkerTest, ExcludePrunes) {
  MakeNestedTree();
  InputSettings in = Input();
  in.exclude = {"*.tmp", "build/", "a/b/c", "odd with space"};
  const std::string prune = "\\( -name '*.tmp' -o -name build -type d -o -path '" + root_ +
                            "/a/b/c' -o -name 'odd with space' \\) -prune -o";
  V want = FindFiles(prune);
  EXPECT_EQ(Walk(in), want);
  EXPECT_EQ(std::count(want.begin(), want.end(), "src/x.tmp/inside.c"), 0);
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs(prune));
}

TEST_F(TreeWalkerTest, AnExcludedDirectoryIsNotEntered) {
  MakeNestedTree();
  Dir("locked");
  File("locked/secret");
  ASSERT_EQ(chmod(Abs("locked").c_str(), 0), 0);
  WithoutDacOverride guard;
  if (!guard.ok()) GTEST_SKIP() << "cannot drop CAP_DAC_OVERRIDE";
  InputSettings in = Input();
  in.exclude = {"/locked"};
  V warnings;
  V got = Walk(in, &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings[0];  // reading it would have warned
  EXPECT_EQ(got, FindFiles("-path '" + root_ + "/locked' -prune -o"));
}

TEST_F(TreeWalkerTest, Include) {
  MakeNestedTree();
  InputSettings in = Input();
  in.include = {"*.c", "a/**/*.h"};
  // Directories that match nothing are still walked: src/lib/deep/er/leaf.c.
  V want = FindFiles("\\( -name '*.c' -o -path '" + root_ + "/a/*.h' \\)");
  EXPECT_EQ(Walk(in), want);
  EXPECT_EQ(std::count(want.begin(), want.end(), "src/lib/deep/er/leaf.c"), 1);
  EXPECT_EQ(std::count(want.begin(), want.end(), "top.h"), 0);

  in.include = {"odd *", "deep"};
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs("\\( -name 'odd *' -o -name deep \\)"));

  // Include and exclude together: exclude wins, and prunes.
  in.select = Select::kFiles;
  in.include = {"*.c"};
  in.exclude = {"src/"};
  EXPECT_EQ(Walk(in), FindFiles("-name src -prune -o -name '*.c'"));
}

TEST_F(TreeWalkerTest, DirsWithRequire) {
  for (const char* d : {"p1", "p2", "p3", "p3/sub", "p3/sub/inner", "p4", "p5"}) Dir(d);
  File("p1/CMakeLists.txt");
  File("p3/sub/CMakeLists.txt");
  File("p3/sub/inner/CMakeLists.txt");
  File("p4/CMakeLists.txt.bak");
  Dir("p5/CMakeLists.txt");              // any kind of entry counts
  Link("nowhere", "p2/CMakeLists.txt");  // even a dangling link
  File("CMakeLists.txt");                // the root is never an item
  InputSettings in = Input();
  in.select = Select::kDirs;
  in.require = "CMakeLists.txt";
  in.recursive = false;
  V want = Find("-mindepth 2 -maxdepth 2 -name CMakeLists.txt -printf '%h\\0'");
  for (std::string& s : want) s = s.substr(root_.size() + 1);
  EXPECT_EQ(Walk(in), (V{"p1", "p2", "p5"}));
  EXPECT_EQ(Walk(in), want);

  in.recursive = true;
  want = Find("-mindepth 2 -name CMakeLists.txt -printf '%h\\0'");
  for (std::string& s : want) s = s.substr(root_.size() + 1);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Walk(in), want);
  EXPECT_EQ(want.size(), 5u);
}

TEST_F(TreeWalkerTest, SymlinksAreNotFollowedByDefault) {
  MakeNestedTree();
  Link("top.c", "link-to-file");
  Link("src", "link-to-dir");
  Link("missing", "dangling");
  Link(".", "a/b/loop");
  Link(root_ + "/src/lib", "a/abs-link");
  EXPECT_EQ(Walk(Input()), FindFiles());
  InputSettings in = Input();
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs());
}

TEST_F(TreeWalkerTest, FollowLinksEndsOnLoops) {
  MakeNestedTree();
  Link("top.c", "link-to-file");
  Link("src", "link-to-dir");
  Link("missing", "dangling");
  Link(".", "a/b/self");
  Link("../..", "a/b/up");
  Link(root_, "src/lib/to-root");
  Link("ping", "pong");  // a loop of links: ELOOP, skipped
  Link("pong", "ping");
  InputSettings in = Input();
  in.follow_links = true;
  V warnings;
  V got = Walk(in, &warnings);
  V want = FindFiles("", "-L");
  EXPECT_EQ(got, want);
  EXPECT_EQ(std::count(got.begin(), got.end(), "link-to-file"), 1);
  EXPECT_EQ(std::count(got.begin(), got.end(), "link-to-dir/lib/util.c"), 1);
  // Each loop is noticed once where it closes, and nothing is walked twice
  // on one path; src/lib/to-root is met again through link-to-dir.
  EXPECT_EQ(warnings,
            (V{"not entering 'a/b/self': a file system loop back to 'a/b'",
               "not entering 'a/b/up': a file system loop back to '" + root_ + "'",
               "not entering 'link-to-dir/lib/to-root': a file system loop back to '" + root_ + "'",
               "not entering 'src/lib/to-root': a file system loop back to '" + root_ + "'"}));
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in), FindDirs("", "-L"));
}

TEST_F(TreeWalkerTest, UnreadableDirectoryWarnsAndGoesOn) {
  // Tests often run as root, where chmod 000 stops nobody: the guard drops
  // the capabilities that let root through, for this thread, while it lives.
  MakeNestedTree();
  Dir("a/locked");
  File("a/locked/hidden.c");
  ASSERT_EQ(chmod(Abs("a/locked").c_str(), 0), 0);
  V want = FindFiles("-path '" + root_ + "/a/locked' -prune -o");
  V want_dirs = FindDirs();
  WithoutDacOverride guard;
  if (!guard.ok()) GTEST_SKIP() << "cannot drop CAP_DAC_OVERRIDE";
  V warnings;
  EXPECT_EQ(Walk(Input(), &warnings), want);
  EXPECT_EQ(warnings, (V{"cannot read directory 'a/locked': Permission denied"}));

  // As a directory it is still an item; with `require` it cannot be checked.
  InputSettings in = Input();
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in, &warnings), want_dirs);
  EXPECT_EQ(warnings.size(), 1u);
  in.require = "hidden.c";
  EXPECT_EQ(Walk(in, &warnings), V{});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "cannot read directory 'a/locked': Permission denied");

  // An unreadable root stops before the first item.
  ASSERT_EQ(chmod(root_.c_str(), 0), 0);
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(Input());
  chmod(root_.c_str(), 0700);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "cannot read directory '" + root_ + "': Permission denied");
}

TEST_F(TreeWalkerTest, DeepTreeUsesFewDescriptors) {
  // Deeper than the levels that keep their descriptor open.
  std::string rel;
  for (int i = 0; i < 300; ++i) {
    rel += (i ? "/d" : "d") + std::to_string(i % 10);
    Dir(rel);
    if (i % 7 == 0) File(rel + "/f");
  }
  auto open_fds = [] {
    int n = 0;
    DIR* d = opendir("/proc/self/fd");
    while (readdir(d)) ++n;
    closedir(d);
    return n;
  };
  const int before = open_fds();
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(Input());
  ASSERT_TRUE(w.ok());
  V items;
  Item item;
  int most = 0;
  while ((*w)->Next(&item)) {
    items.push_back(item.text);
    most = std::max(most, open_fds() - before);
  }
  EXPECT_TRUE((*w)->status().ok()) << (*w)->status().message();
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items, FindFiles());
  EXPECT_EQ(items.size(), 43u);
  EXPECT_LE(most, 64 + 300 / 8 + 2);
}

TEST_F(TreeWalkerTest, OpenErrors) {
  InputSettings in = Input();
  in.path = root_ + "/missing";
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(in);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "input.path '" + in.path +
                                      "' does not exist; set input.path in settings.toml or pass "
                                      "-i PATH");
  File("plain");
  in.path = root_ + "/plain";
  w = TreeWalker::Open(in);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("is not a directory"), std::string::npos);
  in = Input();
  in.exclude = {"[oops"};
  w = TreeWalker::Open(in);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "input.exclude: glob '[oops': '[' without a closing ']'");
}

TEST_F(TreeWalkerTest, EmptyRoot) {
  EXPECT_EQ(Walk(Input()), V{});
}

// Hidden entries are items like any other by default (as find sees them);
// input.hidden = false leaves them out, contents and all, and says how many.
TEST_F(TreeWalkerTest, HiddenEntriesAreItemsUnlessInputHiddenIsFalse) {
  MakeNestedTree();
  for (const char* d : {".git", ".git/objects", "a/.cache"}) Dir(d);
  for (const char* f : {".git/config", ".git/objects/ab", ".hidden", "a/.dot", "a/.cache/c"}) {
    File(f);
  }
  V warnings;
  V all = Walk(Input(), &warnings);
  EXPECT_EQ(all, FindFiles());
  EXPECT_EQ(std::count(all.begin(), all.end(), ".git/objects/ab"), 1);
  EXPECT_TRUE(warnings.empty());

  InputSettings in = Input();
  in.hidden = false;
  V got = Walk(in, &warnings);
  EXPECT_EQ(got, FindFiles("-name '.*' -prune -o"));
  EXPECT_EQ(all.size() - got.size(), 5u);
  EXPECT_EQ(warnings, (V{"left out 4 hidden entries (names that start with '.', input.hidden = "
                         "false), e.g. '.git'; a hidden directory's contents were not walked"}));
  in.select = Select::kDirs;
  EXPECT_EQ(Walk(in, &warnings), FindDirs("-name '.*' -prune -o"));
  EXPECT_EQ(warnings.size(), 1u);
}

// A run's output.dir below input.path (input.path = ".", output.dir =
// "runs") is left out of the walk, by name even when it is made after the
// walk opened, and by identity when reached through a followed link; the
// log hears of it once.
TEST_F(TreeWalkerTest, TheRunsOwnOutputDirIsLeftOutOfTheWalk) {
  MakeNestedTree();
  Dir("runs");
  Dir("runs/job-1");
  File("runs/job-1/results.jsonl");
  Link("runs", "alias");
  Settings s;
  s.input.path = root_ + "/.";
  s.input.kind = InputKind::kTree;
  s.input.follow_links = true;
  s.output.dir = Abs("runs");
  // 'alias' comes first in byte order: met by identity, and said once.
  const std::string said =
      "left out of the walk: 'alias', the same directory as 'runs': it is output.dir, where runs "
      "write their records";
  for (Select select : {Select::kFiles, Select::kDirs}) {
    s.input.select = select;
    Result<std::unique_ptr<ItemSource>> src = OpenItemSource(s, "");
    ASSERT_TRUE(src.ok()) << src.status().message();
    V got;
    Item item;
    while ((*src)->Next(&item)) got.push_back(item.text);
    std::sort(got.begin(), got.end());
    const std::string args =
        "\\( -path '" + root_ + "/runs' -o -path '" + root_ + "/alias' \\) -prune -o";
    EXPECT_EQ(got, select == Select::kFiles ? FindFiles(args, "-L") : FindDirs(args, "-L"));
    EXPECT_EQ((*src)->TakeWarnings(), V{said});
  }

  // Made only after the walk opened (a run creates output.dir after it
  // opens its input), deeper down.
  s.input.follow_links = false;
  s.input.select = Select::kFiles;
  s.output.dir = Abs("src/lib/runs");
  Result<std::unique_ptr<ItemSource>> src = OpenItemSource(s, "");
  ASSERT_TRUE(src.ok());
  Dir("src/lib/runs");
  File("src/lib/runs/log.txt");
  V got;
  Item item;
  while ((*src)->Next(&item)) got.push_back(item.text);
  EXPECT_EQ(std::count(got.begin(), got.end(), "src/lib/runs/log.txt"), 0);
  EXPECT_EQ(std::count(got.begin(), got.end(), "runs/job-1/results.jsonl"), 1);
  EXPECT_EQ((*src)->TakeWarnings(),
            V{"left out of the walk: 'src/lib/runs': it is output.dir, where runs write their "
              "records"});

  // Outside input.path, nothing is left out.
  s.output.dir = "/tmp";
  src = OpenItemSource(s, "");
  ASSERT_TRUE(src.ok());
  got.clear();
  while ((*src)->Next(&item)) got.push_back(item.text);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, FindFiles());
  EXPECT_TRUE((*src)->TakeWarnings().empty());
}

// What a walk hands out, in its order, with its warnings and status.
struct Walked {
  V items;
  V warnings;
  std::string status;
  bool operator==(const Walked&) const = default;
};

Walked WalkInOrder(InputSettings in, int threads, TreeWalker::Hooks hooks = {}) {
  in.walk_threads = threads;
  Walked out;
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(in, {}, std::move(hooks));
  if (!w.ok()) {
    out.status = w.status().message();
    return out;
  }
  Item item;
  while ((*w)->Next(&item)) out.items.push_back(item.text);
  out.status = (*w)->status().message();
  out.warnings = (*w)->TakeWarnings();
  return out;
}

class TreeWalkerReadAheadTest : public TreeWalkerTest {
 protected:
  // Wide (many directories of files), deep (a branching chain), hidden
  // entries, odd names, loops through links, a tree to exclude.
  void MakeMixedTree() {
    for (int i = 0; i < 60; ++i) {
      char d[16];
      snprintf(d, sizeof d, "w%02d", i);
      Dir(d);
      for (int f = 0; f < 7; ++f) File(std::string(d) + "/f" + std::to_string(f));
      if (i % 5 == 0) {
        Dir(std::string(d) + "/.hid");
        File(std::string(d) + "/.hid/x");
        File(std::string(d) + "/.dot");
      }
      if (i % 7 == 0) Dir(std::string(d) + "/sub" + std::to_string(i));
    }
    std::string rel = "deep";
    Dir(rel);
    for (int i = 0; i < 40; ++i) {
      Dir(rel + "/side" + std::to_string(i));
      File(rel + "/side" + std::to_string(i) + "/s");
      rel += "/n" + std::to_string(i % 3);
      Dir(rel);
      File(rel + "/f");
    }
    for (const std::string& n : kOddNames) {
      Dir("odd " + n);
      File("odd " + n + "/" + n);
    }
    Dir(".top");
    File(".top/f");
    Dir("skip");
    Dir("skip/me");
    File("skip/me/f");
    Link(".", "w03/self");
    Link("../deep", "w04/to-deep");
    Link(root_, "deep/n0/n1/to-root");
  }

  // The settings the walk must treat alike for any number of readers.
  std::vector<InputSettings> Variants() const {
    std::vector<InputSettings> all;
    InputSettings in = Input();
    all.push_back(in);
    in.hidden = false;
    all.push_back(in);
    in.exclude = {"skip", "w1*"};
    in.include = {"*/f1", "deep/**"};
    all.push_back(in);
    in = Input();
    in.max_depth = 3;
    all.push_back(in);
    in = Input();
    in.follow_links = true;
    all.push_back(in);
    in.hidden = false;
    in.select = Select::kDirs;
    all.push_back(in);
    in = Input();
    in.select = Select::kDirs;
    in.require = "f";
    all.push_back(in);
    return all;
  }
};

TEST_F(TreeWalkerReadAheadTest, SameItemsInTheSameOrderForAnyNumberOfReaders) {
  MakeMixedTree();
  for (const InputSettings& in : Variants()) {
    const Walked one = WalkInOrder(in, 1);
    EXPECT_TRUE(one.status.empty()) << one.status;
    EXPECT_GT(one.items.size(), 10u);
    for (int threads : {2, 3, 8}) {
      EXPECT_EQ(WalkInOrder(in, threads), one)
          << threads << " readers, hidden " << in.hidden << ", follow " << in.follow_links;
    }
  }
  // The variants meet what they are meant to: loops and hidden entries.
  InputSettings in = Input();
  in.follow_links = true;
  in.hidden = false;
  const Walked w = WalkInOrder(in, 4);
  ASSERT_GE(w.warnings.size(), 2u);
  EXPECT_NE(w.warnings[0].find("a file system loop"), std::string::npos);
  EXPECT_NE(w.warnings.back().find("hidden entries"), std::string::npos);
}

TEST_F(TreeWalkerReadAheadTest, UnreadableDirectoryWarnsInTheSamePlace) {
  MakeMixedTree();
  Dir("w20/locked");
  File("w20/locked/f");
  ASSERT_EQ(chmod(Abs("w20/locked").c_str(), 0), 0);
  WithoutDacOverride guard;  // before Open: the readers inherit it
  if (!guard.ok()) GTEST_SKIP() << "cannot drop CAP_DAC_OVERRIDE";
  for (InputSettings in : Variants()) {
    const Walked one = WalkInOrder(in, 1);
    EXPECT_EQ(WalkInOrder(in, 6), one);
    if (in.select == Select::kDirs && !in.follow_links) continue;
    EXPECT_NE(std::find(one.warnings.begin(), one.warnings.end(),
                        "cannot read directory 'w20/locked': Permission denied"),
              one.warnings.end());
  }
}

TEST_F(TreeWalkerReadAheadTest, ABlockedDirectoryHoldsBackOnlyItsOwnItems) {
  // d00 cannot be read until d05 has been: the walk must keep other
  // directories in flight past a slow one, and still hand out d00 first.
  for (int i = 0; i < 20; ++i) {
    std::string d = "d" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    Dir(d);
    for (int f = 0; f < 3; ++f) File(d + "/f" + std::to_string(f));
  }
  std::mutex mu;
  std::condition_variable cv;
  bool d05_read = false;
  bool released = true;
  TreeWalker::Hooks hooks;
  hooks.before_read = [&](const std::string& path) {
    std::unique_lock<std::mutex> lock(mu);
    if (path == "d05") {
      d05_read = true;
      cv.notify_all();
    } else if (path == "d00") {
      released = cv.wait_for(lock, std::chrono::seconds(60), [&] { return d05_read; });
    }
  };
  const Walked want = WalkInOrder(Input(), 1);
  EXPECT_EQ(WalkInOrder(Input(), 4, hooks), want);
  EXPECT_TRUE(released) << "d05 was not read while d00 was held back";
  EXPECT_EQ(want.items.front(), "d00/f0");
}

TEST_F(TreeWalkerReadAheadTest, ReadAheadIsBounded) {
  for (int i = 0; i < 300; ++i) {
    Dir("d" + std::to_string(1000 + i));
    File("d" + std::to_string(1000 + i) + "/f");
  }
  InputSettings in = Input();
  in.select = Select::kDirs;  // a directory is an item as it is entered
  in.walk_threads = 3;
  std::mutex mu;
  std::condition_variable cv;
  size_t started = 0, entered = 0, most_ahead = 0;
  TreeWalker::Hooks hooks;
  hooks.before_read = [&](const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    ++started;
    most_ahead = std::max(most_ahead, started - entered);
    cv.notify_all();
  };
  Result<std::unique_ptr<TreeWalker>> w = TreeWalker::Open(in, {}, hooks);
  ASSERT_TRUE(w.ok());
  const size_t cap = (*w)->read_ahead_cap();
  EXPECT_EQ(cap, 3 * TreeWalker::kReadAheadPerThread);
  Item item;
  ASSERT_TRUE((*w)->Next(&item));
  {
    // The readers fill the read-ahead while the first item is looked at.
    std::unique_lock<std::mutex> lock(mu);
    entered = 1;
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return started >= cap + 1; }));
  }
  size_t items = 1;
  while ((*w)->Next(&item)) {
    std::lock_guard<std::mutex> lock(mu);
    entered = ++items;
  }
  EXPECT_EQ(items, 300u);
  // Held by the readers, plus the one the walk is entering.
  EXPECT_LE(most_ahead, cap + 1);
  EXPECT_GE(most_ahead, cap);
}

TEST_F(TreeWalkerReadAheadTest, RunningOutOfDescriptorsNeverLosesItems) {
  // Readers that hit EMFILE leave the directory to the walk, which reads it
  // itself or stops with a status: the items are today's, or a prefix of
  // them with an error, never a silent gap.
  for (int i = 0; i < 200; ++i) {
    Dir("d" + std::to_string(1000 + i));
    Dir("d" + std::to_string(1000 + i) + "/s");
    File("d" + std::to_string(1000 + i) + "/s/f");
  }
  const Walked all = WalkInOrder(Input(), 1);
  ASSERT_EQ(all.items.size(), 200u);
  int open_now = 0;
  for (int fd = 0; fd < 1024; ++fd) open_now = fcntl(fd, F_GETFD) != -1 ? fd + 1 : open_now;
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  bool full = false;
  for (int spare : {4, 6, 8, 12, 40}) {
    struct rlimit low = saved;
    low.rlim_cur = open_now + spare;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    const Walked w = WalkInOrder(Input(), 8);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_LE(w.items.size(), all.items.size());
    EXPECT_TRUE(std::equal(w.items.begin(), w.items.end(), all.items.begin())) << spare;
    if (w.status.empty()) {
      EXPECT_EQ(w.items, all.items) << spare;
      full = true;
    } else {
      EXPECT_NE(w.status.find("the walk stops here"), std::string::npos) << w.status;
    }
  }
  EXPECT_TRUE(full);  // how low a limit stops the walk depends on the readers' timing
}

// OpenItemSource lives in item_source.cc; its tests sit here with the walker.
TEST_F(TreeWalkerTest, OpenItemSourcePicksTheKind) {
  File("list.txt");
  Dir("tree");
  File("tree/one");
  {
    std::FILE* f = std::fopen(Abs("list.txt").c_str(), "w");
    std::fputs("x\ny\n", f);
    std::fclose(f);
  }
  Settings s;
  s.input.kind = InputKind::kAuto;
  s.input.path = Abs("tree");
  EXPECT_EQ(*ResolveInputKind(s.input), InputKind::kTree);
  Result<std::unique_ptr<ItemSource>> src = OpenItemSource(s, "");
  ASSERT_TRUE(src.ok());
  Item item;
  ASSERT_TRUE((*src)->Next(&item));
  EXPECT_EQ(item.text, "one");

  s.input.path = Abs("list.txt");
  EXPECT_EQ(*ResolveInputKind(s.input), InputKind::kList);
  src = OpenItemSource(s, "");
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE((*src)->Next(&item));
  EXPECT_EQ(item.text, "x");

  s.input.path = "-";
  EXPECT_EQ(*ResolveInputKind(s.input), InputKind::kList);

  // --items: a tree job run on a list of its relative paths.
  s.input.path = Abs("tree");
  src = OpenItemSource(s, Abs("list.txt"));
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE((*src)->Next(&item));
  EXPECT_EQ(item.text, "x");

  s.input.path = Abs("nope");
  src = OpenItemSource(s, "");
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().message(),
            "input.path '" + Abs("nope") +
                "' does not exist; set input.path in settings.toml or pass -i PATH");
  s.input.kind = InputKind::kList;
  src = OpenItemSource(s, "");
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("does not exist"), std::string::npos);
  s.input.path = Abs("tree");
  src = OpenItemSource(s, "");
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("is a directory"), std::string::npos);
  src = OpenItemSource(s, Abs("no-items"));
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().message(),
            "cannot open items file '" + Abs("no-items") + "': No such file or directory");
}

}  // namespace
}  // namespace shoal
