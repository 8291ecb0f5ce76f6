#include "runtime/cli.h"

int main(int argc, char** argv) { return arca::runtime::RunCli(argc, argv); }
