// Loading and merging result directories (see load.h for the contract).
#include "reports/load.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace faultline::reports {
namespace fs = std::filesystem;
namespace {

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string fnv_hex(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Nested objects flatten to "a_b" so {"latency_ms": {"p99": 3}} charts as
// latency_ms_p99; strings and arrays are not chartable and are dropped.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, double>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "_" + it.key();
    if (it->is_number())
      out[key] = it->get<double>();
    else if (it->is_boolean())
      out[key] = it->get<bool>() ? 1 : 0;
    else if (it->is_object())
      flatten(*it, key, out);
  }
}

// A sample without "t" gets its index so a producer that only logs in order
// still charts; "time_s"/"elapsed_s" are accepted aliases.
bool to_sample(const nlohmann::json& j, std::size_t index, std::map<std::string, double>& out) {
  if (!j.is_object()) return false;
  flatten(j, "", out);
  if (!out.count("t")) {
    if (out.count("time_s"))
      out["t"] = out["time_s"];
    else if (out.count("elapsed_s"))
      out["t"] = out["elapsed_s"];
    else
      out["t"] = static_cast<double>(index);
  }
  out.erase("time_s");
  out.erase("elapsed_s");
  return true;
}

void sort_samples(TimeSeries& ts) {
  std::stable_sort(ts.samples.begin(), ts.samples.end(),
                   [](const auto& a, const auto& b) { return a.at("t") < b.at("t"); });
}

std::string run_label(const record::ResultRecord& r) {
  std::string l = r.scenario.empty() ? std::string("(unnamed)") : r.scenario;
  if (!r.variant.empty()) l += " [" + r.variant + "]";
  if (!r.build.type.empty()) l += " " + r.build.type;
  return l;
}

void series_from_details(const Run& run, RunSet& set) {
  const auto& d = run.rec.details;
  auto it = d.find("timeseries");
  if (it == d.end()) return;
  const nlohmann::json* arr = &*it;
  if (it->is_object() && it->contains("samples")) arr = &(*it)["samples"];
  if (!arr->is_array()) return;
  TimeSeries ts;
  ts.label = run_label(run.rec);
  ts.run_id = run.rec.run_id;
  ts.source = run.source + " details.timeseries";
  for (const auto& s : *arr) {
    std::map<std::string, double> m;
    if (to_sample(s, ts.samples.size(), m)) ts.samples.push_back(std::move(m));
  }
  if (ts.samples.empty()) return;
  sort_samples(ts);
  set.series.push_back(std::move(ts));
}

// timeseries.jsonl may hold several runs' samples; a "run_id" or "series"
// field on a sample splits them, otherwise the file is one series that
// belongs to the directory's single run (when there is exactly one).
void load_timeseries(const fs::path& file, const std::string& dir, RunSet& set) {
  std::string text;
  if (!read_file(file, text)) {
    set.warnings.push_back("cannot read " + file.string());
    return;
  }
  ++set.files_read;
  std::map<std::string, TimeSeries> by_key;
  std::vector<std::string> order;
  std::istringstream in(text);
  std::string line;
  std::size_t lineno = 0, bad = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad;
      continue;
    }
    std::string rid = j.value("run_id", std::string{});
    std::string name = j.value("series", std::string{});
    std::string key = rid + "\x1f" + name;
    if (!by_key.count(key)) {
      order.push_back(key);
      by_key[key].run_id = rid;
      by_key[key].label = name;
    }
    auto& ts = by_key[key];
    std::map<std::string, double> m;
    if (to_sample(j, ts.samples.size(), m)) ts.samples.push_back(std::move(m));
  }
  if (bad) {
    set.malformed_lines += bad;
    set.warnings.push_back(file.string() + ": skipped " + std::to_string(bad) + " malformed line(s)");
  }
  // Runs in this directory, to name series that do not say whose they are.
  std::vector<const Run*> here;
  for (const auto& r : set.runs)
    if (r.dir == dir) here.push_back(&r);
  for (const auto& key : order) {
    auto ts = std::move(by_key[key]);
    if (ts.samples.empty()) continue;
    const Run* owner = nullptr;
    for (const auto* r : here)
      if (!ts.run_id.empty() && r->rec.run_id == ts.run_id) owner = r;
    if (!owner && ts.run_id.empty() && here.size() == 1) owner = here.front();
    if (owner) {
      ts.run_id = owner->rec.run_id;
      ts.label = ts.label.empty() ? run_label(owner->rec) : run_label(owner->rec) + " · " + ts.label;
    }
    if (ts.label.empty()) ts.label = ts.run_id.empty() ? fs::path(dir).filename().string() : ts.run_id;
    ts.source = file.string();
    sort_samples(ts);
    set.series.push_back(std::move(ts));
  }
}

void load_run_dir(const fs::path& d, RunSet& set) {
  std::string dir = d.string();
  set.run_dirs.push_back(dir);
  std::error_code ec;
  const std::size_t runs_before = set.runs.size() + set.duplicates_dropped;
  if (fs::is_regular_file(d / "runs.jsonl", ec)) {
    std::string text;
    if (read_file(d / "runs.jsonl", text)) {
      ++set.files_read;
      load_jsonl_text(text, (d / "runs.jsonl").string(), dir, set);
    } else {
      set.warnings.push_back("cannot read " + (d / "runs.jsonl").string());
    }
  }
  if (fs::is_regular_file(d / "matrix.json", ec)) {
    std::string text;
    if (read_file(d / "matrix.json", text)) {
      ++set.files_read;
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded() || !(j.is_object() || j.is_array())) {
        set.warnings.push_back((d / "matrix.json").string() + ": not valid JSON, ignored");
      } else {
        set.matrices.push_back(std::move(j));
        set.matrix_sources.push_back((d / "matrix.json").string());
        set.matrix_has_records.push_back(set.runs.size() + set.duplicates_dropped > runs_before);
      }
    }
  }
  if (fs::is_regular_file(d / "timeseries.jsonl", ec)) load_timeseries(d / "timeseries.jsonl", dir, set);
}

bool is_run_dir(const fs::path& d) {
  std::error_code ec;
  return fs::is_regular_file(d / "runs.jsonl", ec) || fs::is_regular_file(d / "matrix.json", ec) ||
         fs::is_regular_file(d / "timeseries.jsonl", ec);
}

}  // namespace

void load_jsonl_text(const std::string& text, const std::string& source, const std::string& dir, RunSet& set) {
  std::istringstream in(text);
  std::string line;
  std::size_t lineno = 0, bad = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++set.lines_read;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad;
      continue;
    }
    Run run;
    try {
      run.rec = record::from_json(j);
    } catch (const std::exception&) {
      ++bad;
      continue;
    }
    // Without a run id, identical content is the same run seen twice.
    std::string key = run.rec.run_id.empty() ? "content:" + fnv_hex(line) : run.rec.run_id;
    if (!set.seen_ids.insert(key).second) {
      ++set.duplicates_dropped;
      continue;
    }
    run.raw = std::move(j);
    run.source = source + ":" + std::to_string(lineno);
    run.dir = dir;
    series_from_details(run, set);
    set.runs.push_back(std::move(run));
  }
  if (bad) {
    set.malformed_lines += bad;
    set.warnings.push_back(source + ": skipped " + std::to_string(bad) + " malformed line(s)");
  }
}

RunSet load_runs(const std::vector<std::string>& paths) {
  RunSet set;
  for (const auto& p : paths) {
    set.inputs.push_back(p);
    fs::path path(p);
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      // A runs.jsonl (or any .jsonl of records) given directly.
      std::string text;
      if (read_file(path, text)) {
        ++set.files_read;
        set.run_dirs.push_back(path.parent_path().string());
        load_jsonl_text(text, path.string(), path.parent_path().string(), set);
      } else {
        set.warnings.push_back("cannot read " + p);
      }
      continue;
    }
    if (!fs::is_directory(path, ec)) {
      set.warnings.push_back("no such file or directory: " + p);
      continue;
    }
    // Sorted so merging is deterministic: the first copy of a duplicated run
    // id always comes from the same shard.
    std::vector<fs::path> dirs;
    if (is_run_dir(path)) dirs.push_back(path);
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && is_run_dir(it->path())) dirs.push_back(it->path());
    }
    if (ec) set.warnings.push_back("while scanning " + p + ": " + ec.message());
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    for (const auto& d : dirs) load_run_dir(d, set);
  }
  return set;
}

}  // namespace faultline::reports
