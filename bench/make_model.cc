// arca-make-model: writes a synthetic safetensors model with bf16 weights
// distributed like real ones (N(0, std), default 0.02), deterministic for a
// seed, plus a config.json and tokenizer.json. Used by scripts/demo.sh and
// the benchmarks; streams tensors, so any size fits in little memory.
//
//   arca-make-model OUT --mib N [--seed S] [--std X]
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::uint16_t ToBf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even
  return std::uint16_t(bits >> 16);
}

int Usage() {
  std::fprintf(stderr, "usage: arca-make-model OUT --mib N [--seed S] [--std X]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string out = argv[1];
  std::uint64_t mib = 64, seed = 1;
  double stddev = 0.02;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mib") mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--std") stddev = std::strtod(argv[i + 1], nullptr);
    else return Usage();
  }
  if (mib == 0) return Usage();
  if (::mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
    std::perror(out.c_str());
    return 1;
  }
  // Tensor shapes vary like a transformer's: rows x cols from a small set.
  std::mt19937_64 rng(seed);
  const std::uint64_t rows_choice[] = {256, 512, 1024}, cols_choice[] = {512, 1024, 2048};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> shapes;
  std::uint64_t left = mib * 1024 * 1024 / 2;
  while (left > 0) {
    std::uint64_t r = rows_choice[rng() % 3], c = cols_choice[rng() % 3];
    std::uint64_t n = std::min(r * c, left);
    shapes.emplace_back(n / c, c);
    if (n % c != 0) shapes.back() = {n, 0};
    left -= n;
  }
  std::string header = "{";
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    auto [r, c] = shapes[i];
    std::uint64_t n = c == 0 ? r : r * c;
    std::string shape = c == 0 ? "[" + std::to_string(r) + "]" : "[" + std::to_string(r) + "," + std::to_string(c) + "]";
    header += "\"model.layers." + std::to_string(i) + ".weight\":{\"dtype\":\"BF16\",\"shape\":" + shape +
              ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + 2 * n) + "]},";
    offset += 2 * n;
  }
  header += "\"__metadata__\":{\"format\":\"pt\"}}";
  while (header.size() % 8) header += ' ';
  std::string path = out + "/model.safetensors";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    return 1;
  }
  std::uint64_t hlen = header.size();
  std::uint8_t len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = std::uint8_t(hlen >> (8 * i));
  std::fwrite(len_le, 1, 8, f);
  std::fwrite(header.data(), 1, header.size(), f);
  std::normal_distribution<float> dist(0.0f, float(stddev));
  std::vector<std::uint16_t> buf(1 << 20);
  for (auto [r, c] : shapes) {
    std::uint64_t n = c == 0 ? r : r * c;
    while (n > 0) {
      std::size_t k = std::size_t(std::min<std::uint64_t>(n, buf.size()));
      for (std::size_t j = 0; j < k; ++j) buf[j] = ToBf16(dist(rng));
      std::fwrite(buf.data(), 2, k, f);  // little-endian hosts only (x86-64, arm64)
      n -= k;
    }
  }
  if (std::fclose(f) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  FILE* cfg = std::fopen((out + "/config.json").c_str(), "w");
  std::fprintf(cfg, "{\"model_type\":\"synthetic\",\"num_tensors\":%zu,\"dtype\":\"bfloat16\"}\n", shapes.size());
  std::fclose(cfg);
  FILE* tok = std::fopen((out + "/tokenizer.json").c_str(), "w");
  std::fprintf(tok, "{\"vocab\":{");
  for (int i = 0; i < 2000; ++i) std::fprintf(tok, "%s\"tok%d\":%d", i ? "," : "", i, i);
  std::fprintf(tok, "}}\n");
  std::fclose(tok);
  std::printf("wrote %s: %zu bf16 tensors, %llu MiB\n", out.c_str(), shapes.size(), static_cast<unsigned long long>(mib));
  return 0;
}
