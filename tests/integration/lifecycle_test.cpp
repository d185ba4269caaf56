// Starting and stopping: the in-process server and the real chatd binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

TEST(LifecycleTest, StopTellsEveryClientThenCloses) {
  IoThread io;
  auto server = std::make_unique<server::Server>(test_config(3));
  server->start();
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<TestClient>(io, server->port(), "c" + std::to_string(i)));
    ASSERT_TRUE(clients.back()->join("#r").has_join());
  }
  ASSERT_TRUE(clients[0]->say("#r", "last words", 1).has_message());
  server->stop();
  for (auto& c : clients) {
    EXPECT_TRUE(c->wait([&] { return c->got_shutdown() && c->disconnected(); }));
    EXPECT_TRUE(c->wait_messages("#r", 1)) << "a message sequenced before stop was delivered";
  }
}

TEST(LifecycleTest, EpochIsNewOnEveryStart) {
  IoThread io;
  std::uint64_t first;
  {
    RunningServer server(test_config(1));
    first = TestClient(io, server.port()).welcome().epoch();
  }
  RunningServer server(test_config(1));
  const auto second = TestClient(io, server.port()).welcome().epoch();
  EXPECT_NE(first, 0u);
  EXPECT_NE(first, second);
}

// Runs chatd as a child process and reads the port from its first line.
class Chatd {
 public:
  explicit Chatd(std::vector<std::string> args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      std::vector<char*> argv{const_cast<char*>(CHATD_PATH)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(CHATD_PATH, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_ = ::fdopen(out[0], "r");
  }
  ~Chatd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_) ::fclose(stdout_);
  }
  // The port from "chatd listening on ADDR:PORT ..."; 0 if it never said.
  std::uint16_t port() {
    char line[256];
    if (!std::fgets(line, sizeof line, stdout_)) return 0;
    const std::string text(line);
    if (text.find("listening on ") == std::string::npos) return 0;
    const auto colon = text.find(' ', text.find("listening on ") + 13);
    const auto port_at = text.rfind(':', colon) + 1;
    return static_cast<std::uint16_t>(std::stoi(text.substr(port_at, colon - port_at)));
  }
  // Sends `sig` and waits (up to `timeout`) for the exit status.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout) {
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
};

TEST(ChatdProcessTest, StartsAnswersAndExitsZeroOnSigtermWithClientsConnected) {
  Chatd chatd({"--reactors", "4", "--bind", "127.0.0.1", "--port", "0"});
  const std::uint16_t port = chatd.port();
  ASSERT_NE(port, 0) << "chatd did not report its port";
  IoThread io;
  TestClient a(io, port, "ann");
  TestClient b(io, port, "bob");
  ASSERT_TRUE(a.join("#x").has_join());
  ASSERT_TRUE(b.join("#x").has_join());
  ASSERT_TRUE(a.say("#x", "hello", 1).has_message());
  ASSERT_TRUE(b.wait_messages("#x", 1));
  const auto status = chatd.stop(SIGTERM, 10s);
  ASSERT_TRUE(status) << "chatd did not exit after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(a.wait([&] { return a.got_shutdown() && a.disconnected(); }));
  EXPECT_TRUE(b.wait([&] { return b.got_shutdown() && b.disconnected(); }));
}

TEST(ChatdProcessTest, ExitsZeroOnSigint) {
  Chatd chatd({"--reactors", "2", "--bind", "127.0.0.1", "--port", "0"});
  ASSERT_NE(chatd.port(), 0);
  const auto status = chatd.stop(SIGINT, 10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

TEST(ChatdProcessTest, HelpListsTheFlags) {
  Chatd chatd({"--help"});
  std::string all;
  // --help prints and exits 0 by itself.
  const auto status = chatd.stop(0, 10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

}  // namespace
}  // namespace chat::testing
