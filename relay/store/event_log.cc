#include "relay/store/event_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include "relay/store/file.h"
#include "relay/store/record.h"

namespace faultline::relay::store {
namespace fs = std::filesystem;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

constexpr std::string_view kPrefix = "events-";
constexpr std::string_view kSuffix = ".log";
constexpr std::size_t kSeqDigits = 20;
constexpr std::size_t kReadChunk = 256 * 1024;

// "events-00000000000000000042.log" -> 42; -1 for any other name.
std::int64_t parse_segment_name(const std::string& name) {
  if (name.size() != kPrefix.size() + kSeqDigits + kSuffix.size()) return -1;
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  if (name.compare(kPrefix.size() + kSeqDigits, kSuffix.size(), kSuffix) != 0) return -1;
  const char* b = name.data() + kPrefix.size();
  const char* e = b + kSeqDigits;
  if (!std::all_of(b, e, [](char c) { return c >= '0' && c <= '9'; })) return -1;
  std::int64_t v = -1;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return -1;
  return v;
}

TimePoint mtime_of(const struct stat& st) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                   std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

void set_mtime(const File& f, TimePoint t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts[1].tv_nsec = static_cast<long>(ns % 1'000'000'000);
  // Best effort: a wrong mtime only changes when the segment is pruned.
  (void)::futimens(f.fd(), ts);
}

// A reader's scratch buffer, reused across the segments of one read_after().
struct ReadBuffer {
  std::unique_ptr<std::byte[]> data;
  std::size_t capacity = 0;
  std::byte* reserve(std::size_t n) {
    if (n > capacity) {
      data = std::make_unique_for_overwrite<std::byte[]>(n);
      capacity = n;
    }
    return data.get();
  }
};

struct Segment {
  Segment(std::int64_t first, fs::path p) : first_seq(first), path(std::move(p)) {}
  const std::int64_t first_seq;
  const fs::path path;

  // Published state: written by the appender (and by a reader that builds the
  // index lazily), read by readers; all under `mu`.
  mutable std::mutex mu;
  std::int64_t count = 0;            // whole, published events
  std::uint64_t size = 0;            // published bytes
  std::vector<std::uint64_t> index;  // index[i]: offset of event first_seq + i * interval
  bool index_ready = false;          // false: sealed segment not yet scanned
  std::shared_ptr<File> file;        // the active segment's descriptor; null once sealed

  // Appender-only (under the writer mutex).
  TimePoint newest_time{};
  bool sealed = false;
};

// What a scan of a segment file found.
struct ScanResult {
  std::int64_t count = 0;
  std::uint64_t good_bytes = 0;  // end of the last whole record
  std::uint64_t file_bytes = 0;
  std::vector<std::uint64_t> index;
  std::string stop_reason;  // why the scan stopped before file_bytes
};

// Reads the file in chunks and walks its records from offset 0, expecting seqs
// first_seq, first_seq + 1, ... Stops at the first record that is not whole or
// has an unexpected seq; stops after `max_count` events.
Result<ScanResult> scan_segment(const File& f, std::int64_t first_seq, std::uint32_t max_len, std::int64_t interval,
                                bool verify_crc, std::int64_t max_count) {
  ScanResult r;
  auto sz = f.size();
  if (!sz.ok()) return sz.status();
  r.file_bytes = *sz;
  std::vector<std::byte> buf(kReadChunk);
  std::uint64_t buf_off = 0;  // file offset of buf[0]
  std::size_t buf_len = 0;
  std::size_t pos = 0;  // parse position in buf
  while (r.count < max_count) {
    ParsedRecord rec;
    std::string why;
    const auto st =
        parse_record(std::span<const std::byte>(buf.data() + pos, buf_len - pos), max_len, verify_crc, rec, &why);
    if (st == ParseStatus::kIncomplete) {
      const std::uint64_t at = buf_off + pos;
      if (at + (buf_len - pos) >= r.file_bytes) {
        if (at < r.file_bytes) r.stop_reason = "torn record at offset " + std::to_string(at);
        break;
      }
      // Slide the unparsed bytes to the front and read more; grow for a big record.
      std::size_t need = kReadChunk;
      if (buf_len - pos >= kRecordHeaderSize) {
        need = std::max(need, kRecordOverhead + decode_record_header(buf.data() + pos).len);
      }
      std::copy(buf.begin() + static_cast<std::ptrdiff_t>(pos), buf.begin() + static_cast<std::ptrdiff_t>(buf_len),
                buf.begin());
      buf_len -= pos;
      buf_off = at;
      pos = 0;
      if (buf.size() < need) buf.resize(need);
      auto n = f.read_at(buf_off + buf_len, std::span<std::byte>(buf.data() + buf_len, buf.size() - buf_len));
      if (!n.ok()) return n.status();
      if (*n == 0) break;  // the file shrank under us; treat as end
      buf_len += *n;
      continue;
    }
    const std::uint64_t at = buf_off + pos;
    if (st == ParseStatus::kBad) {
      r.stop_reason = why + " at offset " + std::to_string(at);
      break;
    }
    const std::int64_t want = first_seq + r.count;
    if (rec.header.seq != want) {
      r.stop_reason = "seq " + std::to_string(rec.header.seq) + " where " + std::to_string(want) +
                      " was expected at offset " + std::to_string(at);
      break;
    }
    if (r.count % interval == 0) r.index.push_back(at);
    ++r.count;
    pos += rec.size;
    r.good_bytes = at + rec.size;
  }
  return r;
}

}  // namespace

struct EventLog::Impl {
  fs::path dir;
  Options opt;
  Recovery recovery;
  File lock_file;

  std::mutex write_mu;  // append / prune / sync
  std::vector<std::byte> write_buf;

  mutable std::mutex list_mu;  // guards `segments` (the vector, not the Segments)
  std::vector<std::shared_ptr<Segment>> segments;

  std::atomic<std::int64_t> last_seq{0};
  std::atomic<std::int64_t> synced_seq{0};

  std::mutex err_mu;
  Status sticky_error;  // set after a failed fdatasync or rollback

  std::mutex flush_mu;
  std::condition_variable flush_cv;
  bool stopping = false;
  std::thread flusher;

  ~Impl() {
    if (flusher.joinable()) {
      {
        std::lock_guard lk(flush_mu);
        stopping = true;
      }
      flush_cv.notify_all();
      flusher.join();
    }
    if (opt.fsync != FsyncPolicy::never) (void)sync_active();
  }

  TimePoint now() const { return opt.clock ? opt.clock() : std::chrono::system_clock::now(); }
  bool syncing() const { return opt.fsync != FsyncPolicy::never; }

  Status error() {
    std::lock_guard lk(err_mu);
    return sticky_error;
  }
  void set_error(Status s) {
    std::lock_guard lk(err_mu);
    if (sticky_error.ok()) sticky_error = std::move(s);
  }
  void advance_synced(std::int64_t seq) {
    std::int64_t cur = synced_seq.load(std::memory_order_relaxed);
    while (cur < seq && !synced_seq.compare_exchange_weak(cur, seq, std::memory_order_release)) {
    }
  }

  std::shared_ptr<Segment> back() const {
    std::lock_guard lk(list_mu);
    return segments.empty() ? nullptr : segments.back();
  }

  // fdatasync whatever the active segment has published.
  Status sync_active() {
    auto seg = back();
    if (!seg) return Status();
    std::shared_ptr<File> f;
    std::int64_t upto;
    {
      std::lock_guard lk(seg->mu);
      f = seg->file;
      upto = seg->first_seq + seg->count - 1;
    }
    if (upto <= synced_seq.load(std::memory_order_acquire)) return Status();
    if (f) {
      Status s = f->sync();
      if (!s.ok()) {
        set_error(s);
        return s;
      }
    }
    advance_synced(upto);
    return Status();
  }

  void flusher_main() {
    std::unique_lock lk(flush_mu);
    while (!stopping) {
      flush_cv.wait_for(lk, opt.fsync_interval, [&] { return stopping; });
      if (stopping) break;
      lk.unlock();
      (void)sync_active();  // an error becomes sticky and fails the next append
      lk.lock();
    }
  }

  // The segment containing `want`, or the oldest one when `want` is older
  // than everything stored. Null when the log has no segment.
  std::shared_ptr<Segment> find(std::int64_t want) const {
    std::lock_guard lk(list_mu);
    if (segments.empty()) return nullptr;
    auto it = std::upper_bound(segments.begin(), segments.end(), want,
                               [](std::int64_t s, const std::shared_ptr<Segment>& seg) { return s < seg->first_seq; });
    if (it == segments.begin()) return segments.front();
    return *std::prev(it);
  }

  Status ensure_index(Segment& seg) const;
  Result<std::size_t> read_segment(const std::shared_ptr<Segment>& seg, std::int64_t& want, std::size_t limit,
                                   const std::function<bool(const Event&)>& fn, ReadBuffer& rb, bool& stop,
                                   bool& gone) const;
  Status recover();
  Result<std::size_t> prune_locked(TimePoint now);
  Result<SeqRange> append_locked(std::span<const PendingEvent> batch);
};

Status EventLog::Impl::ensure_index(Segment& seg) const {
  // Called with seg.mu held.
  if (seg.index_ready) return Status();
  auto f = File::open(seg.path, O_RDONLY);
  if (!f.ok()) return f.status();
  auto r = scan_segment(*f, seg.first_seq, opt.max_event_bytes, opt.index_interval, /*verify_crc=*/false, seg.count);
  if (!r.ok()) return r.status();
  if (r->count != seg.count || r->good_bytes != seg.size) {
    return Status::corruption(seg.path.string() + ": expected " + std::to_string(seg.count) + " events in " +
                              std::to_string(seg.size) + " bytes, found " + std::to_string(r->count) + " in " +
                              std::to_string(r->good_bytes) +
                              (r->stop_reason.empty() ? "" : " (" + r->stop_reason + ")"));
  }
  seg.index = std::move(r->index);
  seg.index_ready = true;
  return Status();
}

Result<std::size_t> EventLog::Impl::read_segment(const std::shared_ptr<Segment>& seg, std::int64_t& want,
                                                 std::size_t limit, const std::function<bool(const Event&)>& fn,
                                                 ReadBuffer& rb, bool& stop, bool& gone) const {
  std::int64_t count;
  std::uint64_t end;
  std::uint64_t offset;
  std::shared_ptr<File> file;
  {
    std::lock_guard lk(seg->mu);
    if (want < seg->first_seq) want = seg->first_seq;
    count = seg->count;
    if (want >= seg->first_seq + count) return std::size_t{0};
    if (Status s = ensure_index(*seg); !s.ok()) {
      if (s.code() == Status::Code::kIoError && !fs::exists(seg->path)) {
        gone = true;
        return std::size_t{0};
      }
      return s;
    }
    end = seg->size;
    const auto slot = static_cast<std::size_t>((want - seg->first_seq) / opt.index_interval);
    offset = seg->index[slot];
    file = seg->file;
  }
  std::int64_t expect = seg->first_seq + ((want - seg->first_seq) / opt.index_interval) * opt.index_interval;
  if (!file) {
    auto f = File::open(seg->path, O_RDONLY);
    if (!f.ok()) {
      if (!fs::exists(seg->path)) {
        gone = true;  // pruned between find() and here
        return std::size_t{0};
      }
      return f.status();
    }
    file = std::make_shared<File>(std::move(*f));
  }

  std::size_t delivered = 0;
  // Size reads by what is wanted: (records to skip + records wanted) times the
  // segment's average record size, between 4 KiB and kReadChunk.
  const std::uint64_t avg = end / static_cast<std::uint64_t>(count) + 1;
  const std::uint64_t records =
      static_cast<std::uint64_t>(want - expect) + std::min<std::uint64_t>(limit, static_cast<std::uint64_t>(count)) + 1;
  std::size_t cap = static_cast<std::size_t>(std::clamp<std::uint64_t>(records * avg, 4096, kReadChunk));
  cap = std::max<std::size_t>(std::min<std::uint64_t>(cap, end - offset), kRecordOverhead);
  std::byte* buf = rb.reserve(cap);
  const std::int64_t stop_at = seg->first_seq + count;  // one past the last published event
  while (expect < stop_at && delivered < limit) {
    const std::size_t want_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, cap));
    auto n = file->read_at(offset, std::span<std::byte>(buf, want_bytes));
    if (!n.ok()) return n.status();
    std::size_t pos = 0;
    const std::span<const std::byte> got(buf, *n);
    while (expect < stop_at && delivered < limit) {
      ParsedRecord rec;
      std::string why;
      const auto st = parse_record(got.subspan(pos), opt.max_event_bytes, /*verify_crc=*/true, rec, &why);
      if (st == ParseStatus::kIncomplete) break;
      if (st == ParseStatus::kBad || rec.header.seq != expect) {
        if (st != ParseStatus::kBad)
          why = "seq " + std::to_string(rec.header.seq) + " where " + std::to_string(expect) + " was expected";
        return Status::corruption(seg->path.string() + ": " + why + " at offset " + std::to_string(offset + pos));
      }
      if (expect >= want) {
        Event e;
        e.seq = rec.header.seq;
        e.kind = rec.header.kind;
        e.flags = rec.header.flags & kUserFlagsMask;
        e.uid = rec.header.uid;
        e.frame = rec.payload;
        ++delivered;
        want = expect + 1;
        if (!fn(e)) {
          stop = true;
          return delivered;
        }
      }
      ++expect;
      pos += rec.size;
    }
    if (expect >= stop_at || delivered >= limit) break;
    if (pos == 0) {
      // The next record does not fit the buffer: grow to its size.
      if (*n < kRecordHeaderSize || offset + *n >= end) {
        return Status::corruption(seg->path.string() + ": record at offset " + std::to_string(offset) +
                                  " runs past the published end " + std::to_string(end));
      }
      const std::size_t need = kRecordOverhead + decode_record_header(buf).len;
      if (need > end - offset) {
        return Status::corruption(seg->path.string() + ": record at offset " + std::to_string(offset) +
                                  " runs past the published end " + std::to_string(end));
      }
      cap = need;
      buf = rb.reserve(cap);
      continue;
    }
    offset += pos;
    // Later reads of this call: full chunks (the caller wants more).
    if (cap < kReadChunk && end - offset > cap) {
      cap = static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, kReadChunk));
      buf = rb.reserve(cap);
    }
  }
  return delivered;
}

Status EventLog::Impl::recover() {
  std::error_code ec;
  std::vector<std::pair<std::int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::int64_t first = parse_segment_name(entry.path().filename().string());
    if (first >= 0) found.emplace_back(first, entry.path());
  }
  if (ec) return Status::io_error("list " + dir.string() + ": " + ec.message());
  std::sort(found.begin(), found.end());
  if (!found.empty() && found.front().first < 1) {
    return Status::corruption(found.front().second.string() + ": a segment cannot start at seq 0");
  }

  for (std::size_t i = 0; i < found.size(); ++i) {
    auto seg = std::make_shared<Segment>(found[i].first, found[i].second);
    struct stat st {};
    if (::stat(seg->path.c_str(), &st) < 0) return Status::from_errno("stat " + seg->path.string(), errno);
    seg->newest_time = mtime_of(st);
    seg->size = static_cast<std::uint64_t>(st.st_size);
    seg->sealed = true;
    if (i + 1 < found.size()) seg->count = found[i + 1].first - found[i].first;
    segments.push_back(std::move(seg));
  }
  if (segments.empty()) return Status();

  // The segment before the last: must hold exactly what the names say.
  if (segments.size() >= 2) {
    Segment& prev = *segments[segments.size() - 2];
    auto f = File::open(prev.path, O_RDONLY);
    if (!f.ok()) return f.status();
    auto r = scan_segment(*f, prev.first_seq, opt.max_event_bytes, opt.index_interval, /*verify_crc=*/true, prev.count);
    if (!r.ok()) return r.status();
    if (r->count != prev.count || r->good_bytes != r->file_bytes) {
      return Status::corruption(prev.path.string() + ": holds " + std::to_string(r->count) + " whole events in " +
                                std::to_string(r->good_bytes) + " of " + std::to_string(r->file_bytes) +
                                " bytes, but the next segment starts at seq " +
                                std::to_string(prev.first_seq + prev.count) +
                                (r->stop_reason.empty() ? "" : " (" + r->stop_reason + ")") +
                                "; the log lost data (power failure with fsync never?)");
    }
    prev.index = std::move(r->index);
    prev.index_ready = true;
  }

  // The last segment: keep its whole prefix, cut the rest.
  Segment& last = *segments.back();
  auto f = File::open(last.path, O_RDWR);
  if (!f.ok()) return f.status();
  auto r = scan_segment(*f, last.first_seq, opt.max_event_bytes, opt.index_interval, /*verify_crc=*/true,
                        std::numeric_limits<std::int64_t>::max());
  if (!r.ok()) return r.status();
  recovery.segment = last.path;
  recovery.events_kept = r->count;
  if (r->good_bytes < r->file_bytes) {
    const std::uint64_t cut = r->file_bytes - r->good_bytes;
    // Keep the cut bytes for a human before dropping them.
    fs::path saved = last.path;
    saved += ".torn-" + std::to_string(r->good_bytes);
    {
      auto out = File::open(saved, O_WRONLY | O_CREAT | O_TRUNC);
      if (!out.ok()) return out.status();
      std::vector<std::byte> tmp(static_cast<std::size_t>(std::min<std::uint64_t>(cut, kReadChunk)));
      for (std::uint64_t done = 0; done < cut;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(cut - done, tmp.size()));
        auto got = f->read_at(r->good_bytes + done, std::span<std::byte>(tmp.data(), n));
        if (!got.ok()) return got.status();
        if (*got == 0) break;
        if (Status s = out->write_at(done, std::span<const std::byte>(tmp.data(), *got)); !s.ok()) return s;
        done += *got;
      }
      if (syncing()) {
        if (Status s = out->sync(); !s.ok()) return s;
      }
    }
    if (Status s = f->truncate(r->good_bytes); !s.ok()) return s;
    recovery.bytes_truncated = cut;
    recovery.reason = r->stop_reason;
    recovery.saved_tail = saved;
  }
  if (syncing()) {
    if (Status s = f->sync(); !s.ok()) return s;
    if (Status s = sync_directory(dir); !s.ok()) return s;
  }
  last.count = r->count;
  last.size = r->good_bytes;
  last.index = std::move(r->index);
  last.index_ready = true;
  last.sealed = last.count >= opt.events_per_segment;
  if (!last.sealed) last.file = std::make_shared<File>(std::move(*f));

  last_seq.store(last.first_seq + last.count - 1, std::memory_order_release);
  synced_seq.store(last_seq.load(), std::memory_order_release);
  return Status();
}

Result<std::size_t> EventLog::Impl::prune_locked(TimePoint now) {
  const TimePoint cutoff = now - opt.retention;
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard lk(list_mu);
    std::size_t n = 0;
    // Never the last segment: it is the one being appended to.
    while (n + 1 < segments.size() && segments[n]->sealed && segments[n]->newest_time < cutoff) ++n;
    doomed.assign(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(n));
    segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(n));
  }
  // Readers holding a Segment keep reading through their open descriptor;
  // a reader that has not opened it yet sees ENOENT and moves on.
  for (const auto& seg : doomed) {
    if (::unlink(seg->path.c_str()) < 0 && errno != ENOENT) {
      return Status::from_errno("unlink " + seg->path.string(), errno);
    }
  }
  if (!doomed.empty() && syncing()) {
    if (Status s = sync_directory(dir); !s.ok()) return s;
  }
  return doomed.size();
}

Result<SeqRange> EventLog::Impl::append_locked(std::span<const PendingEvent> batch) {
  if (Status s = error(); !s.ok()) return s;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].flags & ~kUserFlagsMask) {
      return Status::invalid_argument("event " + std::to_string(i) + " of the batch uses reserved flag bit 31");
    }
    if (batch[i].frame.size() > opt.max_event_bytes) {
      return Status::invalid_argument("event " + std::to_string(i) + " of the batch: frame of " +
                                      std::to_string(batch[i].frame.size()) + " bytes is over the limit of " +
                                      std::to_string(opt.max_event_bytes));
    }
  }
  const std::int64_t first = last_seq.load(std::memory_order_relaxed) + 1;
  if (batch.empty()) return SeqRange{first, first - 1};

  struct Part {
    std::shared_ptr<Segment> seg;
    bool created = false;
    std::uint64_t start_size = 0;
    std::uint64_t end_size = 0;
    std::int64_t start_count = 0;
    std::int64_t added = 0;
    std::vector<std::uint64_t> new_index;
  };
  std::vector<Part> parts;

  // Undo everything written for this batch; nothing of it was published.
  auto rollback = [&](Status cause) -> Status {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->created) {
        {
          std::lock_guard lk(list_mu);
          segments.erase(std::remove(segments.begin(), segments.end(), it->seg), segments.end());
        }
        if (::unlink(it->seg->path.c_str()) < 0 && errno != ENOENT) {
          set_error(Status::from_errno("rollback: unlink " + it->seg->path.string(), errno));
        }
      } else if (Status s = it->seg->file->truncate(it->start_size); !s.ok()) {
        set_error(Status::io_error("rollback failed, the log is unusable: " + s.message()));
      }
    }
    return cause;
  };

  std::int64_t seq = first;
  std::size_t i = 0;
  while (i < batch.size()) {
    Part part;
    std::shared_ptr<Segment> seg = back();
    std::int64_t count = 0;
    if (seg) {
      std::lock_guard lk(seg->mu);
      count = seg->count;
    }
    // A part ends only when its segment is full, so every part after the
    // first starts a new segment (the published count does not show the
    // unpublished part yet).
    if (!seg || seg->sealed || count >= opt.events_per_segment || !parts.empty()) {
      if (seg && !seg->sealed && parts.empty()) {
        // A full segment left open by recovery: seal it now.
        if (syncing()) {
          if (Status s = seg->file->sync(); !s.ok()) {
            set_error(s);
            return rollback(s);
          }
        }
        seg->sealed = true;
        std::lock_guard lk(seg->mu);
        seg->file.reset();
      }
      const fs::path path = dir / segment_file_name(seq);
      auto f = File::open(path, O_RDWR | O_CREAT | O_EXCL);
      if (!f.ok()) return rollback(f.status());
      seg = std::make_shared<Segment>(seq, path);
      seg->index_ready = true;
      seg->file = std::make_shared<File>(std::move(*f));
      {
        std::lock_guard lk(list_mu);
        segments.push_back(seg);
      }
      part.created = true;
      part.seg = seg;
      count = 0;
      if (syncing()) {
        if (Status s = sync_directory(dir); !s.ok()) {
          parts.push_back(std::move(part));
          return rollback(s);
        }
      }
    }
    part.seg = seg;
    part.start_count = count;
    {
      std::lock_guard lk(seg->mu);
      part.start_size = seg->size;
    }
    const std::size_t take = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(batch.size() - i), opt.events_per_segment - count));
    write_buf.clear();
    for (std::size_t k = 0; k < take; ++k) {
      const std::int64_t idx = count + static_cast<std::int64_t>(k);
      if (idx % opt.index_interval == 0) part.new_index.push_back(part.start_size + write_buf.size());
      const PendingEvent& ev = batch[i + k];
      RecordHeader h;
      h.flags = ev.flags;
      h.kind = ev.kind;
      h.uid = ev.uid;
      h.seq = seq + static_cast<std::int64_t>(k);
      append_record(write_buf, h, ev.frame);
    }
    part.added = static_cast<std::int64_t>(take);
    part.end_size = part.start_size + write_buf.size();
    parts.push_back(std::move(part));
    Part& p = parts.back();
    if (Status s = p.seg->file->write_at(p.start_size, write_buf); !s.ok()) return rollback(s);
    const bool fills = p.start_count + p.added >= opt.events_per_segment;
    if (opt.fsync == FsyncPolicy::every_batch || (fills && syncing())) {
      if (Status s = p.seg->file->sync(); !s.ok()) {
        // After a failed fdatasync the page cache state is unknown: stop.
        set_error(s);
        return rollback(s);
      }
    }
    seq += p.added;
    i += take;
  }

  // Publish, oldest part first.
  const TimePoint t = now();
  bool rolled = false;
  for (Part& p : parts) {
    {
      std::lock_guard lk(p.seg->mu);
      p.seg->count = p.start_count + p.added;
      p.seg->size = p.end_size;
      p.seg->index.insert(p.seg->index.end(), p.new_index.begin(), p.new_index.end());
    }
    p.seg->newest_time = t;
    if (p.seg->count >= opt.events_per_segment) {
      // Sealed: its mtime is the time of its newest event, for retention.
      set_mtime(*p.seg->file, t);
      p.seg->sealed = true;
      std::lock_guard lk(p.seg->mu);
      p.seg->file.reset();
      if (syncing()) advance_synced(p.seg->first_seq + p.seg->count - 1);
      rolled = true;
    }
  }
  last_seq.store(seq - 1, std::memory_order_release);
  if (opt.fsync != FsyncPolicy::interval) advance_synced(seq - 1);
  if (rolled && opt.prune_on_roll) {
    // Retention failures do not fail the append: the events are stored.
    (void)prune_locked(t);
  }
  return SeqRange{first, seq - 1};
}

// ---------------------------------------------------------------------------

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::EventLog(EventLog&&) noexcept = default;
EventLog& EventLog::operator=(EventLog&&) noexcept = default;
EventLog::~EventLog() = default;

std::string EventLog::segment_file_name(std::int64_t first_seq) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(first_seq));
  return std::string(kPrefix) + digits + std::string(kSuffix);
}

Result<EventLog> EventLog::open(const fs::path& dir, Options options) {
  if (options.events_per_segment < 1) return Status::invalid_argument("events_per_segment must be >= 1");
  if (options.index_interval < 1) return Status::invalid_argument("index_interval must be >= 1");
  if (options.retention.count() <= 0) return Status::invalid_argument("retention must be positive");
  if (options.fsync == FsyncPolicy::interval && options.fsync_interval.count() <= 0) {
    return Status::invalid_argument("fsync_interval must be positive");
  }
  if (options.max_event_bytes > 0xFFFFFFFFu - kRecordOverhead) {
    return Status::invalid_argument("max_event_bytes too large");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("create " + dir.string() + ": " + ec.message());

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->opt = std::move(options);
  auto lock = File::open(dir / "LOCK", O_RDWR | O_CREAT);
  if (!lock.ok()) return lock.status();
  if (::flock(lock->fd(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return Status::busy(dir.string() + " is in use by another EventLog (LOCK is held)");
    return Status::from_errno("flock " + (dir / "LOCK").string(), errno);
  }
  impl->lock_file = std::move(*lock);
  if (Status s = impl->recover(); !s.ok()) return s;
  if (impl->opt.fsync == FsyncPolicy::interval) {
    Impl* raw = impl.get();
    impl->flusher = std::thread([raw] { raw->flusher_main(); });
  }
  return EventLog(std::move(impl));
}

Result<SeqRange> EventLog::append(std::span<const PendingEvent> batch) {
  std::lock_guard lk(impl_->write_mu);
  return impl_->append_locked(batch);
}

Result<std::size_t> EventLog::read_after(std::int64_t cursor, std::size_t max_events,
                                         const std::function<bool(const Event&)>& fn) const {
  const std::int64_t last = last_seq();
  if (max_events == 0 || cursor >= last) return std::size_t{0};
  std::int64_t want = std::max<std::int64_t>(cursor, 0) + 1;
  std::size_t delivered = 0;
  // Each round either delivers events or skips a segment pruned under us;
  // more consecutive empty rounds than this means something is wrong.
  int idle_rounds = 0;
  ReadBuffer rb;
  while (delivered < max_events) {
    auto seg = impl_->find(want);
    if (!seg) break;
    bool stop = false;
    bool gone = false;
    auto n = impl_->read_segment(seg, want, max_events - delivered, fn, rb, stop, gone);
    if (!n.ok()) return n.status();
    delivered += *n;
    if (stop) break;
    if (*n > 0) {
      idle_rounds = 0;
      continue;
    }
    if (!gone) break;  // nothing published at or after `want`
    if (++idle_rounds > 64)
      return Status::io_error(impl_->dir.string() + ": segments keep disappearing under a reader");
  }
  return delivered;
}

Result<std::size_t> EventLog::read_after(std::int64_t cursor, std::size_t max_events,
                                         std::vector<StoredEvent>& out) const {
  return read_after(cursor, max_events, [&out](const Event& e) {
    out.push_back(StoredEvent{e.seq, e.kind, e.flags, e.uid, std::vector<std::byte>(e.frame.begin(), e.frame.end())});
    return true;
  });
}

std::int64_t EventLog::oldest_seq() const {
  std::shared_ptr<Segment> front;
  {
    std::lock_guard lk(impl_->list_mu);
    if (!impl_->segments.empty()) front = impl_->segments.front();
  }
  if (front) {
    std::lock_guard lk(front->mu);
    if (front->count > 0) return front->first_seq;
  }
  return last_seq() + 1;
}

std::int64_t EventLog::last_seq() const {
  return impl_->last_seq.load(std::memory_order_acquire);
}
std::int64_t EventLog::synced_seq() const {
  return impl_->synced_seq.load(std::memory_order_acquire);
}

Result<std::size_t> EventLog::prune(std::chrono::system_clock::time_point now) {
  std::lock_guard lk(impl_->write_mu);
  return impl_->prune_locked(now);
}

Status EventLog::sync() {
  std::lock_guard lk(impl_->write_mu);
  return impl_->sync_active();
}

const EventLog::Recovery& EventLog::recovery() const {
  return impl_->recovery;
}
const fs::path& EventLog::dir() const {
  return impl_->dir;
}

std::vector<fs::path> EventLog::segment_paths() const {
  std::lock_guard lk(impl_->list_mu);
  std::vector<fs::path> out;
  out.reserve(impl_->segments.size());
  for (const auto& s : impl_->segments) out.push_back(s->path);
  return out;
}

}  // namespace faultline::relay::store
