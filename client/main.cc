#include "base/curl_util.h"
#include "client/cli.h"

int main(int argc, char** argv) {
  arca::CurlGlobalGuard curl;  // before any thread starts
  return arca::client::RunCli(argc, argv);
}
