#include "tls_test_support.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace faultline::relay::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr io::Duration kStep = 200ms;  // how often idle loops re-check stop
constexpr io::Duration kHandshake = 10s;

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

Key new_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed CA.
Cert make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, const char* san, long serial) {
  Cert c(X509_new());
  check(c != nullptr, "X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  check(X509_set_pubkey(c.get(), key) == 1, "X509_set_pubkey");
  X509* iss = issuer ? issuer : c.get();
  add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  add_ext(c.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (!issuer) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature");
    add_ext(c.get(), iss, NID_ext_key_usage, "serverAuth");
    add_ext(c.get(), iss, NID_subject_alt_name, san);
  }
  check(X509_sign(c.get(), issuer ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return c;
}

std::string pem_of(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

CertKey leaf_of(X509* ca, EVP_PKEY* ca_key, const char* san, long serial, bool with_ca) {
  Key k = new_key();
  Cert c = make_cert("faultline test leaf", k.get(), ca, ca_key, san, serial);
  return {pem_of(c.get()) + (with_ca ? pem_of(ca) : std::string()), pem_of(k.get())};
}

// Tasks spawned per connection, so that stop() can cancel and join them.
class TaskSet {
 public:
  void add(io::TaskHandle t) {
    std::lock_guard g(mu_);
    tasks_.push_back(std::move(t));
  }
  // A task being stopped may still add one (a pump it spawns): repeat.
  void stop_all() {
    for (int round = 0; round < 16; ++round) {
      std::vector<io::TaskHandle> ts;
      {
        std::lock_guard g(mu_);
        ts.swap(tasks_);
      }
      if (ts.empty()) return;
      for (auto& t : ts) t.cancel();
      for (auto& t : ts) t.join();
    }
  }

 private:
  std::mutex mu_;  // never held across a park
  std::vector<io::TaskHandle> tasks_;
};

io::Socket listen_loopback(io::Io& io, std::uint16_t& port) {
  auto l = io.listen(io::Endpoint::loopback_v4(0));
  check(l.ok(), "listen");
  port = l.value.local_endpoint().port();
  return std::move(l.value);
}

// Accepts until stopped (bounded in count), handing each socket to `serve`
// in a task of its own.
io::TaskHandle accept_loop(io::Io& io, io::Socket& listener, std::atomic<bool>& stopping,
                           std::shared_ptr<TaskSet> tasks, std::function<void(io::Socket)> serve) {
  return io.spawn(
      [&io, &listener, &stopping, tasks, serve = std::move(serve)] {
        for (int i = 0; i < 1'000'000 && !stopping; ++i) {
          auto c = io.accept(listener, kStep);
          if (!c) {
            if (c.error == ETIMEDOUT) continue;
            return;
          }
          auto s = std::make_shared<io::Socket>(std::move(c.value));
          tasks->add(io.spawn([serve, s] { serve(std::move(*s)); }, "test-conn"));
        }
      },
      "test-accept");
}

// The other half of accept_loop: ends it, then every task it started.
void stop_accepting(std::atomic<bool>& stopping, io::TaskHandle& accept_task, TaskSet& tasks) {
  stopping = true;
  if (accept_task.valid()) {
    accept_task.cancel();
    accept_task.join();
    accept_task = io::TaskHandle();
  }
  tasks.stop_all();
}

}  // namespace

TestPki::TestPki() {
  Key ca_key = new_key();
  Cert ca = make_cert("faultline test CA", ca_key.get(), nullptr, nullptr, nullptr, 1);
  Key other_ca_key = new_key();
  Cert other_ca = make_cert("faultline untrusted CA", other_ca_key.get(), nullptr, nullptr, nullptr, 1);
  ca_pem_ = pem_of(ca.get());
  leaf_ = leaf_of(ca.get(), ca_key.get(), "DNS:localhost,IP:127.0.0.1", 2, true);
  // Without its CA in the chain, as most servers send it: the client cannot
  // even find the issuer.
  untrusted_ = leaf_of(other_ca.get(), other_ca_key.get(), "DNS:localhost,IP:127.0.0.1", 2, false);
  other_name_ = leaf_of(ca.get(), ca_key.get(), "DNS:other.example", 3, true);

  std::string tmpl = (std::filesystem::temp_directory_path() / "fl-tls-XXXXXX").string();
  check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  dir_ = tmpl;
  ca_file_ = dir_ + "/ca.pem";
  std::ofstream(ca_file_) << ca_pem_;
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

struct TlsTerminator::Shared {
  std::shared_ptr<TaskSet> tasks = std::make_shared<TaskSet>();
};

TlsTerminator::TlsTerminator(io::Io& io, const CertKey& cert, std::uint16_t backend_port, std::size_t plain_piece)
    : io_(io), backend_port_(backend_port), plain_piece_(plain_piece), shared_(std::make_shared<Shared>()) {
  auto ctx = TlsContext::server(cert.chain_pem, cert.key_pem);
  check(ctx.ok(), "server context");
  ctx_ = std::move(ctx.value);
  listener_ = listen_loopback(io, port_);
  accept_task_ = accept_loop(io, listener_, stopping_, shared_->tasks, [this](io::Socket s) {
    accepted_.fetch_add(1);
    serve(std::move(s));
  });
}

TlsTerminator::~TlsTerminator() {
  stop();
}

void TlsTerminator::stop() {
  stop_accepting(stopping_, accept_task_, *shared_->tasks);
}

void TlsTerminator::serve(io::Socket client) {
  struct Conn {
    io::Socket client, backend;
    std::unique_ptr<TlsSession> tls;
  };
  auto c = std::make_shared<Conn>();
  c->client = std::move(client);
  auto t = TlsSession::accept(io_, c->client, ctx_, kHandshake);
  if (!t) {
    io_.shutdown(c->client, SHUT_RDWR);
    return;
  }
  handshakes_.fetch_add(1);
  c->tls = std::move(t.value);
  auto b = io_.connect(io::Endpoint::loopback_v4(backend_port_), kHandshake);
  if (!b) {
    io_.shutdown(c->client, SHUT_RDWR);
    return;
  }
  c->backend = std::move(b.value);
  io::Io& io = io_;
  const std::size_t piece = plain_piece_;
  auto down = io.spawn(
      [&io, c, piece] {
        std::vector<std::byte> buf(16 * 1024);
        for (int i = 0; i < 10'000'000; ++i) {
          auto r = io.recv(c->backend, buf, kStep);
          if (!r && r.error == ETIMEDOUT) continue;
          if (!r || r.value == 0) break;
          std::string_view data(reinterpret_cast<const char*>(buf.data()), r.value);
          bool ok = true;
          for (std::size_t off = 0; ok && off < data.size();) {
            std::size_t n = piece ? std::min(piece, data.size() - off) : data.size() - off;
            ok = c->tls->write_all(c->client, data.substr(off, n), kHandshake).ok();
            off += n;
          }
          if (!ok) break;
        }
        c->tls->close_notify(c->client, kStep);
        io.shutdown(c->client, SHUT_RDWR);
        io.shutdown(c->backend, SHUT_RDWR);
      },
      "tls-term-down");
  shared_->tasks->add(down);
  std::vector<std::byte> buf(16 * 1024);
  for (int i = 0; i < 10'000'000; ++i) {
    auto r = c->tls->read(c->client, buf, kStep);
    if (!r && r.error == ETIMEDOUT) continue;
    if (!r || r.value == 0) break;
    if (!io.send_all(c->backend, std::as_bytes(std::span(buf.data(), r.value)), kHandshake)) break;
  }
  io.shutdown(c->backend, SHUT_RDWR);
  io.shutdown(c->client, SHUT_RDWR);
}

struct Chopper::Shared {
  std::shared_ptr<TaskSet> tasks = std::make_shared<TaskSet>();
};

Chopper::Chopper(io::Io& io, std::uint16_t target_port, std::size_t piece)
    : io_(io), target_port_(target_port), piece_(piece ? piece : 1), shared_(std::make_shared<Shared>()) {
  listener_ = listen_loopback(io, port_);
  accept_task_ = accept_loop(io, listener_, stopping_, shared_->tasks, [this](io::Socket s) {
    struct Pair {
      io::Socket a, b;
    };
    auto p = std::make_shared<Pair>();
    p->a = std::move(s);
    auto t = io_.connect(io::Endpoint::loopback_v4(target_port_), kHandshake);
    if (!t) {
      io_.shutdown(p->a, SHUT_RDWR);
      return;
    }
    p->b = std::move(t.value);
    io::Io& rt = io_;
    const std::size_t max_piece = piece_;
    // Piece sizes cycle 1..max_piece, and each piece waits a little, so the
    // reader on the other side sees the stream cut at every kind of offset.
    auto pump = [&rt, max_piece](io::Socket& from, io::Socket& to) {
      std::vector<std::byte> buf(16 * 1024);
      std::size_t next = 1;
      for (int i = 0; i < 10'000'000; ++i) {
        auto r = rt.recv(from, buf, kStep);
        if (!r && r.error == ETIMEDOUT) continue;
        if (!r || r.value == 0) break;
        bool ok = true;
        for (std::size_t off = 0; ok && off < r.value;) {
          std::size_t n = std::min(next, r.value - off);
          next = next % max_piece + 1;
          ok = rt.send_all(to, std::span<const std::byte>(buf.data() + off, n), kHandshake).ok();
          off += n;
          rt.sleep_for(50us);
        }
        if (!ok) break;
      }
      rt.shutdown(to, SHUT_WR);
    };
    auto up = rt.spawn([p, pump] { pump(p->b, p->a); }, "chopper-back");
    shared_->tasks->add(up);
    pump(p->a, p->b);
    up.join();
    rt.shutdown(p->a, SHUT_RDWR);
    rt.shutdown(p->b, SHUT_RDWR);
  });
}

Chopper::~Chopper() {
  stop();
}

void Chopper::stop() {
  stop_accepting(stopping_, accept_task_, *shared_->tasks);
}

}  // namespace faultline::relay::net::testing
