#include "job/fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "job/argv_builder.h"
#include "job/item_paths.h"
#include "job/template.h"

namespace shoal {
namespace {

using V = std::vector<std::string>;

InputSettings Csv(const std::string& delimiter) {
  InputSettings input;
  input.delimiter = delimiter;
  return input;
}

InputSettings Colsep(const std::string& regex) {
  InputSettings input;
  input.colsep = regex;
  return input;
}

V Split(const InputSettings& input, std::string_view record) {
  Result<FieldSplitter> splitter = FieldSplitter::Make(input);
  EXPECT_TRUE(splitter.ok()) << splitter.status().message();
  if (!splitter.ok()) return {};
  std::vector<std::string> fields = {"stale", "stale", "stale", "stale", "stale", "stale"};
  size_t count = 99;
  Status s = splitter->Split(record, &fields, &count);
  EXPECT_TRUE(s.ok()) << s.message();
  fields.resize(count);
  return fields;
}

TEST(FieldSplitterTest, CsvWithAnyDelimiter) {
  EXPECT_EQ(Split(Csv(","), "a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(Csv(";"), "a;b,c;"), (V{"a", "b,c", ""}));
  EXPECT_EQ(Split(Csv("\t"), "a\tb c\t\td"), (V{"a", "b c", "", "d"}));
  EXPECT_EQ(Split(Csv(";"), ""), (V{""}));
  // Quotes as ListReader reads them: the delimiter, doubled quotes and line
  // ends inside; a quote inside a bare field is data; text after a closing
  // quote joins the field.
  EXPECT_EQ(Split(Csv(";"), "1;\"x;y\";\"say \"\"hi\"\"\""), (V{"1", "x;y", "say \"hi\""}));
  EXPECT_EQ(Split(Csv(","), "\"two\nlines\",\"cr\r\nlf\""), (V{"two\nlines", "cr\r\nlf"}));
  EXPECT_EQ(Split(Csv(","), "ab\"c,\"d\"e,\"\""), (V{"ab\"c", "de", ""}));
  EXPECT_EQ(Split(Csv(","), "a,\"open"), (V{"a", "open"}));
}

TEST(FieldSplitterTest, ColsepRegex) {
  EXPECT_EQ(Split(Colsep("\\s+"), "a  b\tc"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(Colsep("[,;]"), "a,b;c"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(Colsep(","), ",a,,b,"), (V{"", "a", "", "b", ""}));
  EXPECT_EQ(Split(Colsep(" *\\| *"), "a | b|c"), (V{"a", "b", "c"}));
  // No quoting: quotes are data.
  EXPECT_EQ(Split(Colsep(","), "\"a,b\""), (V{"\"a", "b\""}));
  // A pattern that can match nothing splits only where it matches something.
  EXPECT_EQ(Split(Colsep("x*"), "axxbxc"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(Colsep("^a"), "aba"), (V{"", "ba"}));  // "^" only at the start
  // A long record does not overflow the stack.
  std::string long_record(100000, ' ');
  long_record = "a" + long_record + "b";
  EXPECT_EQ(Split(Colsep("\\s+"), long_record), (V{"a", "b"}));
}

// A pattern that backtracks without end on a record stops at PCRE2's match
// limit: that record fails, with why; the next one splits.
TEST(FieldSplitterTest, ARecordTooCostlyToMatchFailsAlone) {
  Result<FieldSplitter> splitter = FieldSplitter::Make(Colsep("(a+)+b"));
  ASSERT_TRUE(splitter.ok());
  std::vector<std::string> fields;
  size_t count = 99;
  Status s = splitter->Split(std::string(40, 'a') + "cb", &fields, &count);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(count, 0u);
  EXPECT_NE(s.message().find("input.colsep cannot split this record: match limit"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Split(Colsep("(a+)+b"), "xabyb"), (V{"x", "yb"}));
}

TEST(FieldSplitterTest, WholeRecordIsOneField) {
  EXPECT_EQ(Split(InputSettings{}, "a,b;c"), (V{"a,b;c"}));
  InputSettings column = Csv(";");
  column.column = 2;  // the item is already the field
  EXPECT_EQ(FieldModeOf(column), FieldMode::kWhole);
  EXPECT_EQ(Split(column, "x;y"), (V{"x;y"}));
}

TEST(FieldSplitterTest, BadSettings) {
  InputSettings both = Csv(";");
  both.colsep = ",";
  EXPECT_NE(FieldSplitter::Make(both).status().message().find("both set"), std::string::npos);
  Result<FieldSplitter> bad = FieldSplitter::Make(Colsep("(a"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUsage);
  EXPECT_NE(bad.status().message().find("input.colsep \"(a\" is not a regular expression"),
            std::string::npos)
      << bad.status().message();
  InputSettings column = Colsep(",");
  column.column = 3;
  EXPECT_NE(FieldSplitter::Make(column).status().message().find("write {3}"), std::string::npos);
}

TEST(FieldSplitterTest, HeaderNames) {
  Result<FieldSplitter> splitter = FieldSplitter::Make(Csv(";"));
  ASSERT_TRUE(splitter.ok());
  EXPECT_EQ(HeaderNames(*splitter, "id;\"region\";;path").value(), (V{"id", "region", "", "path"}));
}

// The forms of a field are those of {} for the same text.
TEST(PathFormTest, FieldFormsMatchThePathForms) {
  Settings settings;
  for (std::string_view path : {"a/b/c.tar.gz", "c.txt", ".bashrc", "dir/", "/", "file.",
                                "/abs/x.y", "x.y/", "a//b", "", "dir/sub/", "..", "./f.c"}) {
    ItemPaths p = MakeItemPaths(settings, InputKind::kList, path, 1, 1, "/run");
    EXPECT_EQ(PathFormOf(path, PathForm::kWhole), p.path) << path;
    EXPECT_EQ(PathFormOf(path, PathForm::kName), p.name) << path;
    EXPECT_EQ(PathFormOf(path, PathForm::kDir), p.dir) << path;
    EXPECT_EQ(PathFormOf(path, PathForm::kNoext), p.noext) << path;
    EXPECT_EQ(PathFormOf(path, PathForm::kStem), p.stem) << path;
  }
}

class FieldTemplateTest : public ::testing::Test {
 protected:
  // `tmpl` expanded for `record`, read as the settings say.
  std::string Expand(std::string_view tmpl, std::string_view record, bool quote = false,
                     uint64_t index = 7) {
    Result<Template> t = Template::Parse(tmpl, FieldContextOf(settings_));
    EXPECT_TRUE(t.ok()) << t.status().message();
    if (!t.ok()) return "";
    Result<FieldSplitter> splitter = FieldSplitter::Make(settings_.input);
    EXPECT_TRUE(splitter.ok());
    ItemPaths paths;
    FillItemPaths(settings_, InputKind::kList, record, index, 1, "/run", &paths, t->fields(),
                  &*splitter);
    std::string out;
    Status s = t->AppendTo(paths, quote, /*make_out_dir=*/false, &out);
    return s.ok() ? out : "!" + s.message();
  }
  std::string ParseError(std::string_view tmpl) {
    Result<Template> t = Template::Parse(tmpl, FieldContextOf(settings_));
    return t.ok() ? "(ok)" : t.status().message();
  }

  Settings settings_;
};

TEST_F(FieldTemplateTest, NumberedFieldsInEveryForm) {
  settings_.input.delimiter = ";";
  const std::string record = "7;a/b/c.tar.gz;\"x;y\"";
  EXPECT_EQ(Expand("{1} {3}", record), "7 x;y");
  EXPECT_EQ(Expand("{2/}|{2//}|{2.}|{2/.}|{2}", record),
            "c.tar.gz|a/b|a/b/c.tar|c.tar|a/b/c.tar.gz");
  EXPECT_EQ(Expand("{}", record), record);  // {} stays the whole record
  EXPECT_EQ(Expand("{{1}}", record), "{1}");
  EXPECT_EQ(Expand("{1}{#}", record), "77");
}

TEST_F(FieldTemplateTest, NamedFieldsFromTheHeader) {
  settings_.input.delimiter = ";";
  settings_.input.header = true;
  settings_.input.field_names = {"id", "region", "file", "a.b"};
  const std::string record = "7;eu west;logs/x.gz;q";
  EXPECT_EQ(Expand("{id}-{region}", record), "7-eu west");
  EXPECT_EQ(Expand("{file/} {file.} {file//} {file/.}", record), "x.gz logs/x logs x");
  EXPECT_EQ(Expand("{a.b} {a.b/}", record), "q q");  // the whole name first
  // A name the header does not have: an error before anything runs.
  const std::string typo = ParseError("{regoin}");
  EXPECT_NE(typo.find("unknown placeholder {regoin}"), std::string::npos) << typo;
  EXPECT_NE(typo.find("did you mean {region}?"), std::string::npos) << typo;
  // A name that is also shoal's own could mean either.
  settings_.input.field_names = {"id", "name"};
  const std::string both = ParseError("{name}");
  EXPECT_NE(both.find("write {2} for the field"), std::string::npos) << both;
  EXPECT_EQ(ParseError("{id} {2} {/}"), "(ok)");
  settings_.input.field_names = {"id", "id"};
  EXPECT_NE(ParseError("{id}").find("write {N}"), std::string::npos);
}

TEST_F(FieldTemplateTest, ShellQuotedAndArgvBytes) {
  settings_.input.colsep = "\\t";
  const std::string record = "it's; rm -rf /\t$(x)\t-n";
  EXPECT_EQ(Expand("echo {1} {2} {3}", record, /*quote=*/true),
            "echo 'it'\\''s; rm -rf /' '$(x)' '-n'");
  settings_.command.argv = {"printf", "%s|", "{1}", "{2}", "{3}"};
  Result<ArgvBuilder> b = ArgvBuilder::Compile(settings_.command, FieldContextOf(settings_));
  ASSERT_TRUE(b.ok());
  Result<FieldSplitter> splitter = FieldSplitter::Make(settings_.input);
  ASSERT_TRUE(splitter.ok());
  ItemPaths paths;
  FillItemPaths(settings_, InputKind::kList, record, 1, 1, "/run", &paths, b->fields(), &*splitter);
  std::vector<std::string> argv;
  ASSERT_TRUE(b->Build(paths, false, &argv).ok());
  EXPECT_EQ(argv, (V{"printf", "%s|", "it's; rm -rf /", "$(x)", "-n"}));
}

TEST_F(FieldTemplateTest, AMissingFieldFailsTheItemNamingTheLine) {
  settings_.input.delimiter = ",";
  EXPECT_EQ(Expand("{5}", "a,b,c", false, 12), "!line 12 has 3 fields, but {5} needs field 5");
  EXPECT_EQ(Expand("{2/}", "a", false, 3), "!line 3 has 1 field, but {2/} needs field 2");
  settings_.input.separator = Separator::kNul;
  EXPECT_EQ(Expand("{4}", "a", false, 2), "!record 2 has 1 field, but {4} needs field 4");
}

TEST_F(FieldTemplateTest, WithoutFieldsOnlyTheWholeRecord) {
  EXPECT_EQ(Expand("{1}", "a,b"), "a,b");
  EXPECT_NE(ParseError("{2}").find("set input.delimiter"), std::string::npos);
  EXPECT_NE(ParseError("{0}").find("numbered from 1"), std::string::npos);
  settings_.input.column = 2;  // the item is one field already
  settings_.input.delimiter = ";";
  EXPECT_NE(ParseError("{2}").find("set input.delimiter"), std::string::npos);
}

TEST_F(FieldTemplateTest, NamesNotKnownYetAreAcceptedForLater) {
  FieldContext later;
  later.names_known = false;
  EXPECT_TRUE(Template::Parse("{region} {id/}", later).ok());
  EXPECT_FALSE(Template::Parse("{region", later).ok());
}

}  // namespace
}  // namespace shoal
