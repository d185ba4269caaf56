// A Python client built from the same chat.proto with Debian's
// python3-protobuf talks to the server: proof that the wire format is
// plain protobuf length-delimited framing.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

TEST(PythonInteropTest, LogsInJoinsSaysAndReceives) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient cpp(io, server.port(), "cpp");
  ASSERT_TRUE(cpp.join("#interop").has_join());

  // Its stdout is checked below; its stderr (a traceback, say) goes to the test's.
  ChildProcess py({"/usr/bin/python3", CHAT_PYTHON_CLIENT, "--port", std::to_string(server.port()), "--nick", "py",
                   "--room", "#interop", "--say", "hello from python", "--expect", "hello from cpp", "--timeout",
                   "20"},
                  {.env = {"PYTHONPATH=" CHAT_PYTHONPATH}});
  py.close_stdin();

  // Answer once the Python client's message has arrived here.
  ASSERT_TRUE(cpp.wait_messages("#interop", 1, 20s)) << py.text();
  const auto heard = cpp.messages("#interop");
  EXPECT_EQ(heard[0].sender(), "py");
  EXPECT_EQ(heard[0].text(), "hello from python");
  ASSERT_TRUE(cpp.say("#interop", "hello from cpp", 1).has_message());

  // The client's own --timeout is 20 s; this only bounds a hung interpreter.
  const auto status = py.wait_exit(60s);
  const std::string text = py.text();
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("welcome chatd/"), std::string::npos) << text;
  EXPECT_NE(text.find("hello py"), std::string::npos) << text;
  EXPECT_NE(text.find("join #interop members=cpp,py"), std::string::npos) << text;
  EXPECT_NE(text.find("message #interop #1 <py> hello from python"), std::string::npos) << text;
  EXPECT_NE(text.find("message #interop #2 <cpp> hello from cpp"), std::string::npos) << text;
}

// The Python client with `args`, its stderr merged into the stdout we read.
// Its stdin is closed.
std::unique_ptr<ChildProcess> python_client(const std::string& args, std::vector<std::string> env = {},
                                            const std::string& interpreter = "/usr/bin/python3") {
  env.push_back("PYTHONPATH=" CHAT_PYTHONPATH);
  auto py = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/bin/sh", "-c", interpreter + " " CHAT_PYTHON_CLIENT " " + args + " 2>&1"},
      ChildOptions{.env = env});
  py->close_stdin();
  return py;
}

TEST(PythonInteropTest, ExitsNonZeroWhenTheServerRefusesOrIsNotThere) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient holder(io, server.port(), "taken");
  const std::string port = std::to_string(server.port());
  const auto taken = python_client("--port " + port + " --nick taken --room '#x' --timeout 20");
  EXPECT_EQ(taken->wait_exit(60s), 1) << taken->text();
  EXPECT_NE(taken->text().find("error CODE_NICK_TAKEN"), std::string::npos) << taken->text();

  const auto bad_room = python_client("--port " + port + " --nick roomy --room 'no room' --timeout 20");
  EXPECT_EQ(bad_room->wait_exit(60s), 1) << bad_room->text();
  EXPECT_NE(bad_room->text().find("error CODE_INVALID_ROOM"), std::string::npos) << bad_room->text();

  // Port 1: nothing listens there.
  const auto refused = python_client("--port 1 --nick nobody --timeout 5");
  EXPECT_EQ(refused->wait_exit(60s), 1) << refused->text();
  EXPECT_NE(refused->text().find("chat_client: cannot connect to 127.0.0.1:1"), std::string::npos) << refused->text();
  EXPECT_EQ(refused->text().find("Traceback"), std::string::npos) << refused->text();

  const auto no_nick = python_client("--port " + port);
  EXPECT_EQ(no_nick->wait_exit(60s), 2) << no_nick->text();
  EXPECT_NE(no_nick->text().find("CHAT_NICK"), std::string::npos) << no_nick->text();
}

TEST(PythonInteropTest, ReadsTheChatEnvironmentVariablesLikeChat) {
  RunningServer server(test_config(2));
  const auto py = python_client("--room '#env' --say 'from the environment' --expect 'from the environment'",
                                  {"CHAT_HOST=127.0.0.1", "CHAT_PORT=" + std::to_string(server.port()),
                                   "CHAT_NICK=envy"});
  EXPECT_EQ(py->wait_exit(60s), 0) << py->text();
  EXPECT_NE(py->text().find("hello envy"), std::string::npos) << py->text();
  EXPECT_NE(py->text().find("message #env #1 <envy> from the environment"), std::string::npos) << py->text();
}

TEST(PythonInteropTest, PrintsControlCharactersAsSpacesBidiAsPlaceholdersAndReadsLongFrames) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient cpp(io, server.port(), "cpp");
  ASSERT_TRUE(cpp.join("#ctl").has_join());
  const auto py = python_client("--port " + std::to_string(server.port()) +
                                  " --nick py --room '#ctl' --expect end --timeout 20");
  ASSERT_TRUE(cpp.wait([&] { return cpp.presences().size() >= 2; }, 20s)) << py->text();  // cpp's and py's joins
  // An escape sequence, a newline, a right-to-left override and a C1 control;
  // then a message whose length prefix takes two bytes.
  ASSERT_TRUE(cpp.say("#ctl", "a\x1b[31mb\nc\u202Ed\u0085e").has_message());
  ASSERT_TRUE(cpp.say("#ctl", std::string(3000, 'x')).has_message());
  ASSERT_TRUE(cpp.say("#ctl", "end").has_message());
  EXPECT_EQ(py->wait_exit(60s), 0) << py->text();
  const std::string text = py->text();
  EXPECT_NE(text.find("<cpp> a [31mb c<U+202E>d e\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "an escape reached the terminal";
  EXPECT_EQ(text.find("\u202E"), std::string::npos) << "a bidi override reached the terminal";
  EXPECT_NE(text.find("<cpp> " + std::string(3000, 'x') + "\n"), std::string::npos);
}

TEST(PythonInteropTest, ShowsPeersTopicsAndTextAsChatDoes) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient cpp(io, server.port(), "cpp");
  ASSERT_TRUE(cpp.join("#t").has_join());
  const auto set_topic = [&cpp](const std::string& topic) {
    return cpp.call([topic](client::Client& c, client::ReplyHandler h) { c.set_topic("#t", topic, std::move(h)); });
  };
  // A topic that would retitle an xterm (OSC 0 ... BEL) and clear its
  // screen, with a right-to-left override: seen in the join reply.
  ASSERT_FALSE(set_topic("\x1b]0;pwned\x07\x1b[2Jtitle\u202Eevil").has_error());
  const auto py = python_client("--port " + std::to_string(server.port()) +
                                " --nick py --room '#t' --expect end --timeout 20");
  ChildProcess chat({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--nick",
                     "tty", "--join", "#t"});
  ASSERT_TRUE(cpp.wait([&] { return cpp.presences().size() >= 3; }, 20s)) << py->text();  // cpp, py, tty joined
  ASSERT_TRUE(chat.wait_line("-- joined #t")) << chat.text();
  // A topic change (C1 controls: U+0085 next line, U+009B an 8-bit CSI) and a message.
  ASSERT_FALSE(set_topic("\x1b[31mred\u0085\u009B2J").has_error());
  ASSERT_TRUE(cpp.say("#t", "a\x1b[31mb\nc\u202Ed\u0085e").has_message());
  ASSERT_TRUE(cpp.say("#t", "end").has_message());
  EXPECT_EQ(py->wait_exit(60s), 0) << py->text();
  ASSERT_TRUE(chat.wait_line("#t <cpp> end")) << chat.text();
  const std::string text = py->text();
  const std::string shown = chat.text();
  // The same rendering in both clients.
  for (const std::string& cleaned : {std::string(" ]0;pwned  [2Jtitle<U+202E>evil\n"), std::string(" [31mred  2J\n"),
                                     std::string("<cpp> a [31mb c<U+202E>d e\n")}) {
    EXPECT_NE(text.find(cleaned), std::string::npos) << "python client:\n" << text << "\nwanted: " << cleaned;
    EXPECT_NE(shown.find(cleaned), std::string::npos) << "chat:\n" << shown << "\nwanted: " << cleaned;
  }
  EXPECT_NE(text.find("join #t members="), std::string::npos) << text;
  EXPECT_NE(text.find(" topic= ]0;pwned"), std::string::npos) << text;
  EXPECT_NE(text.find("topic #t by cpp:  [31mred"), std::string::npos) << text;
  for (const char* raw : {"\x1b", "\x07", "\u202E", "\u0085", "\u009B"}) {
    EXPECT_EQ(text.find(raw), std::string::npos) << "python client: a control reached the terminal\n" << text;
    EXPECT_EQ(shown.find(raw), std::string::npos) << "chat: a control reached the terminal\n" << shown;
  }
  chat.write_line("/quit");
  EXPECT_EQ(chat.wait_exit(20s), 0) << chat.text();
}

TEST(PythonInteropTest, RefusesArgumentsThatAreNotTextInTheLocaleBeforeConnecting) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient cpp(io, server.port(), "cpp");
  ASSERT_TRUE(cpp.join("#x").has_join());
  // A Latin-1 é (0xE9) in a UTF-8 locale: the wire takes only UTF-8.
  const auto py = python_client("--port " + std::to_string(server.port()) + " --nick py --room '#x' --say 'caf\xE9'",
                                {"LC_ALL=C.UTF-8"});
  EXPECT_EQ(py->wait_exit(60s), 2) << py->text();
  EXPECT_NE(py->text().find("--say: byte 0xE9 at 3 is not valid text"), std::string::npos) << py->text();
  EXPECT_EQ(py->text().find("Traceback"), std::string::npos) << py->text();
  EXPECT_LE(cpp.presences().size(), 1u) << "it never joined";  // cpp's own join only
}

TEST(PythonInteropTest, SaysWhatIsMissingWhenProtobufIsNot) {
  // -S: no site-packages, so no python3-protobuf, as under a python3 that is not Debian's.
  const auto py = python_client("--port 1 --nick py", {}, "/usr/bin/python3 -S");
  EXPECT_EQ(py->wait_exit(60s), 1) << py->text();
  EXPECT_NE(py->text().find("install Debian's python3-protobuf"), std::string::npos) << py->text();
  EXPECT_EQ(py->text().find("ModuleNotFoundError"), std::string::npos) << py->text();
}

TEST(PythonInteropTest, UsesNoPrivateProtobufHelpers) {
  std::ifstream source(CHAT_PYTHON_CLIENT);
  const std::string text((std::istreambuf_iterator<char>(source)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  for (const char* name : {"_DecodeVarint", "_VarintBytes", "google.protobuf.internal"}) {
    EXPECT_EQ(text.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace chat::testing
