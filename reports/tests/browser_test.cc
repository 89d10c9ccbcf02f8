// Real-browser check of index.html: headless Chromium (Debian's `chromium`)
// loads the generated page from a file:// URL, dumps the DOM it parsed and
// takes a screenshot. The test asserts that
//  - the DOM holds the outcome matrix table, the SVG charts (bars, histogram
//    bars, stress line series) and the links to every bug report;
//  - the screenshot is a PNG of the requested size that is not blank: it is
//    decoded (zlib inflate + PNG unfiltering) and must contain many distinct
//    colours and a sizeable share of pixels that differ from the background.
// Chromium is installed with apt-get when missing (as root or with
// password-less sudo); only when that is impossible does the test exit 77
// (CTest skip) and say why. Every browser call is bounded by `timeout`.
// argv[1] (optional): where to keep index.html and screenshot.png for a human.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "reports/generate.h"
#include "reports/tests/synthetic.h"

namespace fs = std::filesystem;
using namespace faultline::reports::testing;

namespace {

fs::path g_out;
std::string g_chromium;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool has_command(const std::string& c) {
  return std::system(("command -v " + c + " >/dev/null 2>&1").c_str()) == 0;
}

// Finds Chromium, installing Debian's package when it is missing; on failure
// returns "" and sets `why`.
std::string ensure_chromium(std::string& why) {
  for (const char* c : {"chromium", "chromium-browser"})
    if (has_command(c)) return c;
  std::string prefix;
  if (::geteuid() != 0) {
    if (!has_command("sudo") || std::system("sudo -n true >/dev/null 2>&1") != 0) {
      why =
          "chromium is not installed and cannot be installed (not root, no password-less sudo); "
          "run as root: apt-get install -y chromium";
      return {};
    }
    prefix = "sudo -n ";
  }
  std::cerr << "reports.browser: installing Debian's chromium (apt-get) ...\n";
  std::string cmd = "DEBIAN_FRONTEND=noninteractive timeout 600 " + prefix +
                    "apt-get install -y -qq --no-install-recommends chromium >/tmp/fl-reports-chromium-apt.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::system(("timeout 300 " + prefix + "apt-get update -qq >>/tmp/fl-reports-chromium-apt.log 2>&1").c_str());
    std::system(cmd.c_str());
  }
  if (has_command("chromium")) return "chromium";
  why = "apt-get install chromium failed (see /tmp/fl-reports-chromium-apt.log)";
  return {};
}

int run_chromium(const std::string& args, const fs::path& profile, const fs::path& stdout_file) {
  fs::remove_all(profile);
  fs::create_directories(profile);
  std::string cmd = "timeout -k 5 120 " + g_chromium +
                    " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                    " --disable-component-update --disable-sync --disable-quic --disable-extensions"
                    " --user-data-dir='" +
                    profile.string() + "' " + args + " >'" + stdout_file.string() + "' 2>'" + stdout_file.string() +
                    ".stderr'";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// Minimal PNG decoder: 8-bit RGB or RGBA, non-interlaced (what Chromium writes).
struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint32_t> pixels;  // 0xRRGGBB
  std::string error;
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

Image decode_png(const std::string& data) {
  Image img;
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 33 || data.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    img.error = "not a PNG";
    return img;
  }
  int depth = 0, ctype = 0, interlace = 0;
  std::string idat;
  for (std::size_t p = 8; p + 12 <= data.size();) {
    std::uint32_t len = be32(d + p);
    std::string type = data.substr(p + 4, 4);
    if (p + 12 + len > data.size()) break;
    if (type == "IHDR") {
      img.width = be32(d + p + 8);
      img.height = be32(d + p + 12);
      depth = d[p + 16];
      ctype = d[p + 17];
      interlace = d[p + 20];
    } else if (type == "IDAT") {
      idat.append(data, p + 8, len);
    }
    p += 12 + len;
  }
  if (depth != 8 || (ctype != 2 && ctype != 6) || interlace != 0) {
    img.error =
        "unsupported PNG format (depth " + std::to_string(depth) + ", colour type " + std::to_string(ctype) + ")";
    return img;
  }
  const std::size_t bpp = ctype == 6 ? 4 : 3, stride = img.width * bpp;
  std::vector<unsigned char> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    img.error = "inflate failed";
    return img;
  }
  std::vector<unsigned char> prev(stride, 0), cur(stride);
  img.pixels.reserve(std::size_t{img.width} * img.height);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const unsigned char* row = raw.data() + y * (stride + 1);
    int filter = row[0];
    for (std::size_t x = 0; x < stride; ++x) {
      int a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0, v = row[1 + x];
      switch (filter) {
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) / 2;
          break;
        case 4: {
          int pp = a + b - c, pa = std::abs(pp - a), pb = std::abs(pp - b), pc = std::abs(pp - c);
          v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          break;
      }
      cur[x] = static_cast<unsigned char>(v);
    }
    for (std::uint32_t x = 0; x < img.width; ++x)
      img.pixels.push_back((std::uint32_t{cur[x * bpp]} << 16) | (std::uint32_t{cur[x * bpp + 1]} << 8) |
                           cur[x * bpp + 2]);
    std::swap(prev, cur);
  }
  return img;
}

// A page with everything on it: failures in several builds, a sanitizer
// report, a clean scenario, a stress time series.
std::string make_report(const fs::path& dir) {
  auto in = dir / "results";
  std::string text;
  for (int i = 0; i < 40; ++i)
    text += line(segv_clobber("s" + std::to_string(i), i % 4 == 0 ? "MinSizeRel" : "Release", i));
  for (int i = 0; i < 20; ++i)
    text += line(base("d" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Debug", "pass"));
  for (int i = 0; i < 5; ++i) text += line(asan_uaf("u" + std::to_string(i), i));
  text += line(hang_rec("h0"));
  for (int i = 0; i < 15; ++i)
    text += line(base("f" + std::to_string(i), "ctxswitch/missing-clobber", "fixed",
                      i % 3 == 0 ? "Debug" : (i % 3 == 1 ? "Release" : "RelWithDebInfo"), "pass"));
  write(in / "matrix-1" / "runs.jsonl", text);
  std::string ts;
  for (int t = 0; t <= 120; t += 2) {
    nlohmann::json s{{"t", t},
                     {"threads", 35 + (t > 60 ? 2 : 0)},
                     {"rss_bytes", 2.5e9 + t * 3e6},
                     {"events_in_per_s", 600 + (t % 10) * 3},
                     {"events_out_per_s", t > 60 ? 520 : 598},
                     {"latency_p50_ms", 3 + (t % 7) * 0.2},
                     {"latency_p99_ms", 12 + (t > 60 ? 30 : 0)},
                     {"latency_max_ms", 40 + (t > 60 ? 200 : 0)},
                     {"queue_high_water", t > 60 ? 8191 : 36}};
    ts += s.dump() + "\n";
  }
  write(in / "stress-1" / "runs.jsonl", line(base("stress-ev", "stress/fleet", "evented", "Release", "fail")));
  write(in / "stress-1" / "timeseries.jsonl", ts);
  auto r = faultline::reports::generate_report({in.string()}, (dir / "out").string());
  return r.index_html;
}

class Browser : public ::testing::Test {};

TEST_F(Browser, DomHasMatrixChartsAndLinks) {
  auto index = make_report(g_out / "dom");
  auto dom_file = g_out / "dom.html";
  int rc = run_chromium("--dump-dom 'file://" + index + "'", g_out / "profile-dom", dom_file);
  ASSERT_EQ(rc, 0) << slurp(dom_file.string() + ".stderr");
  auto dom = slurp(dom_file);
  EXPECT_NE(dom.find("<table class=\"matrix\""), std::string::npos);
  EXPECT_GE(count_of(dom, "<td class=\"cell\""), 4u);
  EXPECT_GE(count_of(dom, "<svg class=\"chart\""), 3u + 5u);  // rates, 2 histograms, 5 stress panels
  EXPECT_GE(count_of(dom, "class=\"bar\""), 6u);
  EXPECT_GE(count_of(dom, "class=\"series\""), 8u);
  EXPECT_GE(count_of(dom, "href=\"bugs/"), 3u);
  EXPECT_NE(dom.find("Failure rate per build"), std::string::npos);
}

TEST_F(Browser, ScreenshotIsNotBlank) {
  auto index = make_report(g_out / "shot");
  auto png = g_out / "screenshot.png";
  fs::remove(png);
  int rc = run_chromium(
      "--hide-scrollbars --window-size=1280,2200 --screenshot='" + png.string() + "' 'file://" + index + "'",
      g_out / "profile-shot", g_out / "shot.log");
  ASSERT_EQ(rc, 0) << slurp(g_out / "shot.log.stderr");
  ASSERT_TRUE(fs::exists(png));
  auto img = decode_png(slurp(png));
  ASSERT_TRUE(img.error.empty()) << img.error;
  EXPECT_EQ(img.width, 1280u);
  EXPECT_EQ(img.height, 2200u);
  std::unordered_map<std::uint32_t, std::size_t> hist;
  for (auto p : img.pixels) ++hist[p];
  std::size_t top = 0;
  for (const auto& [c, n] : hist) top = std::max(top, n);
  double non_bg = 1.0 - static_cast<double>(top) / static_cast<double>(img.pixels.size());
  std::cerr << "screenshot " << png << ": " << hist.size() << " distinct colours, " << non_bg * 100
            << "% of pixels differ from the most common colour\n";
  // Text anti-aliasing, the coloured matrix and the charts give hundreds of
  // colours; a blank or error page gives a handful.
  EXPECT_GE(hist.size(), 200u);
  EXPECT_GE(non_bg, 0.15);
  // The matrix's red cells and the dark header are there.
  EXPECT_GT(hist[0xdc2626], 100u);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  g_out =
      argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / ("fl-reports-browser-" + std::to_string(::getpid()));
  fs::create_directories(g_out);
  g_out = fs::absolute(g_out);
  std::string why;
  g_chromium = ensure_chromium(why);
  if (g_chromium.empty()) {
    std::cout << "SKIP: " << why << "\n";
    return 77;
  }
  return RUN_ALL_TESTS();
}
