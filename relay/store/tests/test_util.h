// Helpers shared by the relay/store tests: a temporary directory that cleans
// up after itself, and frames whose bytes are a function of their seq.
#pragma once

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace faultline::relay::store::testing {

// mkdtemp under $TMPDIR (or /tmp); removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fl-relay-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A frame of `size` bytes whose content depends on `seq` and `salt`.
inline std::vector<std::byte> frame_for(std::int64_t seq, std::size_t size, std::uint32_t salt = 0) {
  std::vector<std::byte> f(size);
  std::uint64_t x = static_cast<std::uint64_t>(seq) * 0x9E3779B97F4A7C15ull + salt;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    f[i] = static_cast<std::byte>(x >> 56);
  }
  return f;
}

// A size in [1, max] that depends only on seq.
inline std::size_t size_for(std::int64_t seq, std::size_t max) {
  std::uint64_t x = static_cast<std::uint64_t>(seq) * 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return 1 + static_cast<std::size_t>(x % max);
}

inline std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<std::byte>(raw[i]);
  return out;
}

inline void write_file(const std::filesystem::path& p, const std::vector<std::byte>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace faultline::relay::store::testing
