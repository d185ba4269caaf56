#pragma once
// A fresh directory under $TMPDIR (or /tmp), removed with all it holds when
// the object goes.
// Thread safety: use from one thread.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace chat::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "chat-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace chat::testing
