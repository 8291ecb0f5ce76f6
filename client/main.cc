#include <malloc.h>

#include "client/cli.h"

int main(int argc, char** argv) {
  // Chunk buffers are 0.25-4 MiB; above glibc's default 128 KiB threshold each
  // would be a fresh mmap, page-faulted and zeroed per chunk (measured ~18% of
  // seal CPU). Keep them on the heap so freed buffers are reused.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  return arca::client::RunCli(argc, argv);
}
