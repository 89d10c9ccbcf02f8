// Loopback TLS for tests of relay/net and the relay: a throwaway PKI made
// with the OpenSSL API at test time (no private key is checked in), a TLS
// terminator that puts TLS in front of any plaintext loopback server, and a
// TCP chopper that forwards bytes in tiny pieces.
//
// Contract:
//  - TestPki: a CA and a leaf for "localhost" and 127.0.0.1 (SAN) signed by
//    it (chain: leaf + CA), plus the same names from a second, untrusted CA
//    (chain: the leaf alone) and a leaf of the trusted CA for another name. P-256 keys, SHA-256. ca_file() is
//    the trusted CA's PEM in a per-PKI temporary directory (removed by the
//    destructor).
//  - TlsTerminator: accepts TCP on 127.0.0.1:0, runs the server handshake
//    with the given chain/key, connects to 127.0.0.1:backend_port and pumps
//    both ways until either side ends. Every connection gets its own tasks;
//    plain_piece > 0 writes backend bytes in TLS records of at most that
//    many plaintext bytes (so the client reads them in small pieces).
//    accepted() counts TCP accepts, handshakes() successful handshakes.
//  - Chopper: a TCP forwarder to 127.0.0.1:target_port that sends at most
//    `piece` bytes per send in both directions, yielding in between.
//  - Both stop (cancel and join their tasks) in the destructor, which must
//    run before the Io is destroyed and not inside one of its tasks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/net/tls.h"

namespace faultline::relay::net::testing {

struct CertKey {
  std::string chain_pem;  // leaf first, then its CA
  std::string key_pem;
};

class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_pem() const { return ca_pem_; }
  const std::string& ca_file() const { return ca_file_; }
  const CertKey& leaf() const { return leaf_; }                   // localhost + 127.0.0.1, trusted CA
  const CertKey& untrusted_leaf() const { return untrusted_; }    // same names, unknown CA
  const CertKey& other_name_leaf() const { return other_name_; }  // "other.example" only, trusted CA

 private:
  std::string dir_, ca_pem_, ca_file_;
  CertKey leaf_, untrusted_, other_name_;
};

class TlsTerminator {
 public:
  TlsTerminator(io::Io& io, const CertKey& cert, std::uint16_t backend_port, std::size_t plain_piece = 0);
  ~TlsTerminator();
  TlsTerminator(const TlsTerminator&) = delete;
  TlsTerminator& operator=(const TlsTerminator&) = delete;

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int handshakes() const { return handshakes_.load(); }
  void stop();

 private:
  void serve(io::Socket client);
  struct Shared;
  io::Io& io_;
  std::shared_ptr<const TlsContext> ctx_;
  std::uint16_t backend_port_;
  std::size_t plain_piece_;
  io::Socket listener_;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0}, handshakes_{0};
  std::atomic<bool> stopping_{false};
  std::shared_ptr<Shared> shared_;
  io::TaskHandle accept_task_;
};

class Chopper {
 public:
  Chopper(io::Io& io, std::uint16_t target_port, std::size_t piece);
  ~Chopper();
  Chopper(const Chopper&) = delete;
  Chopper& operator=(const Chopper&) = delete;

  std::uint16_t port() const { return port_; }
  void stop();

 private:
  struct Shared;
  io::Io& io_;
  std::uint16_t target_port_;
  std::size_t piece_;
  io::Socket listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<Shared> shared_;
  io::TaskHandle accept_task_;
};

}  // namespace faultline::relay::net::testing
