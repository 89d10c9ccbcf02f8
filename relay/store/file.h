// File: an owned POSIX file descriptor with the positional I/O the event log
// needs. pread/pwrite carry their own offset, so one File may be read by any
// number of threads while one thread writes it (the kernel keeps a completed
// pwrite visible to every later pread: page-cache coherence).
//
// Every call retries EINTR and short transfers; errors come back as a Status
// naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "relay/store/status.h"

namespace faultline::relay::store {

class File {
 public:
  File() = default;
  ~File();
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // open(2) with O_CLOEXEC added.
  static Result<File> open(const std::filesystem::path& path, int flags, int mode = 0644);

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const;
  // Writes all of `data` at `offset`.
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) const;
  Status truncate(std::uint64_t size) const;
  // fdatasync(2): data and the size, not the other metadata.
  Status sync() const;
  Result<std::uint64_t> size() const;

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// fsync(2) of a directory, so that names created or removed in it survive a
// power failure.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace faultline::relay::store
