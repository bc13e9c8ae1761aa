// Quoting for the shell, in one place: placeholders in a shell = true script,
// command lines in item logs and --dry-run, paths in generated sbatch scripts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// Always single-quoted ('it'\''s'): a value substituted into a /bin/sh script,
// where even an empty or plain value must stay one word.
void AppendShellQuoted(std::string* out, std::string_view value);

// A word for a person to read and paste into a shell: bare when it holds only
// characters no shell treats specially, else single-quoted; one with control
// characters (a newline in a file name) in bash's $'...', so that a command
// line stays on one line.
void AppendShellWord(std::string* out, std::string_view word);

// Words joined by spaces, each as AppendShellWord writes it.
std::string ShellWords(const std::vector<std::string>& words);

}  // namespace shoal
