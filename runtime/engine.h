// Inference engine launcher (specs/runtime.md §3).
//
// The engine is an unmodified program (ONNX Runtime in Node, llama.cpp, …)
// given the model as a /proc/self/fd/N path to a sealed memfd, so it never
// sees a file-system path to plaintext. It runs without a shell, with a
// controlled environment (PATH, ORT_DISABLE_TELEMETRY=1, and HOME and
// TMPDIR pointing at a private empty 0700 directory on tmpfs that is removed
// when the engine stops), in its own process group, with only stdin
// (/dev/null), stdout/stderr (a pipe read by the runtime) and the model fds
// it references open. It dies with the runtime (PR_SET_PDEATHSIG).
//
// What it does not protect against: an engine that writes what it reads
// somewhere it can reach (tmpfs scratch is memory, but the engine runs with
// the runtime's user and file-system view; confine it with the TEE image).
#ifndef ARCA_RUNTIME_ENGINE_H_
#define ARCA_RUNTIME_ENGINE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"

namespace arca::runtime {

// EngineCommand is a parsed `--engine` template: words, each a sequence of
// literal text and placeholders.
struct EngineArgPart {
  enum class Kind { kLiteral, kModel, kFile, kPort };
  Kind kind = Kind::kLiteral;
  std::string text;  // the literal text, or NAME of {file:NAME}
  bool operator==(const EngineArgPart&) const = default;
};
struct EngineCommand {
  std::vector<std::vector<EngineArgPart>> words;
  // uses_model: {model} appears; files: every NAME of {file:NAME}.
  bool uses_model = false;
  std::set<std::string> files;
};

inline constexpr std::size_t kMaxEngineCommandBytes = 16 * 1024;
inline constexpr std::size_t kMaxEngineCommandWords = 256;

// ParseEngineCommand splits `text` like a POSIX shell would split words —
// blanks separate, '…' is literal, "…" allows \" \\ \$ \` escapes, \x outside
// quotes is x — without running a shell or expanding anything, and finds the
// placeholders {model}, {port} and {file:NAME} anywhere in a word (inside
// quotes too); {{ and }} are literal braces. InvalidArgument, naming the
// byte offset, for: an unterminated quote or placeholder, a trailing
// backslash, a NUL byte, an unknown placeholder, a lone '}', an unsafe NAME
// (absolute, "..", empty component), unquoted shell syntax (| & ; < > ( ) $
// ` #) that a shell would have interpreted, a placeholder in the program
// word, no words, and a command without {port}. ResourceExhausted past
// kMaxEngineCommandBytes or kMaxEngineCommandWords. Pure; thread-safe.
Result<EngineCommand> ParseEngineCommand(std::string_view text);

// EngineFile names one package file available to the engine: `fd` is open
// in this process (typically ProtectedFile::fd(), close-on-exec).
struct EngineFile {
  std::string name;  // path inside the package
  int fd = -1;
};

// ChooseModelFile returns the file {model} stands for: `model_file` when
// given (NotFound when the package has no such file), else the only file
// (InvalidArgument listing the names when there are several or none).
Result<std::string> ChooseModelFile(const std::vector<EngineFile>& files, const std::string& model_file);

// ResolveEngineCommand substitutes placeholders: {model} with
// /proc/self/fd/<fd of model_name>, {file:NAME} with /proc/self/fd/<fd of
// NAME>, {port} with `port`. NotFound for a {file:NAME} the package lacks.
// `fds_out` (optional) receives the fds referenced, each once.
Result<std::vector<std::string>> ResolveEngineCommand(const EngineCommand& command, const std::vector<EngineFile>& files,
                                                      const std::string& model_name, int port,
                                                      std::vector<int>* fds_out = nullptr);

// PickFreeLoopbackPort binds 127.0.0.1:0 and returns the port the kernel
// chose (closed again: another process may take it before the engine does;
// Engine::Start then fails with the engine's own error). Internal on failure.
Result<int> PickFreeLoopbackPort();

struct EngineOptions {
  std::string model_file;                 // --model-file; empty: the only file
  std::string scratch_parent = "/dev/shm";  // where the private HOME/TMPDIR is made (tmpfs)
  std::string path_env;                   // PATH for the engine; empty: this process's PATH
  int start_timeout_ms = 60000;           // until the engine accepts on its port
  int stop_grace_ms = 5000;               // SIGTERM to SIGKILL
  std::size_t output_tail_bytes = 4096;   // engine output kept for error messages
  // on_output, when set, receives the engine's stdout+stderr as read (from
  // the reader thread). Engine output is not logged otherwise.
  std::function<void(std::string_view)> on_output;
};

// Engine is one running engine process. Stop (or the destructor) ends it:
// SIGTERM to its process group, SIGKILL after stop_grace_ms, then the scratch
// directory is removed. Methods are thread-safe.
class Engine {
 public:
  // Start resolves `command` (model choice as ChooseModelFile, port from
  // PickFreeLoopbackPort), starts it, and returns once it accepts TCP
  // connections on 127.0.0.1:port. Errors: those of ChooseModelFile and
  // ResolveEngineCommand; NotFound when the program is not in PATH;
  // FailedPrecondition when the scratch directory cannot be made;
  // Unavailable when the engine exits before listening or does not listen
  // within start_timeout_ms (message: exit status or timeout, and the tail of
  // its output); InvalidArgument for a file fd below 3.
  static Result<std::unique_ptr<Engine>> Start(const EngineCommand& command, const std::vector<EngineFile>& files,
                                               const EngineOptions& options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& scratch_dir() const { return scratch_; }
  const std::vector<std::string>& argv() const { return argv_; }
  // OutputTail returns the last output_tail_bytes of the engine's output.
  std::string OutputTail() const;
  // Running reports whether the process has not exited (Stop reaps it).
  bool Running();
  // Stop ends the engine and removes its scratch directory. Idempotent.
  // Returns the engine's exit description ("exit 0", "signal 15").
  std::string Stop();

 private:
  Engine() = default;
  void ReadOutput();
  void AppendOutput(std::string_view data);

  EngineOptions options_;
  std::vector<std::string> argv_;
  std::string scratch_;
  int port_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::mutex mu_;  // guards reaped_ and exit_
  bool reaped_ = false;
  std::string exit_;
  mutable std::mutex out_mu_;
  std::string tail_;
  std::atomic<bool> stopping_{false};
  std::thread reader_;
};

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_ENGINE_H_
