#include "job/http_request.h"

#include <cstring>

#include <gtest/gtest.h>

namespace shoal {
namespace {

const char* FakeEnv(const char* name) {
  if (std::strcmp(name, "API_TOKEN") == 0) return "s3cr{e}t";
  if (std::strcmp(name, "EMPTY") == 0) return "";
  return nullptr;
}

TEST(ExpandEnvironmentTest, ReplacesVariablesAndDoublesBraces) {
  Result<std::string> r = ExpandEnvironment("Bearer ${API_TOKEN}", "h", FakeEnv);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "Bearer s3cr{{e}}t");
  EXPECT_EQ(*ExpandEnvironment("a${EMPTY}b $x ${1x} $", "h", FakeEnv), "ab $x ${1x} $");
}

TEST(ExpandEnvironmentTest, UnsetVariableNamesItAndTheSetting) {
  Result<std::string> r =
      ExpandEnvironment("Bearer ${NOPE}", "http.headers.Authorization", FakeEnv);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("${NOPE}"), std::string::npos);
  EXPECT_NE(r.status().message().find("http.headers.Authorization"), std::string::npos);
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  std::string out;
  AppendPercentEncoded(&out, "a b&c/d~e-f.g_h\xc3\xa9");
  EXPECT_EQ(out, "a%20b%26c%2Fd~e-f.g_h%C3%A9");
}

TEST(HttpRequestTemplateTest, BuildsUrlHeadersAndBody) {
  HttpSettings http;
  http.url = "http://127.0.0.1:1/customers/{item}?n={index}";
  http.headers = {{"Authorization", "Bearer ${API_TOKEN}"}, {"X-Item", "{item}"}};
  http.body = "{{\"id\": \"{item}\"}}";
  Result<HttpRequestTemplate> t = HttpRequestTemplate::Compile(http, FakeEnv);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(t->has_body());
  Settings s;
  ItemPaths paths = MakeItemPaths(s, InputKind::kList, "a b", 7, 1, "/run");
  std::string url, body;
  std::vector<std::string> headers;
  ASSERT_TRUE(t->Build(paths, &url, &headers, &body).ok());
  EXPECT_EQ(url, "http://127.0.0.1:1/customers/a%20b?n=7");
  EXPECT_EQ(headers, (std::vector<std::string>{"Authorization: Bearer s3cr{e}t", "X-Item: a b"}));
  EXPECT_EQ(body, "{\"id\": \"a b\"}");
}

TEST(HttpRequestTemplateTest, HeaderWithLineBreakFailsTheItem) {
  HttpSettings http;
  http.url = "http://h/{item}";
  http.headers = {{"X-Item", "{item}"}};
  Result<HttpRequestTemplate> t = HttpRequestTemplate::Compile(http, FakeEnv);
  ASSERT_TRUE(t.ok());
  Settings s;
  std::string url, body;
  std::vector<std::string> headers;
  EXPECT_FALSE(t->Build(MakeItemPaths(s, InputKind::kList, "x\r\nEvil: 1", 1, 1, "/r"), &url,
                        &headers, &body)
                   .ok());
}

TEST(HttpRequestTemplateTest, BadSettingsAreErrors) {
  HttpSettings http;
  http.url = "http://h/{nope}";
  EXPECT_FALSE(HttpRequestTemplate::Compile(http, FakeEnv).ok());
  http.url = "http://h/{item}";
  http.headers = {{"Bad Name", "x"}};
  EXPECT_FALSE(HttpRequestTemplate::Compile(http, FakeEnv).ok());
  http.headers = {{"Authorization", "Bearer ${UNSET_FOR_TEST}"}};
  Settings s;
  s.http = http;
  Status st = CheckHttpJob(s, FakeEnv, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUsage);
  s.http.headers.clear();
  s.http.body_file = "/nonexistent/body.json";
  EXPECT_FALSE(CheckHttpJob(s, FakeEnv, {}).ok());
}

}  // namespace
}  // namespace shoal
