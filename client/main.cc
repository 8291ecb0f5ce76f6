#include "client/cli.h"

int main(int argc, char** argv) { return arca::client::RunCli(argc, argv); }
