// A Python client built from the same chat.proto with Debian's
// python3-protobuf talks to the server: proof that the wire format is
// plain protobuf length-delimited framing.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>

#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

TEST(PythonInteropTest, LogsInJoinsSaysAndReceives) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient cpp(io, server.port(), "cpp");
  ASSERT_TRUE(cpp.join("#interop").has_join());

  const std::string command = "PYTHONPATH=" CHAT_PYTHONPATH " /usr/bin/python3 " CHAT_PYTHON_CLIENT
                              " --port " + std::to_string(server.port()) +
                              " --nick py --room '#interop' --say 'hello from python'"
                              " --expect 'hello from cpp' --timeout 20 2>&1";
  auto output = std::async(std::launch::async, [&] {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return std::make_pair(-1, out);
    char line[1024];
    while (std::fgets(line, sizeof line, p)) out += line;
    return std::make_pair(::pclose(p), out);
  });

  // Answer once the Python client's message has arrived here.
  ASSERT_TRUE(cpp.wait_messages("#interop", 1, 20s));
  const auto heard = cpp.messages("#interop");
  EXPECT_EQ(heard[0].sender(), "py");
  EXPECT_EQ(heard[0].text(), "hello from python");
  ASSERT_TRUE(cpp.say("#interop", "hello from cpp", 1).has_message());

  const auto [status, text] = output.get();
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("welcome chatd/"), std::string::npos) << text;
  EXPECT_NE(text.find("hello py"), std::string::npos) << text;
  EXPECT_NE(text.find("join #interop members=cpp,py"), std::string::npos) << text;
  EXPECT_NE(text.find("message #interop #1 <py> hello from python"), std::string::npos) << text;
  EXPECT_NE(text.find("message #interop #2 <cpp> hello from cpp"), std::string::npos) << text;
}

}  // namespace
}  // namespace chat::testing
