#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fstream>

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "job/item_paths.h"
#include "job/output_file.h"
#include "job/template.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

Settings TreeSettings(const std::string& input) {
  Settings s;
  s.input.path = input;
  return s;
}

std::string Expand(std::string_view tmpl, const ItemPaths& p, bool quote = false) {
  Result<std::string> r = ExpandTemplate(tmpl, p, quote);
  EXPECT_TRUE(r.ok()) << tmpl << ": " << r.status().message();
  return r.ok() ? r.value() : "<error>";
}

TEST(ItemPathsTest, TreeItemEveryPlaceholder) {
  TempDir run;
  ItemPaths p =
      MakeItemPaths(TreeSettings("/data/in"), InputKind::kTree, "d01/a.tar.gz", 17, 3, run.path());
  struct Case {
    const char* tmpl;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"{item}", "d01/a.tar.gz"},
      {"{path}", "/data/in/d01/a.tar.gz"},
      {"{rel}", "d01/a.tar.gz"},
      {"{name}", "a.tar.gz"},
      {"{stem}", "a.tar"},
      {"{ext}", "gz"},
      {"{dir}", "/data/in/d01"},
      {"{index}", "17"},
      {"{worker}", "3"},
      {"{run}", run.path()},
      {"{out}", run.path() + "/out/d01"},
      {"{}", "/data/in/d01/a.tar.gz"},
      {"{.}", "/data/in/d01/a.tar"},
      {"{/}", "a.tar.gz"},
      {"{//}", "/data/in/d01"},
      {"{/.}", "a.tar"},
      {"{#}", "17"},
      {"{%}", "3"},
      {"{{}}", "{}"},
      {"{{item}}", "{item}"},
      {"x-{{{name}}}-y", "x-{a.tar.gz}-y"},
      {"plain text", "plain text"},
      {"", ""},
      {"{out}/{stem}.zst", run.path() + "/out/d01/a.tar.zst"},
  };
  for (const Case& c : cases) EXPECT_EQ(Expand(c.tmpl, p), c.want) << c.tmpl;
  EXPECT_TRUE(fs::is_directory(run.path() + "/out/d01"));
}

TEST(ItemPathsTest, InputPathWithTrailingSlash) {
  ItemPaths p = MakeItemPaths(TreeSettings("/data/"), InputKind::kTree, "f", 1, 1, "/r");
  EXPECT_EQ(p.path, "/data/f");
  EXPECT_EQ(p.out, "/r/out");
}

TEST(ItemPathsTest, NamesStemsAndExtensions) {
  struct Case {
    const char* item;
    const char* name;
    const char* stem;
    const char* ext;
    const char* dir;
    const char* noext;
  };
  const Case cases[] = {
      {"a.tar.gz", "a.tar.gz", "a.tar", "gz", ".", "a.tar"},
      {".bashrc", ".bashrc", ".bashrc", "", ".", ".bashrc"},
      {"home/.bashrc.bak", ".bashrc.bak", ".bashrc", "bak", "home", "home/.bashrc"},
      {"noext", "noext", "noext", "", ".", "noext"},
      {"file.", "file.", "file.", "", ".", "file."},
      {"/abs/x.y/z", "z", "z", "", "/abs/x.y", "/abs/x.y/z"},
      // A trailing slash names a directory, which has no extension: {.}
      // keeps "x.y/" whole as it keeps "dir/sub/" ({name} still drops the
      // slash, as basename(1) does).
      {"dir.d/", "dir.d", "dir.d", "", ".", "dir.d/"},
      {"x.y//", "x.y", "x.y", "", ".", "x.y//"},
      {"a/b.c/", "b.c", "b.c", "", "a", "a/b.c/"},
      {"dir/sub/", "sub", "sub", "", "dir", "dir/sub/"},
      {"a.b/c", "c", "c", "", "a.b", "a.b/c"},
      {".hidden.tar.gz", ".hidden.tar.gz", ".hidden.tar", "gz", ".", ".hidden.tar"},
      {"..", "..", "..", "", ".", ".."},
      {"a/.b", ".b", ".b", "", "a", "a/.b"},
      {"/f.c", "f.c", "f", "c", "/", "/f"},
      {"/", "/", "/", "", "/", "/"},
      {"a//b//", "b", "b", "", "a", "a//b//"},
  };
  for (const Case& c : cases) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, c.item, 1, 1, "/r");
    EXPECT_EQ(p.path, c.item);
    EXPECT_EQ(p.name, c.name) << c.item;
    EXPECT_EQ(p.stem, c.stem) << c.item;
    EXPECT_EQ(p.ext, c.ext) << c.item;
    EXPECT_EQ(p.dir, c.dir) << c.item;
    EXPECT_EQ(p.noext, c.noext) << c.item;
  }
}

// A reused ItemPaths (the worker's, the dry run's) must not keep anything of
// the item before.
TEST(ItemPathsTest, ReusedPathsKeepNothingOfTheItemBefore) {
  ItemPaths p;
  FillItemPaths(Settings(), InputKind::kList, "d/a.txt", 1, 1, "/r", &p);
  FillItemPaths(Settings(), InputKind::kList, "b", 2, 1, "/r", &p);
  EXPECT_EQ(p.ext, "");
  EXPECT_EQ(p.stem, "b");
  EXPECT_EQ(p.noext, "b");
  EXPECT_EQ(p.dir, ".");
  EXPECT_EQ(p.out, "/r/out");
}

TEST(ItemPathsTest, TemplateKnowsTheFieldsItReads) {
  Result<Template> t = Template::Parse("x {item} {{literal}} {/.} {#}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->fields(), unsigned{kFieldItem | kFieldStem | kFieldIndex});
  Result<Template> none = Template::Parse("plain {{text}}");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->fields(), 0u);
  EXPECT_FALSE(Template::Parse("{nmae}").ok());
}

// Filling only what a template reads gives the same expansion as filling all.
TEST(ItemPathsTest, FillingOnlyTheFieldsATemplateReadsExpandsTheSame) {
  TempDir run;
  Settings s = TreeSettings("/data/in");
  for (const char* text :
       {"{item}", "{path} {name}", "{stem}.{ext} in {dir}", "{.}", "{out}/{name}",
        "{rel} {index} {worker} {run}", "{/} {//} {/.} {#} {%} {}"}) {
    Result<Template> t = Template::Parse(text);
    ASSERT_TRUE(t.ok()) << text;
    ItemPaths all = MakeItemPaths(s, InputKind::kTree, "d1/sub/a.tar.gz", 7, 2, run.path());
    ItemPaths some;
    FillItemPaths(s, InputKind::kTree, "d1/sub/a.tar.gz", 7, 2, run.path(), &some, t->fields());
    std::string want, got;
    ASSERT_TRUE(t->AppendTo(all, false, false, &want).ok());
    ASSERT_TRUE(t->AppendTo(some, false, false, &got).ok());
    EXPECT_EQ(got, want) << text;
  }
}

TEST(ItemPathsTest, RelNeverEscapes) {
  struct Case {
    const char* item;
    const char* rel;
    const char* out;
  };
  const Case cases[] = {
      {"../../etc/passwd", "etc/passwd", "/r/out/etc"},
      {"/etc/passwd", "etc/passwd", "/r/out/etc"},
      {"./a/./b/c", "a/b/c", "/r/out/a/b"},
      {"a/../../b/f", "b/f", "/r/out/b"},
      {"a//b///c", "a/b/c", "/r/out/a/b"},
      {"..", "", "/r/out"},
      {"x/..", "", "/r/out"},
      {"-rf", "-rf", "/r/out"},
      {"...", "...", "/r/out"},
  };
  for (const Case& c : cases) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, c.item, 1, 1, "/r");
    EXPECT_EQ(p.rel, c.rel) << c.item;
    EXPECT_EQ(p.out, c.out) << c.item;
  }
}

TEST(ItemPathsTest, UnknownAndUnbalanced) {
  ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, "x", 1, 1, "/r");
  Result<std::string> r = ExpandTemplate("gzip {nmae}", p, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("{nmae}"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ValidateTemplate("{nmae}").ok());
  EXPECT_NE(r.status().message().find("did you mean {name}?"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ValidateTemplate("{2x}").ok());
  EXPECT_FALSE(ValidateTemplate("{/..}").ok());
  EXPECT_FALSE(ValidateTemplate("{HOME}").ok());
  EXPECT_FALSE(ValidateTemplate("open {").ok());
  EXPECT_FALSE(ValidateTemplate("close }").ok());
  EXPECT_FALSE(ValidateTemplate("{{}").ok());
  EXPECT_TRUE(ValidateTemplate("awk {{print $1}}").ok());
  EXPECT_TRUE(ValidateTemplate("{} {.} {/} {//} {/.} {#} {%} {out}").ok());
  EXPECT_TRUE(ValidateTemplate("").ok());
}

// Braces around what no placeholder is made of pass through, as in GNU
// parallel: awk's and a shell's braces need no {{ }}.
TEST(ItemPathsTest, BracesThatCannotBeAPlaceholderAreLiteral) {
  ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, "a.txt", 7, 1, "/r");
  auto expand = [&](std::string_view tmpl, bool quote = false) {
    Result<std::string> r = ExpandTemplate(tmpl, p, quote);
    return r.ok() ? *r : "error: " + r.status().message();
  };
  EXPECT_EQ(expand("{print $1}"), "{print $1}");
  EXPECT_EQ(expand("awk '{print $1, \"{}\"}' {}", true), "awk '{print $1, \"'a.txt'\"}' 'a.txt'");
  EXPECT_EQ(expand("BEGIN{x=1}{.}"), "BEGIN{x=1}a");
  EXPECT_EQ(expand("cp {a,b}.{#}"), "cp {a,b}.7");
  EXPECT_EQ(expand("echo ${HOME}/${#}/{/}"), "echo ${HOME}/$7/a.txt");
  EXPECT_EQ(expand("{\"k\": {#}, \"f\": {\"n\": \"{/.}\"}}"), "{\"k\": 7, \"f\": {\"n\": \"a\"}}");
  EXPECT_EQ(expand("{} }"),
            "error: unmatched '}' in template \"{} }\": write }} for a literal brace");
  EXPECT_EQ(expand("{ }{}"), "{ }a.txt");
  EXPECT_EQ(expand("{a {}"), "{a a.txt");
}

std::string ShellOutput(const std::string& command) {
  FILE* f = ::popen(command.c_str(), "r");  // runs /bin/sh -c command
  if (f == nullptr) return "<popen failed>";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

const std::vector<std::string>& AwkwardItems() {
  static const std::vector<std::string> items = {
      "plain",  "with space",   "it's",      "\"double\"", "$HOME",  "`id`", "$(id)",
      "*",      "a;b|c&d",      "new\nline", "-n",         "--help", "\\",   "''",
      "tab\tx", "\xff\xfe\x80", "{item}",    "",           "~root",  "!x",   "a'b'c'",
  };
  return items;
}

TEST(ItemPathsTest, ShellQuotingRoundTrips) {
  for (const std::string& item : AwkwardItems()) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, item, 1, 1, "/r");
    std::string script = Expand("printf %s {item}", p, /*quote=*/true);
    EXPECT_EQ(ShellOutput(script), item) << script;
    // Several values in one script stay separate words.
    script = Expand("printf '<%s>' {item} {name}", p, true);
    EXPECT_EQ(ShellOutput(script), "<" + item + "><" + p.name + ">") << script;
  }
}

TEST(ItemPathsTest, UnquotedValuesAreRawBytes) {
  for (const std::string& item : AwkwardItems()) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, item, 1, 1, "/r");
    EXPECT_EQ(Expand("{item}", p), item);
  }
}

TEST(ItemPathsTest, HostileItemsStayInsideRunOut) {
  TempDir run;
  const std::string base = fs::canonical(run.path()).string() + "/out";
  const char* items[] = {"../../etc/x", "/abs/path/f", "a/../../b/f", "./x/./y/f",
                         "..",          "../",         "a//b///c",    "../../../../../../tmp/z",
                         "..\n../e/f",  "-rf/x"};
  for (const char* item : items) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, item, 1, 1, run.path());
    std::string out = Expand("{out}", p);
    ASSERT_TRUE(fs::is_directory(out)) << item;
    std::string real = fs::canonical(out).string();
    EXPECT_EQ(real.rfind(base, 0), 0u) << item << " -> " << real;
  }
}

TEST(ItemPathsTest, OutRefusesSymlinks) {
  TempDir run, elsewhere;
  ASSERT_EQ(::mkdir((run.path() + "/out").c_str(), 0755), 0);
  fs::create_directory_symlink(elsewhere.path(), run.path() + "/out/evil");
  for (const char* item : {"evil/f", "evil/sub/f"}) {
    ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, item, 1, 1, run.path());
    Result<std::string> r = ExpandTemplate("{out}/{name}", p, false);
    ASSERT_FALSE(r.ok()) << item;
    EXPECT_NE(r.status().message().find("symlink"), std::string::npos) << r.status().message();
  }
  EXPECT_TRUE(fs::is_empty(elsewhere.path()));

  // A symlinked out/ itself is refused too.
  TempDir run2;
  fs::create_directory_symlink(elsewhere.path(), run2.path() + "/out");
  ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, "f", 1, 1, run2.path());
  EXPECT_FALSE(ExpandTemplate("{out}", p, false).ok());
}

TEST(ItemPathsTest, OutIsCreatedOnlyWhenUsed) {
  TempDir run;
  ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, "a/b", 1, 1, run.path());
  EXPECT_EQ(Expand("{name} {rel}", p), "b a/b");
  EXPECT_FALSE(fs::exists(run.path() + "/out"));
}

TEST(ItemPathsTest, ForgedOutIsRejected) {
  TempDir run;
  ItemPaths p = MakeItemPaths(Settings(), InputKind::kList, "a", 1, 1, run.path());
  p.out = run.path() + "/out/../../x";
  EXPECT_FALSE(ExpandTemplate("{out}", p, false).ok());
  p.out = run.path() + "/outside";
  EXPECT_FALSE(ExpandTemplate("{out}", p, false).ok());
}

TEST(CreateOutputFileTest, InsideRunOnly) {
  TempDir run, elsewhere;
  Result<OutputFile> f = CreateOutputFile(run.path(), "spill/7.stdout");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->rel, "spill/7.stdout");
  EXPECT_TRUE(fs::is_regular_file(run.path() + "/spill/7.stdout"));

  f = CreateOutputFile(run.path(), run.path() + "/out/a/../b/c.txt");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->rel, "out/b/c.txt");

  EXPECT_FALSE(CreateOutputFile(run.path(), "../escape").ok());
  EXPECT_FALSE(CreateOutputFile(run.path(), "/etc/passwd").ok());
  EXPECT_FALSE(CreateOutputFile(run.path(), run.path()).ok());
  fs::create_directory_symlink(elsewhere.path(), run.path() + "/link");
  EXPECT_FALSE(CreateOutputFile(run.path(), "link/x").ok());
  fs::create_symlink(elsewhere.path() + "/target", run.path() + "/filelink");
  EXPECT_FALSE(CreateOutputFile(run.path(), "filelink").ok());
  EXPECT_TRUE(fs::is_empty(elsewhere.path()));
}

// ---- output.tree: {out} rooted outside the run directory ----

TEST(OutputTreeTest, OutIsTheDirectoryOfRelInTheTree) {
  TempDir run, tree;
  Settings s;
  s.output.tree = tree.path();
  for (const char* item : {"a/b/f.txt", "../../etc/x", "/abs/f", "top"}) {
    ItemPaths p = MakeItemPaths(s, InputKind::kList, item, 1, 1, run.path());
    std::string out = Expand("{out}", p);
    ASSERT_TRUE(fs::is_directory(out)) << item;
    EXPECT_EQ(fs::canonical(out).string().rfind(fs::canonical(tree.path()).string(), 0), 0u)
        << item << " -> " << out;
  }
  ItemPaths p = MakeItemPaths(s, InputKind::kList, "a/b/f.txt", 1, 1, run.path());
  EXPECT_EQ(p.out, tree.path() + "/a/b");
  EXPECT_FALSE(fs::exists(run.path() + "/out"));
}

TEST(OutputTreeTest, SymlinksInTheTreeAreRefused) {
  TempDir run, tree, elsewhere;
  Settings s;
  s.output.tree = tree.path();
  fs::create_directory_symlink(elsewhere.path(), tree.path() + "/evil");
  ItemPaths p = MakeItemPaths(s, InputKind::kList, "evil/sub/f", 1, 1, run.path());
  Result<std::string> r = ExpandTemplate("{out}/{name}", p, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symlink"), std::string::npos) << r.status().message();
  Result<PendingOutputFile> f =
      CreatePendingOutputFile(run.path(), tree.path() + "/evil/f.out", 3, tree.path());
  EXPECT_FALSE(f.ok());
  EXPECT_TRUE(fs::is_empty(elsewhere.path()));
  // A forged {out} outside the tree is refused where it is made.
  p.out = tree.path() + "/../x";
  EXPECT_FALSE(ExpandTemplate("{out}", p, false).ok());
}

TEST(OutputTreeTest, StdoutFileInTheTreeAppearsOnCommit) {
  TempDir run, tree;
  const std::string path = tree.path() + "/d/f.out";
  {
    Result<PendingOutputFile> f = CreatePendingOutputFile(run.path(), path, 9, tree.path());
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->rel, path);  // records name a file outside the run whole
    EXPECT_TRUE(fs::exists(tree.path() + "/d/.f.out.shoal-tmp-9"));
    ASSERT_TRUE(f->Commit().ok());
  }
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_FALSE(fs::exists(tree.path() + "/d/.f.out.shoal-tmp-9"));
  // Without the tree, the same path is outside the run.
  EXPECT_FALSE(CreatePendingOutputFile(run.path(), path, 9).ok());
  EXPECT_FALSE(CreatePendingOutputFile(run.path(), tree.path() + "/../x", 9, tree.path()).ok());
}

// Writes `text` as item `index`'s stdout file `path` and commits it.
Status CommitOutput(const std::string& run, const std::string& path, uint64_t index,
                    const std::string& item, const std::string& text,
                    const std::string& tree = {}) {
  Result<PendingOutputFile> f = CreatePendingOutputFile(run, path, index, tree, item);
  if (!f.ok()) return f.status();
  if (::write(f->fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Status::Error("short write");
  }
  return f->Commit();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Items of the same {rel} committing at once, in four processes, while
// item 1 owns the file: every one is refused and item 1's file stays. (Each
// swap looks at what it moved aside; two swaps interleaved once put back
// each other's file and removed the owner's: seen in CI on a retry.)
TEST(PendingOutputFileTest, ConcurrentCommitsOfOneNameNeverReplaceTheOwner) {
  TempDir run;
  const std::string path = "out/a/f.txt";
  ASSERT_TRUE(CommitOutput(run.path(), path, 1, "a/f", "owner").ok());
  std::vector<pid_t> children;
  for (int k = 0; k < 4; ++k) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int accepted = 0;
      for (int i = 0; i < 300; ++i) {
        accepted +=
            CommitOutput(run.path(), path, 2 + k, "./a/f", "item " + std::to_string(k)).ok();
      }
      ::_exit(accepted == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a commit was accepted";
  }
  EXPECT_EQ(Slurp(run.path() + "/" + path), "owner");
}

// a/f, ./a/f and b/../a/f have one {rel}: the second item to commit the
// file is refused, naming the first, and the first's file stays. The item
// itself (a retry, a resume) and another run may replace it.
TEST(PendingOutputFileTest, AnotherItemOfTheRunMayNotReplaceAnOutput) {
  TempDir run, other_run, tree;
  const std::string path = "out/a/f.txt";
  ASSERT_TRUE(CommitOutput(run.path(), path, 1, "a/f", "one").ok());
  Status second = CommitOutput(run.path(), path, 2, "./a/f", "two");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.message(), run.path() + "/" + path +
                                  " is already the output of item 1 ('a/f') of this run; two "
                                  "items may not share an output file: make command.stdout_path "
                                  "tell them apart (e.g. with {index}), or list each item once");
  EXPECT_EQ(Slurp(run.path() + "/" + path), "one");
  EXPECT_EQ(fs::directory_iterator(run.path() + "/out/a")->path().filename(), "f.txt")
      << "no temporary file is left";
  // Item 1 again: its own file.
  ASSERT_TRUE(CommitOutput(run.path(), path, 1, "a/f", "one again").ok());
  EXPECT_EQ(Slurp(run.path() + "/" + path), "one again");
  // An item whose text is too long for the mark is named by its index.
  const std::string long_item(200, 'x');
  ASSERT_TRUE(CommitOutput(run.path(), "out/g", 3, long_item, "three").ok());
  second = CommitOutput(run.path(), "out/g", 4, "g", "four");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.message().find("is already the output of item 3 of this run"), std::string::npos)
      << second.message();
  // In output.tree, a file of an earlier run is replaced by any item.
  const std::string in_tree = tree.path() + "/f.txt";
  ASSERT_TRUE(CommitOutput(other_run.path(), in_tree, 5, "f", "old", tree.path()).ok());
  ASSERT_TRUE(CommitOutput(run.path(), in_tree, 6, "f", "new", tree.path()).ok());
  EXPECT_EQ(Slurp(in_tree), "new");
  EXPECT_FALSE(CommitOutput(run.path(), in_tree, 7, "./f", "newer", tree.path()).ok());
  // A file that is no item's output (the command's own) is replaced.
  std::ofstream(run.path() + "/out/plain") << "plain";
  ASSERT_TRUE(CommitOutput(run.path(), "out/plain", 8, "plain", "eight").ok());
  EXPECT_EQ(Slurp(run.path() + "/out/plain"), "eight");
  // A directory at the name stays.
  fs::create_directories(run.path() + "/out/d");
  EXPECT_FALSE(CommitOutput(run.path(), "out/d", 9, "d", "nine").ok());
  EXPECT_TRUE(fs::is_directory(run.path() + "/out/d"));
}

TEST(OutputTreeTest, CheckInsideRunRootsOutInTheTree) {
  auto check = [](const char* text, const std::string& tree) {
    Result<Template> t = Template::Parse(text);
    EXPECT_TRUE(t.ok()) << text;
    return t->CheckInsideRun(tree);
  };
  const std::string tree = "/data/converted";
  EXPECT_TRUE(check("{out}/{name}.gz", tree).ok());
  EXPECT_TRUE(check("/data/converted/{rel}.gz", tree).ok());
  EXPECT_TRUE(check("{run}/x/{name}", tree).ok());
  Status up = check("{out}/../{name}", tree);
  EXPECT_FALSE(up.ok());
  EXPECT_NE(up.message().find("climbs out of output.tree"), std::string::npos) << up.message();
  EXPECT_FALSE(check("/data/converted/../{rel}", tree).ok());
  EXPECT_FALSE(check("/data/convertedx/{rel}", tree).ok());
  EXPECT_FALSE(check("/data/mirror/{rel}.gz", tree).ok());
  // Without a tree, {out}/.. is still {run}.
  EXPECT_TRUE(check("{out}/../{name}", "").ok());
  EXPECT_FALSE(check("/data/converted/{rel}.gz", "").ok());
}

TEST(OutputTreeTest, CheckedBeforeAnythingRuns) {
  TempDir dir;
  EXPECT_TRUE(CheckOutputTree("", true).ok());
  EXPECT_TRUE(CheckOutputTree(dir.path(), false).ok());
  const std::string missing = dir.path() + "/a/b";
  EXPECT_TRUE(CheckOutputTree(missing, false).ok());
  EXPECT_FALSE(fs::exists(missing)) << "check made it";
  EXPECT_TRUE(CheckOutputTree(missing, true).ok());
  EXPECT_TRUE(fs::is_directory(missing));
  FILE* f = std::fopen((dir.path() + "/file").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  Status st = CheckOutputTree(dir.path() + "/file/t", true);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUsage);
  EXPECT_FALSE(CheckOutputTree(dir.path() + "/file", true).ok());
}

TEST(LeftoverTemporaryTest, OnlyShoalsOwnForm) {
  EXPECT_TRUE(IsLeftoverTemporary(".f.out.shoal-tmp-7"));
  EXPECT_TRUE(IsLeftoverTemporary(".a b.shoal-tmp-123456"));
  EXPECT_FALSE(IsLeftoverTemporary("f.out.shoal-tmp-7"));  // not hidden
  EXPECT_FALSE(IsLeftoverTemporary(".f.shoal-tmp-"));
  EXPECT_FALSE(IsLeftoverTemporary(".f.shoal-tmp-7x"));
  EXPECT_FALSE(IsLeftoverTemporary(".shoal-tmp-7"));
  EXPECT_FALSE(IsLeftoverTemporary("f.out"));
}

}  // namespace
}  // namespace shoal
