// A Python client built from the same chat.proto with Debian's
// python3-protobuf talks to the server: proof that the wire format is
// plain protobuf length-delimited framing.
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace chat::testing
