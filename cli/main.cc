#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"faultline — reproduce, record and report bugs in fiber runtimes"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
