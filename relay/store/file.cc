#include "relay/store/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace faultline::relay::store {

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File::File(File&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

Result<File> File::open(const std::filesystem::path& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::from_errno("open " + path.string(), errno);
  File f;
  f.fd_ = fd;
  f.path_ = path;
  return f;
}

Result<std::size_t> File::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno("read " + path_.string(), errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status File::write_at(std::uint64_t offset, std::span<const std::byte> data) const {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno("write " + path_.string(), errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

Status File::truncate(std::uint64_t size) const {
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(size));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status::from_errno("truncate " + path_.string(), errno);
  return Status();
}

Status File::sync() const {
  int rc;
  do {
    rc = ::fdatasync(fd_);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status::from_errno("fdatasync " + path_.string(), errno);
  return Status();
}

Result<std::uint64_t> File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) < 0) return Status::from_errno("stat " + path_.string(), errno);
  return static_cast<std::uint64_t>(st.st_size);
}

Status sync_directory(const std::filesystem::path& dir) {
  auto f = File::open(dir, O_RDONLY | O_DIRECTORY);
  if (!f.ok()) return f.status();
  if (::fsync(f->fd()) < 0) return Status::from_errno("fsync " + dir.string(), errno);
  return Status();
}

}  // namespace faultline::relay::store
