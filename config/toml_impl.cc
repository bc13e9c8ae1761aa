// The one translation unit that compiles TOML++. Every other file includes
// <toml++/toml.h> with TOML_HEADER_ONLY=0 (set by config/CMakeLists.txt), so
// the parser is built once instead of in each file that reads settings.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
