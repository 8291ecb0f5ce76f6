// arca-make-model: writes a synthetic safetensors model with bf16 weights
// distributed like real ones (N(0, std), default 0.02), deterministic for a
// seed, plus a config.json and tokenizer.json. Used by scripts/demo.sh and
// the benchmarks; streams tensors, so any size fits in little memory.
//
//   arca-make-model OUT --mib N [--seed S] [--std X]
#include <sys/stat.h>

#include <algorithm>
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

float FromBf16(std::uint16_t h) {
  std::uint32_t bits = std::uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int Usage() {
  std::fprintf(stderr,
               "usage: arca-make-model OUT --mib N [--seed S] [--std X]\n"
               "         [--partial F | --dense STD | --grow A --shrink R] [--variant-seed V]\n");
  return 2;
}

struct Tensor {
  std::string name;
  std::uint64_t rows = 0, cols = 0;  // cols 0: 1-D of `rows` elements
  std::uint64_t seed = 0;            // its values: N(0, std) from this seed
  double nudge = 0;                  // then each += N(0, nudge) from nudge_seed
  std::uint64_t nudge_seed = 0;
  std::uint64_t Elements() const { return cols == 0 ? rows : rows * cols; }
};

}  // namespace

// Variants of a model made with the same --mib/--seed (the fine-tunes of
// bench/delta_bench.sh), deterministic for --variant-seed:
//   --partial F   rewrite whole tensors (fresh values) until F of the bytes changed
//   --dense STD   every value += N(0, STD), rounded to bf16 (a dense fine-tune)
//   --grow A --shrink R   drop tensors covering R of the bytes, append new ones of A
int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string out = argv[1];
  std::uint64_t mib = 64, seed = 1, variant_seed = 2;
  double stddev = 0.02, partial = 0, dense = 0, grow = 0, shrink = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mib") mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--std") stddev = std::strtod(argv[i + 1], nullptr);
    else if (a == "--partial") partial = std::strtod(argv[i + 1], nullptr);
    else if (a == "--dense") dense = std::strtod(argv[i + 1], nullptr);
    else if (a == "--grow") grow = std::strtod(argv[i + 1], nullptr);
    else if (a == "--shrink") shrink = std::strtod(argv[i + 1], nullptr);
    else if (a == "--variant-seed") variant_seed = std::strtoull(argv[i + 1], nullptr, 10);
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
  std::vector<Tensor> tensors;
  std::uint64_t left = mib * 1024 * 1024 / 2;
  while (left > 0) {
    std::uint64_t r = rows_choice[rng() % 3], c = cols_choice[rng() % 3];
    std::uint64_t n = std::min(r * c, left);
    Tensor t;
    t.name = "model.layers." + std::to_string(tensors.size()) + ".weight";
    t.rows = n / c;
    t.cols = c;
    if (n % c != 0) t.rows = n, t.cols = 0;
    t.seed = seed * 1000003 + tensors.size();
    tensors.push_back(t);
    left -= n;
  }
  const std::uint64_t total = mib * 1024 * 1024 / 2;
  std::mt19937_64 vrng(variant_seed);
  if (partial > 0) {
    std::uint64_t done = 0;
    std::vector<std::size_t> order(tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), vrng);
    for (std::size_t i : order) {
      if (double(done) >= partial * double(total)) break;
      tensors[i].seed = variant_seed * 7919 + 1000000007ull + i;
      done += tensors[i].Elements();
    }
  }
  if (dense > 0) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      tensors[i].nudge = dense;
      tensors[i].nudge_seed = variant_seed * 104729 + i;
    }
  }
  if (shrink > 0) {
    std::uint64_t removed = 0;
    while (double(removed) < shrink * double(total) && tensors.size() > 1) {
      std::size_t i = std::size_t(vrng() % tensors.size());
      removed += tensors[i].Elements();
      tensors.erase(tensors.begin() + std::ptrdiff_t(i));
    }
  }
  if (grow > 0) {
    std::uint64_t added = 0, k = 0;
    while (double(added) < grow * double(total)) {
      Tensor t;
      t.name = "model.extra." + std::to_string(k++) + ".weight";
      t.rows = rows_choice[vrng() % 3];
      t.cols = cols_choice[vrng() % 3];
      t.seed = variant_seed * 15485863 + k;
      added += t.Elements();
      tensors.push_back(t);
    }
  }
  std::string header = "{";
  std::uint64_t offset = 0;
  for (const Tensor& t : tensors) {
    std::uint64_t r = t.rows, c = t.cols, n = t.Elements();
    std::string shape = c == 0 ? "[" + std::to_string(r) + "]" : "[" + std::to_string(r) + "," + std::to_string(c) + "]";
    header += "\"" + t.name + "\":{\"dtype\":\"BF16\",\"shape\":" + shape +
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
  for (const Tensor& t : tensors) {
    std::uint64_t n = t.Elements();
    std::mt19937_64 trng(t.seed), nrng(t.nudge_seed);
    std::normal_distribution<float> nudge(0.0f, float(t.nudge > 0 ? t.nudge : 1));
    while (n > 0) {
      std::size_t k = std::size_t(std::min<std::uint64_t>(n, buf.size()));
      for (std::size_t j = 0; j < k; ++j) {
        std::uint16_t v = ToBf16(dist(trng));
        if (t.nudge > 0) v = ToBf16(FromBf16(v) + nudge(nrng));
        buf[j] = v;
      }
      std::fwrite(buf.data(), 2, k, f);  // little-endian hosts only (x86-64, arm64)
      n -= k;
    }
  }
  if (std::fclose(f) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  FILE* cfg = std::fopen((out + "/config.json").c_str(), "w");
  std::fprintf(cfg, "{\"model_type\":\"synthetic\",\"num_tensors\":%zu,\"dtype\":\"bfloat16\"}\n", tensors.size());
  std::fclose(cfg);
  FILE* tok = std::fopen((out + "/tokenizer.json").c_str(), "w");
  std::fprintf(tok, "{\"vocab\":{");
  for (int i = 0; i < 2000; ++i) std::fprintf(tok, "%s\"tok%d\":%d", i ? "," : "", i, i);
  std::fprintf(tok, "}}\n");
  std::fclose(tok);
  std::printf("wrote %s: %zu bf16 tensors\n", out.c_str(), tensors.size());
  return 0;
}
