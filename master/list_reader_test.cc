#include "master/list_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace shoal {
namespace {

class ListReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_list_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0); }

  std::string Write(const std::string& bytes) {
    std::string path = dir_ + "/list" + std::to_string(++files_);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Every item of `bytes`.
  std::vector<Item> ReadItems(const std::string& bytes, ListOptions options = {}) {
    Result<std::unique_ptr<ListReader>> r = ListReader::Open(Write(bytes), std::move(options));
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    ListReader& reader = **r;
    std::vector<Item> out;
    Item item;
    uint64_t last_index = 0;
    while (reader.Next(&item)) {
      EXPECT_FALSE(reader.done());
      EXPECT_GT(item.index, last_index);  // the record's line: increasing, not dense
      last_index = item.index;
      out.push_back(item);
      EXPECT_EQ(reader.seen(), out.size());
    }
    EXPECT_TRUE(reader.done());
    EXPECT_TRUE(reader.status().ok()) << reader.status().message();
    EXPECT_EQ(reader.seen(), out.size());
    EXPECT_FALSE(reader.Next(&item));  // stays at the end
    return out;
  }

  // Every item of `bytes`; an item with an error reads "!error".
  std::vector<std::string> Read(const std::string& bytes, ListOptions options = {}) {
    std::vector<std::string> out;
    for (const Item& item : ReadItems(bytes, std::move(options))) {
      out.push_back(item.error.empty() ? item.text : "!" + item.error);
    }
    return out;
  }

  // How messages name the file the last Read or ReadItems wrote.
  std::string Name() const { return "'" + dir_ + "/list" + std::to_string(files_) + "'"; }

  static ListOptions Csv(int column, bool header = false) {
    ListOptions o;
    o.column = column;
    o.skip_header = header;
    return o;
  }

  // CSV records whole, as fields mode reads them.
  static ListOptions Records(char delimiter, bool header = false) {
    ListOptions o;
    o.csv_records = true;
    o.delimiter = delimiter;
    o.header = header;
    return o;
  }

  // The index of every item of `bytes`.
  std::vector<uint64_t> Indices(const std::string& bytes, ListOptions options = {}) {
    std::vector<uint64_t> out;
    for (const Item& item : ReadItems(bytes, std::move(options))) out.push_back(item.index);
    return out;
  }

  // The header the reader of `bytes` reports before any item, or "(none)".
  std::string HeaderOf(const std::string& bytes, ListOptions options) {
    Result<std::unique_ptr<ListReader>> r = ListReader::Open(Write(bytes), std::move(options));
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return "";
    const std::string* header = (*r)->Header();
    return header == nullptr ? "(none)" : *header;
  }

  std::string dir_;
  int files_ = 0;
};

using V = std::vector<std::string>;

constexpr char kUnclosedHow[] =
    "this line alone fails: quote a field whole and double the quotes inside it";

TEST_F(ListReaderTest, Newlines) {
  EXPECT_EQ(Read("a\nb\nc\n"), (V{"a", "b", "c"}));
  EXPECT_EQ(Read("a\nb\nc"), (V{"a", "b", "c"}));  // no final newline
  EXPECT_EQ(Read(""), V{});
  EXPECT_EQ(Read("\n\n\n"), V{});
}

TEST_F(ListReaderTest, CrlfAndBlankLines) {
  EXPECT_EQ(Read("a\r\nb\r\n\r\nc\r\n"), (V{"a", "b", "c"}));
  EXPECT_EQ(Read("a\r\r\nb\r"), (V{"a\r", "b"}));  // one '\r' only
  EXPECT_EQ(Read("\na\n\n\nb\n\n"), (V{"a", "b"}));
  EXPECT_EQ(Read("  \n\t\n"), (V{"  ", "\t"}));  // not blank: the bytes matter
}

TEST_F(ListReaderTest, CrOnlyLineEnds) {
  EXPECT_EQ(Read("a\rb\r\rc\r"), (V{"a", "b", "c"}));
  EXPECT_EQ(Read("a\rb"), (V{"a", "b"}));
  EXPECT_EQ(Read("a\r"), (V{"a"}));
  ListOptions header;
  header.skip_header = true;
  EXPECT_EQ(Read("id\r1\r2\r", header), (V{"1", "2"}));  // was: no items at all
  EXPECT_EQ(Read("id,name\r1,x\r2,\"y\rz\"\r", Csv(2, true)), (V{"x", "y\rz"}));
  EXPECT_EQ(Read("a;b\r\"c;d\";e\r", Records(';')), (V{"a;b", "\"c;d\";e"}));
  ListOptions nul;
  nul.separator = Separator::kNul;
  EXPECT_EQ(Read(std::string("a\rb\0c", 5), nul), (V{"a\rb", "c"}));  // NUL ends records
}

TEST_F(ListReaderTest, LfCrlfAndMixedLineEnds) {
  EXPECT_EQ(Read("a\nb\r\nc\n\r\nd"), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(Indices("a\nb\r\nc\n\r\nd"), (std::vector<uint64_t>{1, 2, 3, 5}));
  // An input with any LF keeps LF: a '\r' elsewhere is data.
  EXPECT_EQ(Read("a\rb\nc\n"), (V{"a\rb", "c"}));
  EXPECT_EQ(Read("a,\"x\r\ny\"\r\nb,c\r\n", Records(',')), (V{"a,\"x\r\ny\"", "b,c"}));
}

TEST_F(ListReaderTest, CrOnlyDecidedAcrossShortReads) {
  // A pipe whose first read ends on the '\r' of a CRLF: the next byte decides.
  for (const auto& [first, rest, want] :
       {std::tuple<std::string, std::string, V>{"a\r", "\nb\r\n", V{"a", "b"}},
        std::tuple<std::string, std::string, V>{"a\r", "b\rc", V{"a", "b", "c"}},
        std::tuple<std::string, std::string, V>{"ab", "c\rd\r", V{"abc", "d"}}}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], first.data(), first.size()), static_cast<ssize_t>(first.size()));
    std::thread writer([&, fd = fds[1]] {
      // The reader has read the first piece (and waits for more) or will read
      // both at once; either way the result is the same.
      ASSERT_EQ(write(fd, rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
      close(fd);
    });
    ListReader reader(fds[0], true, "standard input", ListOptions{});
    V got;
    Item item;
    while (reader.Next(&item)) got.push_back(item.text);
    writer.join();
    EXPECT_EQ(got, want) << first << "|" << rest;
  }
}

TEST_F(ListReaderTest, IndexIsTheRecordsLineBlankLinesAndHeaderCounted) {
  EXPECT_EQ(Indices("a\n\nb\n\n\nc\n"), (std::vector<uint64_t>{1, 3, 6}));
  EXPECT_EQ(Indices("\n\na\n"), (std::vector<uint64_t>{3}));
  ListOptions skip;
  skip.skip_header = true;
  EXPECT_EQ(Indices("\nid\n\n1\n2\n", skip), (std::vector<uint64_t>{4, 5}));
  // A quoted line end: the next record starts two lines on.
  EXPECT_EQ(Indices("h\n\"two\nlines\",x\n\ny,z\n", Records(',', true)),
            (std::vector<uint64_t>{2, 5}));
  EXPECT_EQ(Indices("1,a\n\n2,b\n", Csv(2)), (std::vector<uint64_t>{1, 3}));
  // Dropped items keep their numbers too.
  ListOptions o;
  o.include = GlobSet::Compile({"*.c"}, "input.include").value();
  EXPECT_EQ(Indices("a.c\nb.o\nc.c\n", o), (std::vector<uint64_t>{1, 3}));
  // With NUL separators: the record's number, empty records counted.
  ListOptions nul;
  nul.separator = Separator::kNul;
  EXPECT_EQ(Indices(std::string("a\0\0b\nc\0d", 8), nul), (std::vector<uint64_t>{1, 3, 4}));
  // CR-only files count CR line ends.
  EXPECT_EQ(Indices("a\r\rb\r"), (std::vector<uint64_t>{1, 3}));
  // A failed item's index is its line too.
  std::vector<Item> short_row = ReadItems("1,x\n\n2\n", Csv(2));
  ASSERT_EQ(short_row.size(), 2u);
  EXPECT_EQ(short_row[1].index, 3u);
  EXPECT_EQ(short_row[1].error, "line 3 has 1 columns, column 2 requested");
}

TEST_F(ListReaderTest, Delimiters) {
  EXPECT_EQ(Read("a;b;c\n1;\"x;y\";z\n", Records(';')), (V{"a;b;c", "1;\"x;y\";z"}));
  EXPECT_EQ(Read("a\tb\n\"t\tab\"\tc\n", Records('\t')), (V{"a\tb", "\"t\tab\"\tc"}));
  ListOptions semicolon = Csv(2);
  semicolon.delimiter = ';';
  EXPECT_EQ(Read("a;b,c;d\n1;\"x;y\"\n", semicolon), (V{"b,c", "x;y"}));
  // A quoted field may hold the delimiter, a quote and a line end; the whole
  // record is the item, as written.
  const std::string multi = "id;note\n7;\"say \"\"hi\"\";\nbye\"\n8;plain\n";
  EXPECT_EQ(Read(multi, Records(';', true)), (V{"7;\"say \"\"hi\"\";\nbye\"", "8;plain"}));
  // A stray quote still fails its line alone, with the delimiter named.
  V stray = Read("a;\"b\"c\nd;\"e\nf\"g\nh;i\n", Records(';'));
  ASSERT_EQ(stray.size(), 4u);
  EXPECT_EQ(stray[0], "a;\"b\"c");
  EXPECT_EQ(stray[1],
            "!line 2: unclosed quote (the \" on line 3 that would close it is followed "
            "by text, not the delimiter ';'); " +
                std::string(kUnclosedHow));
  EXPECT_EQ(stray[2], "f\"g");
  EXPECT_EQ(stray[3], "h;i");
  // Records of empty fields are items; blank lines are not.
  EXPECT_EQ(Read(";;\n\n\"\"\n", Records(';')), (V{";;", "\"\""}));
}

TEST_F(ListReaderTest, HeaderIsReadFirstAndIsNoItem) {
  EXPECT_EQ(HeaderOf("\nid;region\n1;eu\n", Records(';', true)), "id;region");
  EXPECT_EQ(HeaderOf("\"a;b\";c\r\n1;2\r\n", Records(';', true)), "\"a;b\";c");
  EXPECT_EQ(HeaderOf("", Records(';', true)), "(none)");
  EXPECT_EQ(HeaderOf("a\n", ListOptions{}), "(none)");
  EXPECT_EQ(Read("id;region\n1;eu\n2;us\n", Records(';', true)), (V{"1;eu", "2;us"}));
  EXPECT_EQ(Indices("id;region\n1;eu\n2;us\n", Records(';', true)), (std::vector<uint64_t>{2, 3}));
  // Header() before Next(): the items are the same.
  Result<std::unique_ptr<ListReader>> r = ListReader::Open(Write("id\rx\ry\r"), Records(',', true));
  ASSERT_TRUE(r.ok());
  ASSERT_NE((*r)->Header(), nullptr);
  EXPECT_EQ(*(*r)->Header(), "id");
  Item item;
  ASSERT_TRUE((*r)->Next(&item));
  EXPECT_EQ(item.text, "x");
  EXPECT_EQ(item.index, 2u);
  ASSERT_TRUE((*r)->Next(&item));
  EXPECT_EQ(item.text, "y");
  EXPECT_FALSE((*r)->Next(&item));
}

TEST_F(ListReaderTest, RawBytesPassThrough) {
  const V items = {"caf\xe9\xff", "with space", "\"quoted\"", "'single'",  "-rf",
                   "$HOME",       "*",          "a,b",        "tab\there", "back\\slash"};
  std::string bytes;
  for (const std::string& s : items) bytes += s + "\n";
  EXPECT_EQ(Read(bytes), items);
}

TEST_F(ListReaderTest, NulSeparator) {
  ListOptions o;
  o.separator = Separator::kNul;
  EXPECT_EQ(Read(std::string("a\nb\0c\r\n\0\0d", 11), o), (V{"a\nb", "c\r\n", "d"}));
}

TEST_F(ListReaderTest, SkipHeader) {
  ListOptions o;
  o.skip_header = true;
  EXPECT_EQ(Read("id\n1\n2\n", o), (V{"1", "2"}));
  EXPECT_EQ(Read("\nid\n1\n", o), (V{"1"}));  // the first non-blank record
  EXPECT_EQ(Read("id\n", o), V{});
}

TEST_F(ListReaderTest, CsvColumns) {
  const std::string csv =
      "id,name,note\n"
      "1,plain,x\n"
      "2,\"with, comma\",y\n"
      "3,\"doubled \"\"quotes\"\"\",z\n"
      "4,\"two\nlines\",w\n"
      "\n"
      "5,crlf\r\n"
      "6,\"quoted crlf\"\r\n";
  EXPECT_EQ(Read(csv, Csv(1, true)), (V{"1", "2", "3", "4", "5", "6"}));
  EXPECT_EQ(Read(csv, Csv(2, true)),
            (V{"plain", "with, comma", "doubled \"quotes\"", "two\nlines", "crlf", "quoted crlf"}));
  // Line numbers are the file's: record 5 starts on line 8 (a quoted newline
  // and a blank line come before it).
  EXPECT_EQ(Read(csv, Csv(3, true)),
            (V{"x", "y", "z", "w", "!line 8 has 2 columns, column 3 requested",
               "!line 9 has 2 columns, column 3 requested"}));
  EXPECT_EQ(Read(csv, Csv(1, false)).front(), "id");
}

TEST_F(ListReaderTest, CsvOddities) {
  EXPECT_EQ(Read("a,,c\n", Csv(2)), (V{"!line 1: column 2 is empty"}));
  EXPECT_EQ(Read("\"\"\n", Csv(1)), (V{"!line 1: column 1 is empty"}));
  EXPECT_EQ(Read("ab\"c\n", Csv(1)), (V{"ab\"c"}));    // a quote inside a bare field
  EXPECT_EQ(Read("\"ab\"c,d\n", Csv(1)), (V{"abc"}));  // text after a closing quote
  EXPECT_EQ(Read("a\rb,c\n", Csv(1)), (V{"a\rb"}));    // a bare '\r' is data
  V open = Read("x\n\"open,\nnever closed\n", Csv(1));
  ASSERT_EQ(open.size(), 3u);
  EXPECT_EQ(open[0], "x");
  EXPECT_EQ(open[1], "!line 2: unclosed quote (no closing \" before the end of '" + dir_ + "/list" +
                         std::to_string(files_) + "'); " + kUnclosedHow);
  EXPECT_EQ(open[2], "never closed");
  ListOptions nul = Csv(2);
  nul.separator = Separator::kNul;
  EXPECT_EQ(Read(std::string("a,b\nc\0d,\"e\0f\"\0", 15), nul),
            (V{"b\nc", std::string("e\0f", 3)}));
}

TEST_F(ListReaderTest, StrayQuoteFailsItsLineAloneAsItIs) {
  std::string csv;
  for (int i = 1; i <= 1000; ++i) {
    csv += i == 2 ? "\"2,stray quote\n" : std::to_string(i) + ",x\n";
  }
  std::vector<Item> items = ReadItems(csv, Csv(1));
  ASSERT_EQ(items.size(), 1000u);
  EXPECT_EQ(items[0].text, "1");
  EXPECT_EQ(items[1].text, "\"2,stray quote");  // the raw line: failed.txt can list it
  EXPECT_EQ(items[1].error, "line 2: unclosed quote (no closing \" before the end of " + Name() +
                                "); " + kUnclosedHow);
  for (int i = 3; i <= 1000; ++i) {
    EXPECT_EQ(items[i - 1].text, std::to_string(i));
    EXPECT_EQ(items[i - 1].error, "");
  }

  // The same at the end of the file, after a CRLF, with NUL separators, and in the header.
  V crlf = Read("1\r\n\"2\r\n3\r\n", Csv(1));
  EXPECT_EQ(crlf, (V{"1",
                     "!line 2: unclosed quote (no closing \" before the end of " + Name() + "); " +
                         kUnclosedHow,
                     "3"}));
  items = ReadItems("1\n\"2,x", Csv(1));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].text, "\"2,x");
  ListOptions nul = Csv(2);
  nul.separator = Separator::kNul;
  items = ReadItems(std::string("a,b\0c,\"d\ne\0f,g\0", 15), nul);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].text, "b");
  EXPECT_EQ(items[1].text, "c,\"d\ne");
  EXPECT_TRUE(items[1].error.starts_with("record 2: unclosed quote")) << items[1].error;
  EXPECT_EQ(items[2].text, "g");
  EXPECT_EQ(Read("\"id,name\n1,a\n2,b\n", Csv(2, true)), (V{"a", "b"}));
}

TEST_F(ListReaderTest, AStrayQuotesLineOverTheItemLimitFailsWithoutItsText) {
  // Found by tests/fuzz/list_reader_fuzzer: the raw line is kept for
  // failed.txt only while it fits an item.
  const std::string line = "e" + std::string(kMaxItemBytes, 'x') + "\",\",";
  std::vector<Item> items = ReadItems(line + "\n2,y\n", Csv(1));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].text, "");
  EXPECT_TRUE(items[0].error.starts_with("line 1: unclosed quote")) << items[0].error;
  EXPECT_EQ(items[1].text, "2");
}

TEST_F(ListReaderTest, QuoteClosedByAnotherStrayQuoteFailsBothLines) {
  // The quote opened on line 1 "closes" on line 3, followed by text: two
  // stray quotes, not a field over three lines.
  V got = Read("1,\"a\n2,b\n3,\"c\n4,d\n", Csv(1));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0],
            "!line 1: unclosed quote (the \" on line 3 that would close it is followed by text, "
            "not a comma); " +
                std::string(kUnclosedHow));
  EXPECT_EQ(got[1], "2");
  EXPECT_EQ(got[2], "!line 3: unclosed quote (no closing \" before the end of " + Name() + "); " +
                        kUnclosedHow);
  EXPECT_EQ(got[3], "4");
  // A field over lines that closes properly is one field.
  EXPECT_EQ(Read("1,\"a\n\"\"b\"\"\nc\",x\n2,y\n", Csv(2)), (V{"a\n\"b\"\nc", "y"}));
  EXPECT_EQ(Read("1,\"a\nb\"\r\n2,y\n", Csv(2)), (V{"a\nb", "y"}));
}

TEST_F(ListReaderTest, UnclosedQuoteStopsLookingAfterTheItemLimit) {
  // No quote follows the stray one: the search ends kMaxItemBytes past its
  // line, and reading starts again on the next line, across read blocks.
  // Fields over three lines come often, but not within reach of a stray quote.
  V want;
  std::string csv;
  int stray = 0;
  int line = 0;
  for (int i = 1; csv.size() < 3 * (size_t{1} << 20); ++i) {
    ++line;
    if (i % 40000 == 7) {
      csv += "\"" + std::to_string(i) + ",no closing quote\n";
      want.push_back("!line " + std::to_string(line) +
                     ": unclosed quote (no closing \" within 131072 bytes); " + kUnclosedHow);
      ++stray;
      continue;
    }
    want.push_back(std::to_string(i));
    if (i % 40000 > 25000 && i % 100 == 0) {
      csv += want.back() + ",\"a field\nover\nlines\"\n";
      line += 2;
    } else {
      csv += want.back() + ",x\n";
    }
  }
  EXPECT_GE(stray, 5);
  EXPECT_EQ(Read(csv, Csv(1)), want);
}

TEST_F(ListReaderTest, OverLongItemFailsAloneWithoutBeingKept) {
  std::string big(kMaxItemBytes + 1, 'x');
  std::string exact(kMaxItemBytes, 'y');
  const std::string bytes =
      "a\n" + big + "\n" + exact + "\r\n" + std::string(5 * kMaxItemBytes, 'z') + "\nb\n";
  V got = Read(bytes);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], "a");
  EXPECT_EQ(got[1], "!item longer than 131072 bytes (line 2); split the line or use a tree input");
  EXPECT_EQ(got[2], exact);
  EXPECT_EQ(got[3], "!item longer than 131072 bytes (line 4); split the line or use a tree input");
  EXPECT_EQ(got[4], "b");

  // In CSV mode the limit is on the field; other long fields cost nothing.
  V csv = Read("1," + big + "\n2," + big + "\n", Csv(1));
  EXPECT_EQ(csv, (V{"1", "2"}));
  csv = Read("1,\"" + big + "\",x\n2,y\n", Csv(2));
  EXPECT_EQ(
      csv, (V{"!item longer than 131072 bytes (line 1); split the line or use a tree input", "y"}));
}

TEST_F(ListReaderTest, RecordsAcrossReadBlocks) {
  // Lines of every length up to 3000 bytes straddle the 1 MiB read blocks.
  V want;
  std::string bytes;
  for (int i = 0; bytes.size() < 3 * (size_t{1} << 20); ++i) {
    std::string line(static_cast<size_t>(i % 3000) + 1, static_cast<char>('a' + i % 26));
    line += std::to_string(i);
    want.push_back(line);
    bytes += line + (i % 2 ? "\r\n" : "\n");
  }
  EXPECT_EQ(Read(bytes), want);
}

TEST_F(ListReaderTest, Filters) {
  ListOptions o;
  o.include = GlobSet::Compile({"*.c", "*.h"}, "input.include").value();
  o.exclude = GlobSet::Compile({"build/", "*_test.c"}, "input.exclude").value();
  EXPECT_EQ(Read("a.c\nb.o\nbuild/x.c\nsrc/build/y.h\nsrc/z_test.c\nsrc/w.h\n", o),
            (V{"a.c", "src/w.h"}));
  o.include = GlobSet::Compile({"/data/*.c"}, "input.include").value();
  o.exclude = GlobSet();
  EXPECT_EQ(Read("/data/a.c\n./data/b.c\ndata/c.c\n/other/data/d.c\n", o),
            (V{"/data/a.c", "./data/b.c", "data/c.c"}));
}

TEST_F(ListReaderTest, ReadsAPipeInSmallPieces) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string bytes;
  V want;
  for (int i = 0; i < 20000; ++i) {
    want.push_back("item-" + std::to_string(i));
    bytes += want.back() + "\n";
  }
  std::thread writer([&] {
    for (size_t off = 0; off < bytes.size();) {
      size_t n = std::min<size_t>(777, bytes.size() - off);
      ssize_t w = write(fds[1], bytes.data() + off, n);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
  });
  ListReader reader(fds[0], true, "standard input", ListOptions{});
  V got;
  Item item;
  while (reader.Next(&item)) got.push_back(item.text);
  writer.join();
  EXPECT_TRUE(reader.status().ok());
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.seen(), 20000u);
  EXPECT_EQ(got, want);
}

TEST_F(ListReaderTest, MissingFileNamesIt) {
  Result<std::unique_ptr<ListReader>> r = ListReader::Open(dir_ + "/nope", ListOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot open list file '" + dir_ + "/nope': No such file or directory");
}

TEST_F(ListReaderTest, ReadErrorStopsWithStatus) {
  // A directory opens but cannot be read: EISDIR.
  Result<std::unique_ptr<ListReader>> r = ListReader::Open(dir_, ListOptions{});
  ASSERT_TRUE(r.ok());
  Item item;
  EXPECT_FALSE((*r)->Next(&item));
  EXPECT_TRUE((*r)->done());
  EXPECT_FALSE((*r)->status().ok());
  EXPECT_EQ((*r)->status().message(), "cannot read '" + dir_ + "': Is a directory");
}

TEST_F(ListReaderTest, AFileTruncatedWhileReadEndsIncompleteWithAWarning) {
  // Emptied after its only block was read: the items in hand still come.
  std::string path = Write("a\nb\nc\n");
  Result<std::unique_ptr<ListReader>> r = ListReader::Open(path, ListOptions{});
  ASSERT_TRUE(r.ok());
  ListReader& reader = **r;
  Item item;
  ASSERT_TRUE(reader.Next(&item));
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  std::vector<std::string> got;
  while (reader.Next(&item)) got.push_back(item.text);
  EXPECT_EQ(got, (V{"b", "c"}));
  EXPECT_TRUE(reader.done());
  EXPECT_TRUE(reader.status().ok());
  EXPECT_NE(reader.Incomplete().find("'" + path + "' was truncated while it was read"),
            std::string::npos)
      << reader.Incomplete();
  std::vector<std::string> warnings = reader.TakeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], reader.Incomplete());
  EXPECT_TRUE(reader.TakeWarnings().empty());  // each warning once

  // Cut in the middle, beyond the first read block: the rest is lost.
  std::string big;
  for (int i = 0; i < 300000; ++i) big += "item" + std::to_string(1000000 + i) + "\n";
  path = Write(big);
  r = ListReader::Open(path, ListOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->Next(&item));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(big.size() / 2)), 0);
  uint64_t n = 1;
  while ((*r)->Next(&item)) ++n;
  EXPECT_LT(n, 300000u);
  EXPECT_FALSE((*r)->Incomplete().empty());
}

TEST_F(ListReaderTest, AFileThatGrowsWhileReadIsComplete) {
  std::string path = Write("a\n");
  Result<std::unique_ptr<ListReader>> r = ListReader::Open(path, ListOptions{});
  ASSERT_TRUE(r.ok());
  Item item;
  ASSERT_TRUE((*r)->Next(&item));
  std::ofstream(path, std::ios::app) << "b\n";
  ASSERT_TRUE((*r)->Next(&item));
  EXPECT_EQ(item.text, "b");
  EXPECT_FALSE((*r)->Next(&item));
  EXPECT_EQ((*r)->Incomplete(), "");
  EXPECT_TRUE((*r)->TakeWarnings().empty());
}

}  // namespace
}  // namespace shoal
