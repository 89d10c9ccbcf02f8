#include "relay/net/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <vector>

#include "relay/net/deadline.h"

namespace faultline::relay::net {
namespace {

// Plaintext encrypted per round in write_all(): bounds the ciphertext held
// in memory for a large message to about this much.
constexpr std::size_t kWriteSlice = 64 * 1024;
// One full TLS record plus its overhead fits in one socket read.
constexpr std::size_t kRecvChunk = 17 * 1024;

SSL_CTX* as_ctx(void* p) {
  return static_cast<SSL_CTX*>(p);
}

// The OpenSSL error queue is per thread, so it is read right after the
// failing call, before anything can park the fiber.
std::string openssl_reason(const char* fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    if (!out.empty()) continue;  // the first error names the cause; drain the rest
    const char* r = ERR_reason_error_string(e);
    if (r) {
      out = r;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out = buf;
    }
  }
  return out.empty() ? fallback : out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

BIO* mem_bio(std::string_view data) {
  return BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
}

// SSL_CTX_new with what both sides require: TLS 1.2 or later, and no
// renegotiation (a relay never needs it; refusing it also means SSL_write
// never has to read). Null when OpenSSL cannot allocate it.
SSL_CTX* new_ssl_ctx(const SSL_METHOD* method) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

}  // namespace

TlsContext::~TlsContext() {
  SSL_CTX_free(as_ctx(ctx_));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const std::string& ca_file) {
  using R = std::shared_ptr<const TlsContext>;
  // Contexts are immutable once built and SSL_new on one is thread-safe, so
  // every connection of the process shares the one for its CA file.
  static std::mutex mu;
  static std::map<std::string, R>* cache = new std::map<std::string, R>();  // never destroyed: used at exit
  std::lock_guard g(mu);
  if (auto it = cache->find(ca_file); it != cache->end()) return success(it->second);
  SSL_CTX* ctx = new_ssl_ctx(TLS_client_method());
  if (!ctx) return failure<R>(ENOMEM, "SSL_CTX_new: " + openssl_reason("out of memory"));
  R out(new TlsContext(ctx, false));
  // Thousands of mostly idle upstreams: let idle sessions drop their record
  // buffers (about 34 KiB each).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // A missing system store (no ca-certificates) leaves only ca_file trusted:
  // verification then fails loudly, which is the safe direction.
  SSL_CTX_set_default_verify_paths(ctx);
  ERR_clear_error();
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
    return failure<R>(EINVAL, "TLS CA file " + ca_file + ": " + openssl_reason("cannot load it"));
  cache->emplace(ca_file, out);
  return success(out);
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(std::string_view cert_chain_pem,
                                                             std::string_view key_pem) {
  using R = std::shared_ptr<const TlsContext>;
  SSL_CTX* ctx = new_ssl_ctx(TLS_server_method());
  if (!ctx) return failure<R>(ENOMEM, "SSL_CTX_new: " + openssl_reason("out of memory"));
  R out(new TlsContext(ctx, true));
  BIO* cb = mem_bio(cert_chain_pem);
  X509* leaf = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  bool ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {
    X509* extra = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    if (!extra) break;
    // add0 takes ownership on success.
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(cb);
  ERR_clear_error();  // the end of the chain reads as a PEM "no start line"
  if (!ok) return failure<R>(EINVAL, "TLS server certificate: " + openssl_reason("not a PEM certificate"));
  BIO* kb = mem_bio(key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) return failure<R>(EINVAL, "TLS server key: " + openssl_reason("not a PEM key matching the certificate"));
  return success(out);
}

struct TlsSession::State {
  State(io::Io& io_, std::shared_ptr<const TlsContext> c, SSL* s)
      : io(io_), ctx(std::move(c)), ssl(s), send_mu(io_.make_mutex("tls.send")), inbuf(kRecvChunk) {}
  ~State() { SSL_free(ssl); }  // frees both BIOs

  // What one OpenSSL call left behind, taken under ssl_mu.
  struct Step {
    int ret = 0;
    int error = SSL_ERROR_NONE;
    std::string reason;
  };

  Step finish_step(int ret, const char* what) {
    Step st;
    st.ret = ret;
    st.error = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, ret);
    if (st.error == SSL_ERROR_SSL || st.error == SSL_ERROR_SYSCALL) {
      long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK) {
        ERR_clear_error();
        st.reason = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
        if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
          st.reason += " (expected " + peer + ")";
      } else {
        st.reason = openssl_reason(what);
      }
    } else {
      ERR_clear_error();
    }
    return st;
  }

  // Moves whatever OpenSSL has produced to the socket. send_mu makes drain +
  // send one step, so records reach the wire in the order they were made.
  Result<std::size_t> flush(io::Socket& sock, const Deadline& d) {
    io::LockGuard g(*send_mu);
    return flush_locked(sock, d);
  }

  Result<std::size_t> flush_locked(io::Socket& sock, const Deadline& d) {
    {
      std::lock_guard lk(ssl_mu);
      std::size_t n = BIO_ctrl_pending(SSL_get_wbio(ssl));
      if (n == 0) return success<std::size_t>(0);
      std::size_t old = outbuf.size();
      outbuf.resize(old + n);
      int got = BIO_read(SSL_get_wbio(ssl), outbuf.data() + old, static_cast<int>(n));
      outbuf.resize(old + static_cast<std::size_t>(std::max(got, 0)));
    }
    std::size_t off = 0;
    while (off < outbuf.size()) {
      auto r = io.send(sock, std::as_bytes(std::span(outbuf.data() + off, outbuf.size() - off)), d.left());
      if (!r) {
        outbuf.clear();
        return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "TLS send timed out" : "TLS send");
      }
      off += r.value;
    }
    outbuf.clear();
    if (outbuf.capacity() > 4 * kWriteSlice) std::string().swap(outbuf);
    return success(off);
  }

  // Reads ciphertext from the socket into OpenSSL. 0 bytes: the peer closed.
  Result<std::size_t> pull(io::Socket& sock, const Deadline& d) {
    auto r = io.recv(sock, inbuf, d.left());
    if (!r) return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "timed out" : "recv");
    if (r.value > 0) {
      std::lock_guard lk(ssl_mu);
      BIO_write(SSL_get_rbio(ssl), inbuf.data(), static_cast<int>(r.value));
    }
    return success(r.value);
  }

  Result<std::size_t> handshake(io::Socket& sock, const Deadline& d) {
    const char* side = SSL_is_server(ssl) ? "TLS handshake" : "TLS handshake with ";
    const std::string who = SSL_is_server(ssl) ? std::string(side) : side + peer;
    for (;;) {
      auto step = [this] {
        std::lock_guard lk(ssl_mu);
        ERR_clear_error();
        return finish_step(SSL_do_handshake(ssl), "handshake failed");
      };
      // Certificate checks and key exchange are the deepest OpenSSL calls;
      // on Evented they run on a bridge worker's full-size stack instead of
      // a small fiber stack (and keep the scheduler thread free meanwhile).
      Step st = io.backend() == io::Backend::evented ? io.offload(step) : step();
      // Our alert, or our next flight, goes out even when the step failed:
      // the peer then learns why.
      auto f = flush(sock, d);
      if (st.ret == 1) {
        if (!f) return failure<std::size_t>(f.error, who + ": " + f.detail);
        return success<std::size_t>(0);
      }
      if (st.error != SSL_ERROR_WANT_READ && st.error != SSL_ERROR_WANT_WRITE)
        return failure<std::size_t>(EPROTO, who + ": " + st.reason);
      if (!f) return failure<std::size_t>(f.error, who + ": " + f.detail);
      if (st.error == SSL_ERROR_WANT_WRITE) continue;
      if (d.expired()) return failure<std::size_t>(ETIMEDOUT, who + " timed out");
      auto p = pull(sock, d);
      if (!p) return failure<std::size_t>(p.error, who + ": " + p.detail);
      if (p.value == 0) return failure<std::size_t>(ECONNRESET, who + ": the peer closed the connection");
    }
  }

  io::Io& io;
  std::shared_ptr<const TlsContext> ctx;
  SSL* ssl;
  std::string peer;  // the verified name, for error messages
  // Guards ssl and its BIOs. Held only around OpenSSL calls, never across a
  // park, so a plain mutex is right on both backends.
  std::mutex ssl_mu;
  std::unique_ptr<io::Mutex> send_mu;
  std::string outbuf;            // under send_mu
  std::vector<std::byte> inbuf;  // the reader's
  std::atomic<bool> close_sent{false};
};

TlsSession::TlsSession(std::unique_ptr<State> state) : s_(std::move(state)) {}
TlsSession::~TlsSession() = default;

namespace {

// A new SSL on memory BIOs. An empty input BIO must read as "retry", not
// as end of file, or OpenSSL would take a slow peer for a closed one.
SSL* new_ssl(const TlsContext& ctx, std::string& error) {
  ERR_clear_error();
  SSL* ssl = SSL_new(as_ctx(ctx.native()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!ssl || !in || !out) {
    error = openssl_reason("out of memory");
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    return nullptr;
  }
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  return ssl;
}

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::connect(io::Io& io, io::Socket& sock,
                                                        std::shared_ptr<const TlsContext> ctx, const std::string& host,
                                                        io::Duration timeout) {
  using R = std::unique_ptr<TlsSession>;
  if (!ctx || ctx->is_server()) return failure<R>(EINVAL, "TlsSession::connect needs a client context");
  if (host.empty()) return failure<R>(EINVAL, "TLS needs the peer's name to verify");
  Deadline d(timeout);
  std::string error;
  SSL* ssl = new_ssl(*ctx, error);
  if (!ssl) return failure<R>(ENOMEM, "SSL_new: " + error);
  auto state = std::make_unique<State>(io, std::move(ctx), ssl);
  state->peer = host;
  SSL_set_connect_state(ssl);
  bool ok;
  if (is_ip_literal(host)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  }
  if (!ok) return failure<R>(EINVAL, "TLS: cannot verify the name '" + host + "': " + openssl_reason("invalid"));
  auto h = state->handshake(sock, d);
  if (!h) return failure<R>(h.error, h.detail);
  return success(R(new TlsSession(std::move(state))));
}

Result<std::unique_ptr<TlsSession>> TlsSession::accept(io::Io& io, io::Socket& sock,
                                                       std::shared_ptr<const TlsContext> ctx, io::Duration timeout) {
  using R = std::unique_ptr<TlsSession>;
  if (!ctx || !ctx->is_server()) return failure<R>(EINVAL, "TlsSession::accept needs a server context");
  Deadline d(timeout);
  std::string error;
  SSL* ssl = new_ssl(*ctx, error);
  if (!ssl) return failure<R>(ENOMEM, "SSL_new: " + error);
  auto state = std::make_unique<State>(io, std::move(ctx), ssl);
  SSL_set_accept_state(ssl);
  auto h = state->handshake(sock, d);
  if (!h) return failure<R>(h.error, h.detail);
  return success(R(new TlsSession(std::move(state))));
}

Result<std::size_t> TlsSession::read(io::Socket& sock, std::span<std::byte> buf, io::Duration timeout) {
  State& s = *s_;
  Deadline d(timeout);
  const int want = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
  for (bool pulled = false;; pulled = true) {
    State::Step st;
    bool produced;
    {
      std::lock_guard lk(s.ssl_mu);
      ERR_clear_error();
      st = s.finish_step(SSL_read(s.ssl, buf.data(), want), "TLS read failed");
      produced = BIO_ctrl_pending(SSL_get_wbio(s.ssl)) > 0;
    }
    // Reading can make records to send (a KeyUpdate answer, an alert).
    if (produced) {
      auto f = s.flush(sock, d);
      if (!f && st.ret <= 0) return failure<std::size_t>(f.error, f.detail);
    }
    if (st.ret > 0) return success(static_cast<std::size_t>(st.ret));
    if (st.error == SSL_ERROR_ZERO_RETURN) return success<std::size_t>(0);
    if (st.error != SSL_ERROR_WANT_READ && st.error != SSL_ERROR_WANT_WRITE)
      return failure<std::size_t>(EPROTO, "TLS: " + st.reason);
    if (st.error == SSL_ERROR_WANT_WRITE) continue;
    if (pulled && d.expired()) return failure<std::size_t>(ETIMEDOUT, "TLS read timed out");
    auto p = s.pull(sock, d);
    if (!p) return failure<std::size_t>(p.error, "TLS read " + p.detail);
    if (p.value == 0) return failure<std::size_t>(ECONNRESET, "connection closed without a TLS close_notify");
  }
}

Result<std::size_t> TlsSession::write_all(io::Socket& sock, std::string_view data, io::Duration timeout) {
  State& s = *s_;
  Deadline d(timeout);
  io::LockGuard g(*s.send_mu);
  if (s.close_sent) return failure<std::size_t>(ENOTCONN, "TLS close_notify already sent");
  std::size_t off = 0;
  while (off < data.size()) {
    const std::size_t n = std::min(kWriteSlice, data.size() - off);
    State::Step st;
    {
      std::lock_guard lk(s.ssl_mu);
      ERR_clear_error();
      st = s.finish_step(SSL_write(s.ssl, data.data() + off, static_cast<int>(n)), "TLS write failed");
    }
    // Memory BIOs grow as needed and renegotiation is off, so a write
    // completes whole or fails for good.
    if (st.ret <= 0) return failure<std::size_t>(EPROTO, "TLS: " + st.reason);
    auto f = s.flush_locked(sock, d);
    if (!f) return failure<std::size_t>(f.error, f.detail);
    off += static_cast<std::size_t>(st.ret);
  }
  return success(off);
}

Result<std::size_t> TlsSession::close_notify(io::Socket& sock, io::Duration timeout) {
  State& s = *s_;
  Deadline d(timeout);
  io::LockGuard g(*s.send_mu);
  if (s.close_sent.exchange(true)) return success<std::size_t>(0);
  {
    std::lock_guard lk(s.ssl_mu);
    ERR_clear_error();
    SSL_shutdown(s.ssl);  // 0 = ours sent, the peer's not seen: all we want
    ERR_clear_error();
  }
  return s.flush_locked(sock, d);
}

std::string TlsSession::protocol() const {
  std::lock_guard lk(s_->ssl_mu);
  return SSL_get_version(s_->ssl);
}

}  // namespace faultline::relay::net
