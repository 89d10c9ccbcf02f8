// The program around unit.cc, behaving like a repro (--describe, --variant V,
// --json, exit 0 pass / 1 fail). Variants: "broken" asks g(a, b) for b (fails
// once f is inlined into g); "fixed" passes whatever the unit looks like;
// "always" fails whatever the unit looks like (fails even at limit 0).
#include <cstdio>
#include <cstring>
#include <string>

long g(long a, long b);
std::string label(long v);

int main(int argc, char** argv) {
  std::string variant = "broken";
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--describe") == 0) {
      std::puts(
          "{\"scenario\":\"test/inline-stale-rdi\",\"description\":\"opt-bisect fixture\","
          "\"variants\":[\"broken\",\"fixed\",\"always\"],\"default_variant\":\"broken\"}");
      return 0;
    }
    if (std::strcmp(argv[i], "--variant") == 0 && i + 1 < argc) variant = argv[++i];
    if (std::strcmp(argv[i], "--json") == 0) json = true;
  }
  const long a = 1000 + argc, b = 2000 + argc;  // not constants the unit could see
  bool ok = true;
  std::string what = "fixed: nothing asked of the unit";
  if (variant == "broken") {
    long r = g(a, b);
    ok = r == b;
    what = label(r) + (ok ? " (right)" : " (its first argument: f read a stale %rdi)");
  } else if (variant == "always") {
    ok = false;
    what = "fails whatever the unit looks like";
  }
  if (json)
    std::printf(
        "{\"schema\":\"faultline.result/1\",\"scenario\":\"test/inline-stale-rdi\",\"variant\":\"%s\","
        "\"outcome\":\"%s\",\"summary\":\"%s\",\"details\":{}}\n",
        variant.c_str(), ok ? "pass" : "fail", what.c_str());
  else
    std::printf("%s\n", what.c_str());
  return ok ? 0 : 1;
}
