# The chat demo image: chatd, the `chat` client, the demo bot script, and
# Debian's redis-server for the cluster demo (docker-compose.cluster.yml).
# Stage 1 builds on Debian 12 with the same packages as .ci/install-deps;
# stage 2 carries only the binaries and their shared libraries.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libasio-dev libprotobuf-dev protobuf-compiler libconcurrentqueue-dev \
      libcli11-dev libspdlog-dev libsqlite3-dev libncurses-dev nlohmann-json3-dev libssl-dev libsodium-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHAT_BUILD_TESTS=OFF \
 && cmake --build /build --target chatd chat

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libprotobuf32 libspdlog1.10 libfmt9 libncursesw6 libsqlite3-0 libssl3 libsodium23 libhiredis0.14 redis-server ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/server/chatd /build/client/chat /usr/local/bin/
COPY demo/bot.sh /usr/local/bin/bot.sh
# UTF-8 for the full-screen client; the terminal type comes from `docker run -t`.
ENV LANG=C.UTF-8
EXPOSE 7777
CMD ["chatd"]
