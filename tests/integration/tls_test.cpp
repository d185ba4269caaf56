// TLS (issue 13): chatd's TLS port with certificates made at test time by
// `openssl req`; clients that verify them (the library, `chat --tls`, the
// Python client), a wrong CA refused, a plaintext client on the TLS port
// refused cleanly, and a certificate loaded again on SIGHUP.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "common/tls_context.hpp"
#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

// A self-signed certificate for 127.0.0.1 and localhost: it is its own CA.
void make_certificate(const std::string& dir, const std::string& name) {
  const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                              " -subj /CN=chatd-test-" + name + " -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
                              " -keyout " + dir + "/" + name + ".key -out " + dir + "/" + name + ".pem 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// argv run with its stderr into its stdout, which ChildProcess reads.
std::vector<std::string> with_stderr(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"});
  return argv;
}

struct TlsServer {
  TempDir dir{"chatd-tls"};
  std::string cert() const { return dir.str() + "/server.pem"; }
  std::string key() const { return dir.str() + "/server.key"; }
  std::string ca(const std::string& name = "server") const { return dir.str() + "/" + name + ".pem"; }
};

std::vector<std::string> tls_args(const TlsServer& s, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--tls-cert", s.cert(), "--tls-key", s.key(), "--tls-port", "0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// `chat --check` against the TLS port; its exit status and what it printed.
std::pair<std::optional<int>, std::string> check(std::uint16_t port, std::vector<std::string> flags) {
  std::vector<std::string> argv = {CHAT_PATH, "--check", "--host", "127.0.0.1", "--port", std::to_string(port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  ChildProcess chat(argv);
  const auto status = chat.wait_exit(20s);
  return {status, chat.text()};
}

TEST(TlsTest, TlsAndPlaintextClientsShareARoomAndBigRepliesCrossASmallSocketBuffer) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  // A small send buffer makes the server's writes block mid-record, so the
  // retried writes (tls_stream.hpp) are exercised, not only whole ones.
  ChatdProcess chatd({.args = tls_args(s, {"--send-buffer-bytes", "4096", "--rate", "0"})});
  ASSERT_NE(chatd.tls_port(), 0);
  ASSERT_NE(chatd.port(), 0);
  IoThread io;
  TestClient alice(io, chatd.tls_port(), "alice", common::client_tls_context(s.ca()));
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(alice.join("#team").has_join());
  ASSERT_TRUE(bob.join("#team").has_join());

  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    bob.say_async("#team", std::to_string(i) + ":" + std::string(3000, static_cast<char>('a' + i % 26)), i + 1);
  }
  ASSERT_TRUE(alice.wait_messages("#team", kMessages, 30s)) << alice.messages("#team").size();
  const auto got = alice.messages("#team");
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(got[i].seq(), static_cast<std::uint64_t>(i + 1));
    ASSERT_EQ(got[i].text(), std::to_string(i) + ":" + std::string(3000, static_cast<char>('a' + i % 26)));
  }
  ASSERT_TRUE(alice.say("#team", "and back over TLS", 1).has_message());
  ASSERT_TRUE(bob.wait_messages("#team", kMessages + 1));
  EXPECT_EQ(bob.messages("#team").back().text(), "and back over TLS");
  EXPECT_EQ(bob.messages("#team").back().sender(), "alice");
  EXPECT_GE(chatd.metric("chatd_tls_handshakes_total"), 1);
  EXPECT_EQ(chatd.metric("chatd_tls_handshakes_failed_total"), 0);
}

TEST(TlsTest, ChatAndThePythonClientSpeakTlsAndAWrongCaIsRefused) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  make_certificate(s.dir.str(), "stranger");
  ChatdProcess chatd({.args = tls_args(s)});
  const std::string port = std::to_string(chatd.tls_port());

  const auto [ok, ok_text] = check(chatd.tls_port(), {"--tls", "--tls-ca", s.ca()});
  EXPECT_EQ(ok, 0) << ok_text;
  EXPECT_NE(ok_text.find("up: chatd/"), std::string::npos) << ok_text;
  const auto [wrong, wrong_text] = check(chatd.tls_port(), {"--tls", "--tls-ca", s.ca("stranger")});
  EXPECT_EQ(wrong, 1) << wrong_text;
  EXPECT_NE(wrong_text.find("certificate verify failed"), std::string::npos) << wrong_text;
  // Without --tls-ca: the system's CAs, which never signed a test certificate.
  const auto [system, system_text] = check(chatd.tls_port(), {"--tls"});
  EXPECT_EQ(system, 1) << system_text;

  // chat in line mode says something over TLS; a library client hears it.
  IoThread io;
  TestClient listener(io, chatd.tls_port(), "listener", common::client_tls_context(s.ca()));
  ASSERT_TRUE(listener.join("#tls").has_join());
  ChildProcess chat({CHAT_PATH, "--plain", "--tls", "--tls-ca", s.ca(), "--host", "127.0.0.1", "--port", port,
                     "--nick", "carol", "--join", "#tls"});
  ASSERT_TRUE(chat.wait_line("-- joined #tls")) << chat.text();
  chat.write_line("hello over tls");
  ASSERT_TRUE(listener.wait_messages("#tls", 1)) << chat.text();
  EXPECT_EQ(listener.messages("#tls")[0].text(), "hello over tls");
  EXPECT_EQ(listener.messages("#tls")[0].sender(), "carol");

  ChildProcess py({"/usr/bin/python3", CHAT_PYTHON_CLIENT, "--tls", "--tls-ca", s.ca(), "--port", port, "--nick",
                   "py", "--room", "#tls", "--say", "hello from python over tls", "--timeout", "20"},
                  ChildOptions{.env = {"PYTHONPATH=" CHAT_PYTHONPATH}});
  ASSERT_TRUE(listener.wait_messages("#tls", 2, 20s)) << py.text();
  EXPECT_EQ(listener.messages("#tls")[1].text(), "hello from python over tls");
  ChildProcess py_wrong(with_stderr({"/usr/bin/python3", CHAT_PYTHON_CLIENT, "--tls", "--tls-ca", s.ca("stranger"),
                                     "--port", port, "--nick", "py2", "--timeout", "20"}),
                        ChildOptions{.env = {"PYTHONPATH=" CHAT_PYTHONPATH}});
  EXPECT_EQ(py_wrong.wait_exit(20s), 1) << py_wrong.text();
  EXPECT_NE(py_wrong.text().find("CERTIFICATE_VERIFY_FAILED"), std::string::npos) << py_wrong.text();
}

TEST(TlsTest, APlaintextClientOnTheTlsPortGetsTlsRequiredAndATlsBystanderGoesOn) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  ChatdProcess chatd({.args = tls_args(s)});
  IoThread io;
  TestClient bystander(io, chatd.tls_port(), "bystander", common::client_tls_context(s.ca()));
  ASSERT_TRUE(bystander.join("#b").has_join());

  // One that talks first: its hello is answered in plaintext, then closed.
  RawConnection talker(chatd.tls_port());
  talker.send_frame(hello_frame("plain", 1));
  const auto refusal = talker.read_frame();
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(code_of(refusal), v1::Error::CODE_TLS_REQUIRED);
  EXPECT_TRUE(talker.wait_closed());

  // One that waits for the Welcome, as chat does: refused after the silence.
  const auto [waiting, waiting_text] = check(chatd.tls_port(), {});
  EXPECT_EQ(waiting, 1) << waiting_text;
  EXPECT_NE(waiting_text.find("this is a TLS port"), std::string::npos) << waiting_text;
  EXPECT_EQ(chatd.metric("chatd_tls_plaintext_refused_total"), 2);

  ASSERT_TRUE(bystander.say("#b", "still here", 1).has_message());
  EXPECT_FALSE(bystander.disconnected());
}

// chat-bench --tls at full speed: the window keeps records in flight both
// ways, so reads and writes of every connection interleave.
TEST(TlsTest, ChatBenchOverTlsLosesDuplicatesAndReordersNothing) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  ChatdProcess chatd({.args = tls_args(s, {"--rate", "0", "--store", "memory"})});
  // Paced, as ChatBenchTest's smoke run is: this asks whether TLS loses,
  // repeats or reorders anything, not how fast it goes. At full rate on a
  // starved 2-core CI machine (a sanitizer build, tests in parallel) a
  // subscriber can fall behind by more than the outbox holds and be dropped,
  // which is the server doing its job (SurvivalTest covers that).
  // Not --quiet, and with its stderr: a dropped connection says why.
  ChildProcess bench(with_stderr({CHAT_BENCH_PATH, "--tls", "--tls-ca", s.ca(), "--port",
                                  std::to_string(chatd.tls_port()), "--rooms", "2", "--subs", "5", "--pubs", "2",
                                  "--size", "512", "--rate", "500", "--duration", "1", "--warmup", "0.3", "--json"}));
  ASSERT_EQ(bench.wait_exit(60s), 0) << bench.text();
  const std::string out = bench.text();
  auto number = [&out](const std::string& name) {
    const auto at = out.find("\"" + name + "\":");
    return at == std::string::npos ? -1.0 : std::strtod(out.c_str() + at + name.size() + 3, nullptr);
  };
  // Why chatd dropped a connection, for a failure to name.
  auto drops = [&chatd] {
    std::string why;
    for (const std::string& line : chatd.output()) {
      if (line.find("disconnect") != std::string::npos && line.find("client_quit") == std::string::npos) {
        why += line + "\n";
      }
    }
    return why;
  };
  for (const char* field : {"lost", "duplicated", "reordered", "seq_gaps", "disconnects", "errors"}) {
    EXPECT_EQ(number(field), 0) << field << " in " << out << "\nchatd dropped:\n" << drops();
  }
  EXPECT_GT(number("deliveries"), 1000) << out;
  EXPECT_EQ(chatd.metric("chatd_slow_consumer_disconnects_total"), 0) << drops();
  EXPECT_GE(chatd.metric("chatd_tls_handshakes_total"), 14);
}

TEST(TlsTest, SighupLoadsANewCertificateForNewConnectionsAndOpenOnesGoOn) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  ChatdProcess chatd({.args = tls_args(s)});
  const std::string old_ca = s.dir.str() + "/old.pem";
  std::filesystem::copy_file(s.ca(), old_ca);
  IoThread io;
  TestClient open(io, chatd.tls_port(), "open", common::client_tls_context(old_ca));
  ASSERT_TRUE(open.join("#r").has_join());

  // A key that does not match the certificate: refused, the old one stays.
  make_certificate(s.dir.str(), "other");
  std::filesystem::copy_file(s.dir.str() + "/other.key", s.key(), std::filesystem::copy_options::overwrite_existing);
  chatd.stop(SIGHUP, 0ms);
  ASSERT_TRUE(chatd.wait_line("the TLS certificate in use stays")) << ::testing::PrintToString(chatd.output());
  EXPECT_EQ(check(chatd.tls_port(), {"--tls", "--tls-ca", old_ca}).first, 0);

  make_certificate(s.dir.str(), "server");  // a new certificate and key in place
  chatd.stop(SIGHUP, 0ms);
  ASSERT_TRUE(chatd.wait_line("loaded again")) << ::testing::PrintToString(chatd.output());
  ASSERT_TRUE(wait_until([&] { return chatd.metric("chatd_tls_reloads_total") == 1; }, 5s));
  // The reactors take the new context from their inboxes: soon, not at once.
  ASSERT_TRUE(wait_until([&] { return check(chatd.tls_port(), {"--tls", "--tls-ca", s.ca()}).first == 0; }, 10s));
  EXPECT_EQ(check(chatd.tls_port(), {"--tls", "--tls-ca", old_ca}).first, 1);

  // The connection made before both reloads still talks.
  TestClient fresh(io, chatd.tls_port(), "fresh", common::client_tls_context(s.ca()));
  ASSERT_TRUE(fresh.join("#r").has_join());
  ASSERT_TRUE(open.say("#r", "from before the reload", 1).has_message());
  ASSERT_TRUE(fresh.wait_messages("#r", 1));
  EXPECT_EQ(fresh.messages("#r")[0].text(), "from before the reload");
}

// The acceptor refuses without a handshake; on the TLS port it sends no
// plaintext frame a TLS client would take for a broken record.
TEST(TlsTest, ARefusalOnTheTlsPortClosesWithoutPlaintext) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  ChatdProcess chatd({.args = tls_args(s, {"--connect-rate", "0.01", "--connect-burst", "1"})});
  EXPECT_EQ(check(chatd.tls_port(), {"--tls", "--tls-ca", s.ca()}).first, 0);
  const auto [refused, text] = check(chatd.tls_port(), {"--tls", "--tls-ca", s.ca()});
  EXPECT_EQ(refused, 1) << text;
  EXPECT_EQ(text.find("wrong version number"), std::string::npos) << text;
  EXPECT_EQ(chatd.metric("chatd_connections_refused_total{reason=\"rate\"}"), 1);
}

TEST(TlsTest, TlsOnlyOpensNoPlaintextPortAndBadFlagsAreRefused) {
  TlsServer s;
  make_certificate(s.dir.str(), "server");
  ChatdProcess chatd({.args = tls_args(s, {"--tls-only"})});
  ASSERT_NE(chatd.tls_port(), 0);
  EXPECT_EQ(chatd.port(), 0);
  for (const auto& line : chatd.output()) EXPECT_EQ(line.find("chatd listening on"), std::string::npos) << line;
  IoThread io;
  TestClient alice(io, chatd.tls_port(), "alice", common::client_tls_context(s.ca()));
  EXPECT_TRUE(alice.join("#only").has_join());

  auto refused = [&](std::vector<std::string> args, const std::string& says) {
    std::vector<std::string> argv = {CHATD_PATH, "--port", "0", "--store", "memory"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess bad(with_stderr(argv));
    EXPECT_EQ(bad.wait_exit(10s), 2) << bad.text();
    EXPECT_NE(bad.text().find(says), std::string::npos) << bad.text();
  };
  refused({"--tls-cert", s.cert()}, "needs --tls-cert and --tls-key together");
  refused({"--tls-only"}, "--tls-only");
  // A certificate that is not there: chatd says which file, and exits 1.
  ChildProcess missing(with_stderr({CHATD_PATH, "--port", "0", "--store", "memory", "--tls-cert",
                                    s.dir.str() + "/none.pem", "--tls-key", s.key(), "--tls-port", "0"}));
  EXPECT_EQ(missing.wait_exit(10s), 1) << missing.text();
  EXPECT_NE(missing.text().find("none.pem"), std::string::npos) << missing.text();
}

}  // namespace
}  // namespace chat::testing
