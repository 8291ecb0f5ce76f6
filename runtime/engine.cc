#include "runtime/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>

#include "format/manifest.h"

namespace arca::runtime {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string At(std::size_t offset) { return " at offset " + std::to_string(offset); }

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Characters a shell would have interpreted outside quotes. No shell runs
// the command, so an unquoted one is almost certainly a mistake.
bool IsShellSyntax(char c) {
  return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')' || c == '$' || c == '`';
}

class TemplateParser {
 public:
  explicit TemplateParser(std::string_view text) : t_(text) {}

  Result<EngineCommand> Parse() {
    if (t_.size() > kMaxEngineCommandBytes) {
      return ResourceExhaustedError("engine command is " + std::to_string(t_.size()) + " bytes, the limit is " +
                                    std::to_string(kMaxEngineCommandBytes));
    }
    bool saw_port = false;
    while (true) {
      while (i_ < t_.size() && IsBlank(t_[i_])) ++i_;
      if (i_ >= t_.size()) break;
      if (t_[i_] == '#') return Bad("'#' (a shell comment)" + At(i_) + " is not supported; quote it to pass it literally");
      if (cmd_.words.size() == kMaxEngineCommandWords) {
        return ResourceExhaustedError("engine command has more than " + std::to_string(kMaxEngineCommandWords) + " words");
      }
      word_.clear();
      lit_.clear();
      ARCA_RETURN_IF_ERROR(Word());
      Flush();
      cmd_.words.push_back(std::move(word_));
    }
    if (cmd_.words.empty()) return Bad("engine command is empty");
    for (const auto& p : cmd_.words[0]) {
      if (p.kind != EngineArgPart::Kind::kLiteral) return Bad("engine command: the program (first word) cannot be a placeholder");
    }
    if (cmd_.words[0].empty()) return Bad("engine command: the program (first word) is empty");
    for (const auto& w : cmd_.words) {
      for (const auto& p : w) saw_port |= p.kind == EngineArgPart::Kind::kPort;
    }
    if (!saw_port) return Bad("engine command has no {port}: the engine must listen on the port Arca chooses");
    return std::move(cmd_);
  }

 private:
  Status Bad(std::string m) { return InvalidArgumentError(std::move(m)); }

  void Flush() {
    if (!lit_.empty()) word_.push_back(EngineArgPart{EngineArgPart::Kind::kLiteral, std::move(lit_)});
    lit_.clear();
  }

  Status Word() {
    bool any = false;  // '' makes an empty word
    while (i_ < t_.size() && !IsBlank(t_[i_])) {
      char c = t_[i_];
      if (c == '\0') return Bad("engine command contains a NUL byte" + At(i_));
      if (c == '\'') {
        std::size_t start = i_++;
        while (i_ < t_.size() && t_[i_] != '\'') ARCA_RETURN_IF_ERROR(Char());
        if (i_ >= t_.size()) return Bad("engine command: unterminated single quote" + At(start));
        ++i_;
        any = true;
      } else if (c == '"') {
        std::size_t start = i_++;
        while (i_ < t_.size() && t_[i_] != '"') {
          if (t_[i_] == '\\' && i_ + 1 < t_.size() && std::string_view("\"\\$`").find(t_[i_ + 1]) != std::string_view::npos) {
            lit_ += t_[i_ + 1];
            i_ += 2;
          } else if (t_[i_] == '\\' && i_ + 1 < t_.size() && t_[i_ + 1] == '\n') {
            i_ += 2;  // line continuation
          } else {
            ARCA_RETURN_IF_ERROR(Char());
          }
        }
        if (i_ >= t_.size()) return Bad("engine command: unterminated double quote" + At(start));
        ++i_;
        any = true;
      } else if (c == '\\') {
        if (i_ + 1 >= t_.size()) return Bad("engine command: trailing backslash" + At(i_));
        if (t_[i_ + 1] == '\0') return Bad("engine command contains a NUL byte" + At(i_ + 1));
        if (t_[i_ + 1] != '\n') lit_ += t_[i_ + 1];  // \<newline> continues the line
        i_ += 2;
        any = true;
      } else if (IsShellSyntax(c)) {
        return Bad(std::string("engine command: '") + c + "'" + At(i_) +
                   " is shell syntax, but no shell runs the engine command; quote it to pass it literally");
      } else {
        ARCA_RETURN_IF_ERROR(Char());
        any = true;
      }
    }
    (void)any;
    return Status::Ok();
  }

  // Char consumes one character of a word (inside or outside quotes),
  // handling braces and placeholders.
  Status Char() {
    char c = t_[i_];
    if (c == '\0') return Bad("engine command contains a NUL byte" + At(i_));
    if (c == '}') {
      if (i_ + 1 < t_.size() && t_[i_ + 1] == '}') {
        lit_ += '}';
        i_ += 2;
        return Status::Ok();
      }
      return Bad("engine command: lone '}'" + At(i_) + " (write }} for a literal brace)");
    }
    if (c != '{') {
      lit_ += c;
      ++i_;
      return Status::Ok();
    }
    if (i_ + 1 < t_.size() && t_[i_ + 1] == '{') {
      lit_ += '{';
      i_ += 2;
      return Status::Ok();
    }
    std::size_t close = t_.find('}', i_ + 1);
    if (close == std::string_view::npos) return Bad("engine command: unterminated placeholder" + At(i_));
    std::string_view name = t_.substr(i_ + 1, close - i_ - 1);
    EngineArgPart part;
    if (name == "model") {
      part.kind = EngineArgPart::Kind::kModel;
      cmd_.uses_model = true;
    } else if (name == "port") {
      part.kind = EngineArgPart::Kind::kPort;
    } else if (name.starts_with("file:")) {
      part.kind = EngineArgPart::Kind::kFile;
      part.text = std::string(name.substr(5));
      Status s = format::ValidateRelativePath(part.text);
      if (!s.ok()) return Bad("engine command: {file:NAME}" + At(i_) + ": " + s.message());
      cmd_.files.insert(part.text);
    } else {
      std::string shown(name.substr(0, 40));
      for (char& ch : shown) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
      }
      return Bad("engine command: unknown placeholder {" + shown + "}" + At(i_) +
                 " (known: {model}, {file:NAME}, {port}; write {{ for a literal brace)");
    }
    Flush();
    word_.push_back(std::move(part));
    i_ = close + 1;
    return Status::Ok();
  }

  std::string_view t_;
  std::size_t i_ = 0;
  EngineCommand cmd_;
  std::vector<EngineArgPart> word_;
  std::string lit_;
};

const EngineFile* FindFile(const std::vector<EngineFile>& files, const std::string& name) {
  for (const auto& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// FindProgram resolves argv[0] against PATH (in the parent: execve in the
// child then needs no search).
Result<std::string> FindProgram(const std::string& name, const std::string& path_env) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return NotFoundError(Errno("engine program " + name));
    return name;
  }
  std::size_t start = 0;
  while (start <= path_env.size()) {
    std::size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    // An empty PATH entry means the current directory.
    std::string candidate = end > start ? path_env.substr(start, end - start) : std::string(".");
    candidate.append("/").append(name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return NotFoundError("engine program " + name + " not found in PATH (" + path_env + ")");
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool CanConnect(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

}  // namespace

Result<EngineCommand> ParseEngineCommand(std::string_view text) { return TemplateParser(text).Parse(); }

Result<std::string> ChooseModelFile(const std::vector<EngineFile>& files, const std::string& model_file) {
  if (!model_file.empty()) {
    if (FindFile(files, model_file) == nullptr) return NotFoundError("--model-file " + model_file + ": the package has no such file");
    return model_file;
  }
  if (files.size() == 1) return files[0].name;
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + f.name;
  if (files.empty()) return InvalidArgumentError("the package has no files for {model}");
  return InvalidArgumentError("the package has several files (" + names + "): choose the one {model} stands for with --model-file");
}

Result<std::vector<std::string>> ResolveEngineCommand(const EngineCommand& command, const std::vector<EngineFile>& files,
                                                      const std::string& model_name, int port, std::vector<int>* fds_out) {
  std::vector<std::string> argv;
  std::vector<int> fds;
  auto use = [&](const std::string& name, const std::string& what) -> Result<std::string> {
    const EngineFile* f = FindFile(files, name);
    if (f == nullptr) return NotFoundError(what + ": the package has no file " + name);
    if (std::find(fds.begin(), fds.end(), f->fd) == fds.end()) fds.push_back(f->fd);
    return FdPath(f->fd);
  };
  for (const auto& w : command.words) {
    std::string arg;
    for (const auto& p : w) {
      switch (p.kind) {
        case EngineArgPart::Kind::kLiteral: arg += p.text; break;
        case EngineArgPart::Kind::kPort: arg += std::to_string(port); break;
        case EngineArgPart::Kind::kModel: {
          ARCA_ASSIGN_OR_RETURN(std::string path, use(model_name, "{model}"));
          arg += path;
          break;
        }
        case EngineArgPart::Kind::kFile: {
          ARCA_ASSIGN_OR_RETURN(std::string path, use(p.text, "{file:" + p.text + "}"));
          arg += path;
          break;
        }
      }
    }
    argv.push_back(std::move(arg));
  }
  if (fds_out != nullptr) *fds_out = std::move(fds);
  return argv;
}

Result<int> PickFreeLoopbackPort() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return InternalError(Errno("socket"));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Status st = InternalError(Errno("choosing a loopback port"));
    ::close(s);
    return st;
  }
  ::close(s);
  return int(ntohs(a.sin_port));
}

Result<std::unique_ptr<Engine>> Engine::Start(const EngineCommand& command, const std::vector<EngineFile>& files,
                                              const EngineOptions& options) {
  if (command.words.empty()) return InvalidArgumentError("engine command is empty");
  for (const auto& f : files) {
    if (f.fd < 3) return InvalidArgumentError("engine file " + f.name + ": fd " + std::to_string(f.fd) + " is below 3");
  }
  std::string model_name;
  if (command.uses_model) {
    ARCA_ASSIGN_OR_RETURN(model_name, ChooseModelFile(files, options.model_file));
  }
  ARCA_ASSIGN_OR_RETURN(int port, PickFreeLoopbackPort());
  std::vector<int> pass_fds;
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> argv, ResolveEngineCommand(command, files, model_name, port, &pass_fds));
  std::string path_env = options.path_env;
  if (path_env.empty()) {
    const char* p = ::getenv("PATH");
    path_env = p != nullptr && *p != '\0' ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  ARCA_ASSIGN_OR_RETURN(std::string program, FindProgram(argv[0], path_env));

  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  e->argv_ = argv;
  e->port_ = port;
  std::string templ = options.scratch_parent + "/arca-engine-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return FailedPreconditionError(Errno("making the engine's private directory under " + options.scratch_parent));
  }
  e->scratch_ = templ;  // mkdtemp makes it 0700; removed by Stop

  std::vector<std::string> env = {"PATH=" + path_env, "ORT_DISABLE_TELEMETRY=1", "HOME=" + e->scratch_,
                                  "TMPDIR=" + e->scratch_};
  std::vector<char*> c_argv, c_env;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (auto& v : env) c_env.push_back(v.data());
  c_env.push_back(nullptr);

  int out_pipe[2], exec_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError(Errno("pipe"));
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return InternalError(Errno("pipe"));
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only (the parent has threads).
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(127);
    if (devnull < 0 || ::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        ::dup2(out_pipe[1], STDERR_FILENO) < 0) {
      int err = errno;
      (void)!::write(exec_pipe[1], &err, sizeof err);
      ::_exit(127);
    }
    // Everything above stderr closes on exec, except the files handed over.
    if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    for (int fd : pass_fds) ::fcntl(fd, F_SETFD, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir(e->scratch_.c_str()) != 0) {
      int err = errno;
      (void)!::write(exec_pipe[1], &err, sizeof err);
      ::_exit(127);
    }
    ::execve(program.c_str(), c_argv.data(), c_env.data());
    int err = errno;
    (void)!::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  int fork_errno = errno;
  if (devnull >= 0) ::close(devnull);
  ::close(out_pipe[1]);
  ::close(exec_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(exec_pipe[0]);
    std::filesystem::remove_all(e->scratch_);
    return InternalError("fork: " + std::string(std::strerror(fork_errno)));
  }
  ::setpgid(pid, pid);  // both sides, so kill(-pid) works whoever runs first
  e->pid_ = pid;
  e->out_fd_ = out_pipe[0];
  e->reader_ = std::thread([p = e.get()] { p->ReadOutput(); });

  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(exec_pipe[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  if (n > 0) {
    e->Stop();
    return UnavailableError("starting engine " + program + ": " + std::strerror(child_errno));
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.start_timeout_ms);
  for (;;) {
    if (CanConnect(port)) return e;
    if (!e->Running()) {
      std::string how = e->Stop();
      return UnavailableError("engine " + argv[0] + " ended (" + how + ") before listening on 127.0.0.1:" +
                              std::to_string(port) + "; its output ends: " + e->OutputTail());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string how = e->Stop();
      return UnavailableError("engine " + argv[0] + " did not listen on 127.0.0.1:" + std::to_string(port) + " within " +
                              std::to_string(options.start_timeout_ms) + " ms (stopped: " + how +
                              "); its output ends: " + e->OutputTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Engine::~Engine() { (void)Stop(); }

void Engine::AppendOutput(std::string_view data) {
  if (options_.on_output) options_.on_output(data);
  std::lock_guard<std::mutex> l(out_mu_);
  tail_.append(data);
  if (tail_.size() > options_.output_tail_bytes) tail_.erase(0, tail_.size() - options_.output_tail_bytes);
}

void Engine::ReadOutput() {
  char buf[4096];
  for (;;) {
    pollfd p{out_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (stopping_) return;  // a descendant that escaped the group may hold the pipe
      continue;
    }
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    AppendOutput(std::string_view(buf, std::size_t(n)));
  }
}

std::string Engine::OutputTail() const {
  std::lock_guard<std::mutex> l(out_mu_);
  std::string t = tail_;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t.empty() ? "(nothing)" : t;
}

bool Engine::Running() {
  std::lock_guard<std::mutex> l(mu_);
  if (pid_ <= 0 || reaped_) return false;
  // WNOWAIT: an exited engine stays a zombie until Stop, so its process
  // group id cannot be reused before Stop signals the group.
  siginfo_t info{};
  if (::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_) return false;
  return true;
}

std::string Engine::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  if (pid_ > 0 && !reaped_) {
    auto exited = [&] {
      siginfo_t info{};
      return ::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
    };
    if (!exited()) {
      ::kill(-pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.stop_grace_ms);
      while (!exited() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    ::kill(-pid_, SIGKILL);  // the engine if it ignored SIGTERM, and anything left in its group
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    exit_ = r == pid_ ? DescribeExit(status) : "unknown";
    reaped_ = true;
  }
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
    scratch_.clear();
  }
  return exit_;
}

}  // namespace arca::runtime
