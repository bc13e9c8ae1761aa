#include <gtest/gtest.h>

#include "common/test_util.h"
#include "config/cli.h"
#include "config/help.h"
#include "config/keys.h"
#include "config/load.h"

namespace shoal {
namespace {

// docs/settings.md is generated; a key added to config/keys.cc without
// regenerating it fails here.
TEST(SettingsReferenceTest, DocsFileIsUpToDate) {
  const std::string file = test::ReadFile(SHOAL_SETTINGS_MD);
  ASSERT_FALSE(file.empty()) << "cannot read " << SHOAL_SETTINGS_MD;
  EXPECT_TRUE(file == SettingsReference(true))
      << "docs/settings.md differs from the table of config/keys.cc; regenerate it with\n"
      << "  build/shoal help settings --markdown > docs/settings.md";
}

TEST(SettingsReferenceTest, HelpSettings) {
  EXPECT_EQ(HelpText("settings"), SettingsReference(false));
  EXPECT_EQ(HelpText("settings --markdown"), SettingsReference(true));

  const char* plain[] = {"shoal", "help", "settings"};
  Result<CommandLine> cl = ParseCommandLine(3, plain);
  ASSERT_TRUE(cl.ok()) << cl.status().message();
  EXPECT_EQ(cl->verb, Verb::kHelp);
  EXPECT_EQ(cl->help_topic, "settings");

  const char* md[] = {"shoal", "help", "settings", "--markdown"};
  cl = ParseCommandLine(4, md);
  ASSERT_TRUE(cl.ok()) << cl.status().message();
  EXPECT_EQ(cl->help_topic, "settings --markdown");

  const char* bad[] = {"shoal", "help", "settings", "--html"};
  cl = ParseCommandLine(4, bad);
  ASSERT_FALSE(cl.ok());
  EXPECT_EQ(
      cl.status().message(),
      "unexpected argument '--html', help settings takes only --markdown or --man; see 'shoal "
      "--help'");

  const char* man[] = {"shoal", "help", "settings", "--man"};
  cl = ParseCommandLine(4, man);
  ASSERT_TRUE(cl.ok()) << cl.status().message();
  EXPECT_EQ(cl->help_topic, "settings --man");
  EXPECT_EQ(HelpText("settings --man"), SettingsManPage());
}

TEST(SettingsReferenceTest, ShowsTypesDefaultsAndChoices) {
  const std::string text = SettingsReference(false);
  EXPECT_NE(text.find("  job.workers = 0  (integer, 0 to 4096, or \"N%\", \"+N\", \"-N\" of the "
                      "online cores)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  output.format = \"jsonl\"  (one of \"jsonl\", \"tsv\")\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[queue]\n"), std::string::npos);
  const std::string md = SettingsReference(true);
  EXPECT_NE(md.find("## [job]\n"), std::string::npos);
  EXPECT_NE(md.find("| `job.grace` | duration | `\"10s\"` |"), std::string::npos) << md;
}

// shoal-settings(5) has every key with its default, and nothing that roff
// would take as a request or an option dash.
TEST(SettingsReferenceTest, ManPageHasEveryKey) {
  const std::string man = SettingsManPage();
  EXPECT_EQ(man.find(".TH SHOAL\\-SETTINGS 5 "), man.find(".TH")) << man.substr(0, 200);
  for (const KeySpec& spec : Keys()) {
    const std::string dotted = std::string(spec.section) + "." + std::string(spec.key);
    EXPECT_NE(man.find("\\fB" + RoffEscape(dotted) + "\\fR = "), std::string::npos) << dotted;
  }
  EXPECT_NE(man.find("\\fBjob.grace\\fR = \\fI\"10s\"\\fR (duration)"), std::string::npos);
  EXPECT_NE(man.find("settings.toml"), std::string::npos);
  EXPECT_EQ(man.find("\n-"), std::string::npos);
}

}  // namespace
}  // namespace shoal
