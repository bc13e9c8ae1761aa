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
  // A body that starts with a literal brace is JSON, and says so.
  EXPECT_EQ(headers, (std::vector<std::string>{"Authorization: Bearer s3cr{e}t", "X-Item: a b",
                                               "Content-Type: application/json"}));
  EXPECT_EQ(body, "{\"id\": \"a b\"}");
}

std::string BuildBody(const HttpSettings& http, const std::string& item) {
  Result<HttpRequestTemplate> t = HttpRequestTemplate::Compile(http, FakeEnv);
  EXPECT_TRUE(t.ok()) << t.status().message();
  Settings s;
  std::string url, body;
  std::vector<std::string> headers;
  Status st = t->Build(MakeItemPaths(s, InputKind::kList, item, 3, 1, "/r"), &url, &headers, &body);
  return st.ok() ? body : "error: " + st.message();
}

TEST(BodyEncodingTest, AutoFollowsContentTypeThenTheBodysStart) {
  HttpSettings http;
  http.headers = {{"content-TYPE", "application/vnd.api+json"}};
  EXPECT_EQ(ChooseBodyEncoding(http, "x={item}")->encoding, BodyEncoding::kJson);
  EXPECT_FALSE(ChooseBodyEncoding(http, "x={item}")->add_json_content_type);
  http.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(ChooseBodyEncoding(http, "{{}}")->encoding, BodyEncoding::kForm);
  http.headers = {{"Content-Type", "text/plain"}};
  EXPECT_EQ(ChooseBodyEncoding(http, "{{}}")->encoding, BodyEncoding::kRaw);
  http.headers = {};
  EXPECT_EQ(ChooseBodyEncoding(http, " \n[{item}]")->encoding, BodyEncoding::kJson);
  EXPECT_TRUE(ChooseBodyEncoding(http, "{{}}")->add_json_content_type);
  // A body that is one placeholder is not known to be JSON: a form.
  EXPECT_EQ(ChooseBodyEncoding(http, "{item}")->encoding, BodyEncoding::kForm);
  http.body_encoding = "raw";
  EXPECT_EQ(ChooseBodyEncoding(http, "{{}}")->encoding, BodyEncoding::kRaw);
  http.body_encoding = "xml";
  EXPECT_FALSE(ChooseBodyEncoding(http, "{{}}").ok());
}

TEST(BodyEncodingTest, JsonEscapesOnlyInsideStrings) {
  HttpSettings http;
  http.url = "http://h/";
  http.body_encoding = "json";
  http.body = "{{\"id\": \"{item}\", \"n\": {index}, \"s\": \"a\\\"{item}\"}}";
  EXPECT_EQ(BuildBody(http, "q\"\\\n"),
            "{\"id\": \"q\\\"\\\\\\n\", \"n\": 3, \"s\": \"a\\\"q\\\"\\\\\\n\"}");
  // A whole JSON document as the item, outside any string, goes in as it is.
  http.body = "{item}";
  EXPECT_EQ(BuildBody(http, "{\"a\": \"b\"}"), "{\"a\": \"b\"}");
  http.body = "[\"{item}\"]";
  EXPECT_EQ(BuildBody(http, "bad\xff"),
            "error: a value for a JSON string of http.body is not valid UTF-8");
}

TEST(BodyEncodingTest, FormPercentEncodes) {
  HttpSettings http;
  http.url = "http://h/";
  http.body = "id={item}&x=1";
  EXPECT_EQ(BuildBody(http, "a b&c=d"), "id=a%20b%26c%3Dd&x=1");
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
