#include "job/template.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "job/test_items.h"

namespace shoal {
namespace {

using test::ListItems;

std::string Line(const std::string& text, BatchMode mode, const std::vector<std::string>& names) {
  Result<Template> t = Template::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status().message();
  std::string out;
  Status s = t->AppendLine(ListItems(names), mode, &out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// What parallel 20221122 prints as the tag of "-X --tagstring TEXT echo ::: a b"
// (or d/a.x e/b.y), but for {#}: shoal's is the item's position.
TEST(TemplateLine, ContextRepeatsEachWordWithAPlaceholder) {
  const BatchMode x = BatchMode::kContext;
  EXPECT_EQ(Line("{}", x, {"a", "b"}), "a b");
  EXPECT_EQ(Line("x{}y", x, {"a", "b"}), "xay xby");
  EXPECT_EQ(Line("T {}-{%} U", x, {"a", "b"}), "T a-1 b-1 U");
  EXPECT_EQ(Line("{}{}", x, {"a", "b"}), "aa bb");
  EXPECT_EQ(Line("{/}|{.}|{//}", x, {"d/a.x", "e/b.y"}), "a.x|d/a|d b.y|e/b|e");
  EXPECT_EQ(Line("fixed", x, {"a", "b"}), "fixed");
  EXPECT_EQ(Line("{%}", x, {"a", "b"}), "1");  // the same for every item: once
  EXPECT_EQ(Line("{#}", x, {"a", "b"}), "1 2");
  EXPECT_EQ(Line("  {}  ", x, {"a", "b"}), "  a b  ");
  EXPECT_EQ(Line("x{}y", x, {"a"}), "xay");
}

// ... of "-m --tagstring TEXT" (and "-n 2", which joins as -m does).
TEST(TemplateLine, JoinPutsEveryItemInEachPlaceholder) {
  const BatchMode m = BatchMode::kJoin;
  EXPECT_EQ(Line("{}", m, {"a", "b"}), "a b");
  EXPECT_EQ(Line("x{}y", m, {"a", "b"}), "xa by");
  EXPECT_EQ(Line("{}-{}", m, {"a", "b"}), "a b-a b");
  EXPECT_EQ(Line("{/}|{.}", m, {"d/a.x", "e/b.y"}), "a.x b.y|d/a e/b");
  EXPECT_EQ(Line("{}-{%}", m, {"a", "b"}), "a b-1");
  EXPECT_EQ(Line("{#}", m, {"a", "b"}), "1 2");
}

}  // namespace
}  // namespace shoal
