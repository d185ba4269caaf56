#include "client/bench/report.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace chat::bench {
namespace {

double per_second(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

std::optional<double> per_server_cpu_second(const Result& r) {
  if (!r.server_cpu_s || *r.server_cpu_s <= 0) return std::nullopt;
  return static_cast<double>(r.deliveries) / *r.server_cpu_s;
}

std::optional<double> rss_per_connection(const Result& r) {
  if (!r.rss_before_bytes || !r.rss_after_bytes || r.connections == 0) return std::nullopt;
  return (static_cast<double>(*r.rss_after_bytes) - static_cast<double>(*r.rss_before_bytes)) /
         static_cast<double>(r.connections);
}

// JSON numbers: integers as integers, others with a few decimals, none as null.
class JsonObject {
 public:
  JsonObject& field(const char* name, const std::string& value) {
    key(name);
    out_ << '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out_ << '\\';
      out_ << c;
    }
    out_ << '"';
    return *this;
  }
  JsonObject& field(const char* name, std::uint64_t value) {
    key(name);
    out_ << value;
    return *this;
  }
  JsonObject& field(const char* name, double value) {
    key(name);
    if (std::isfinite(value)) {
      out_ << value;
    } else {
      out_ << "null";
    }
    return *this;
  }
  JsonObject& field(const char* name, std::optional<double> value) {
    if (!value) {
      key(name);
      out_ << "null";
      return *this;
    }
    return field(name, *value);
  }
  JsonObject& field(const char* name, std::optional<std::uint64_t> value) {
    if (!value) {
      key(name);
      out_ << "null";
      return *this;
    }
    return field(name, *value);
  }
  JsonObject& field(const char* name, bool value) {
    key(name);
    out_ << (value ? "true" : "false");
    return *this;
  }
  std::string done() { return out_.str() + "}"; }

 private:
  void key(const char* name) {
    out_ << (first_ ? "{" : ",") << '"' << name << "\":";
    first_ = false;
  }
  std::ostringstream out_ = [] {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(3);
    return s;
  }();
  bool first_ = true;
};

}  // namespace

void print_text(std::FILE* out, const Options& o, const Result& r) {
  if (o.logins) {
    std::fprintf(out, "chat-bench logins: %u thread(s) logging in with a password, %.1f s measured after %.1f s warm-up\n",
                 o.threads, r.measured_s, o.warmup_s);
    std::fprintf(out, "logins        %12llu        %12.1f logins/s\n", static_cast<unsigned long long>(r.logins),
                 per_second(r.logins, r.measured_s));
    if (r.server_cpu_s) {
      std::fprintf(out, "server CPU    %12.2f s      %12.2f ms per login (%.2f cores)\n", *r.server_cpu_s,
                   r.logins > 0 ? *r.server_cpu_s * 1000.0 / static_cast<double>(r.logins) : 0.0,
                   r.measured_s > 0 ? *r.server_cpu_s / r.measured_s : 0);
    }
    std::fprintf(out, "refused %llu (LOGIN_BUSY, RATE_LIMITED or the connection refused)  errors %llu\n",
                 static_cast<unsigned long long>(r.login_refused), static_cast<unsigned long long>(r.errors));
    std::fprintf(out, "latency us    p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%llu samples)\n",
                 r.latency_us[0], r.latency_us[1], r.latency_us[2], r.latency_us[3], r.latency_us[4],
                 static_cast<unsigned long long>(r.latency_samples));
    return;
  }
  if (o.idle > 0) {
    std::fprintf(out, "chat-bench idle: %zu connections logged in, each joined to one of %u room(s)\n",
                 r.connections, o.rooms);
    const double joins = static_cast<double>(std::max<std::size_t>(r.connections, 1));
    std::fprintf(out, "joins         every one answered %.2f s after the first connect; presence settled at %.2f s\n",
                 r.join_s, r.settle_s);
    std::fprintf(out, "presence      %llu frames, %llu bytes received (%.0f bytes per join); join replies %.0f bytes each\n",
                 static_cast<unsigned long long>(r.presence_frames), static_cast<unsigned long long>(r.presence_bytes),
                 static_cast<double>(r.presence_bytes) / joins, static_cast<double>(r.join_reply_bytes) / joins);
    if (r.disconnects > 0) {
      std::fprintf(out, "disconnects   %llu\n", static_cast<unsigned long long>(r.disconnects));
    }
    if (auto per = rss_per_connection(r)) {
      std::fprintf(out, "server RSS  %.1f MiB -> %.1f MiB: %.0f bytes per connection\n",
                   static_cast<double>(*r.rss_before_bytes) / 1048576.0,
                   static_cast<double>(*r.rss_after_bytes) / 1048576.0, *per);
    } else {
      std::fprintf(out, "server RSS  could not be read from /proc/%d/status\n", o.server_pid);
    }
    return;
  }
  const std::string pace = o.rate > 0 ? "rate " + std::to_string(static_cast<long long>(o.rate)) + "/s per publisher"
                                       : "max rate, window " + std::to_string(o.window);
  std::fprintf(out,
               "chat-bench: %u room(s) x (%u subs + %u pubs) = %zu connections, %zu-byte messages, "
               "%s, %.1f s measured after %.1f s warm-up, %u thread(s)\n",
               o.rooms, o.subs, o.pubs, r.connections, o.size, pace.c_str(), r.measured_s, o.warmup_s,
               o.threads);
  std::fprintf(out, "published     %12llu msgs   %12.0f msgs/s\n",
               static_cast<unsigned long long>(r.published), per_second(r.published, r.measured_s));
  std::fprintf(out, "deliveries    %12llu        %12.0f deliveries/s\n",
               static_cast<unsigned long long>(r.deliveries), per_second(r.deliveries, r.measured_s));
  if (r.server_cpu_s) {
    std::fprintf(out, "server CPU    %12.2f s      %12.0f deliveries per server CPU-second (%.2f cores)\n",
                 *r.server_cpu_s, per_server_cpu_second(r).value_or(0),
                 r.measured_s > 0 ? *r.server_cpu_s / r.measured_s : 0);
  } else {
    std::fprintf(out, "server CPU    (pass --server-pid for it)\n");
  }
  std::fprintf(out, "generator CPU %12.2f s      (%.2f cores%s)\n", r.generator_cpu_s,
               r.measured_s > 0 ? r.generator_cpu_s / r.measured_s : 0,
               r.measured_s > 0 && r.generator_cpu_s / r.measured_s > 0.9 * o.threads
                   ? "; the generator is saturated, add --threads"
                   : "");
  std::fprintf(out, "lost %llu  duplicated %llu  reordered %llu  seq_gaps %llu  disconnects %llu  errors %llu%s\n",
               static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.duplicated),
               static_cast<unsigned long long>(r.reordered), static_cast<unsigned long long>(r.seq_gaps),
               static_cast<unsigned long long>(r.disconnects), static_cast<unsigned long long>(r.errors),
               r.drained ? "" : "  (drain timed out)");
  if (auto per = rss_per_connection(r)) {
    std::fprintf(out, "server RSS    %.1f MiB after the warm-up: %.0f bytes per connection over its start\n",
                 static_cast<double>(*r.rss_after_bytes) / 1048576.0, *per);
  }
  std::fprintf(out, "latency us    p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%llu samples)\n",
               r.latency_us[0], r.latency_us[1], r.latency_us[2], r.latency_us[3], r.latency_us[4],
               static_cast<unsigned long long>(r.latency_samples));
}

std::string to_json(const Options& o, const Result& r) {
  JsonObject j;
  j.field("mode", std::string(o.logins ? "logins" : o.idle > 0 ? "idle" : "pubsub"));
  if (o.logins) {
    j.field("threads", std::uint64_t{o.threads})
        .field("measured_s", r.measured_s)
        .field("logins", r.logins)
        .field("logins_per_s", per_second(r.logins, r.measured_s))
        .field("server_cpu_s", r.server_cpu_s)
        .field("refused", r.login_refused)
        .field("errors", r.errors)
        .field("latency_samples", r.latency_samples)
        .field("latency_p50_us", r.latency_us[0])
        .field("latency_p99_us", r.latency_us[2])
        .field("latency_max_us", r.latency_us[4]);
    return j.done();
  }
  j.field("connections", static_cast<std::uint64_t>(r.connections)).field("rooms", std::uint64_t{o.rooms});
  if (o.idle > 0) {
    j.field("join_s", r.join_s)
        .field("settle_s", r.settle_s)
        .field("presence_frames", r.presence_frames)
        .field("presence_bytes", r.presence_bytes)
        .field("join_reply_bytes", r.join_reply_bytes)
        .field("disconnects", r.disconnects)
        .field("rss_before_bytes", r.rss_before_bytes)
        .field("rss_after_bytes", r.rss_after_bytes)
        .field("rss_per_connection_bytes", rss_per_connection(r));
    return j.done();
  }
  j.field("subs", std::uint64_t{o.subs})
      .field("pubs", std::uint64_t{o.pubs})
      .field("size", static_cast<std::uint64_t>(o.size))
      .field("rate", o.rate)
      .field("window", std::uint64_t{o.window})
      .field("threads", std::uint64_t{o.threads})
      .field("measured_s", r.measured_s)
      .field("published", r.published)
      .field("published_per_s", per_second(r.published, r.measured_s))
      .field("deliveries", r.deliveries)
      .field("deliveries_per_s", per_second(r.deliveries, r.measured_s))
      .field("server_cpu_s", r.server_cpu_s)
      .field("deliveries_per_server_cpu_s", per_server_cpu_second(r))
      .field("rss_per_connection_bytes", rss_per_connection(r))
      .field("generator_cpu_s", r.generator_cpu_s)
      .field("generator_cpu_cores", r.measured_s > 0 ? r.generator_cpu_s / r.measured_s : 0.0)
      .field("lost", r.lost)
      .field("duplicated", r.duplicated)
      .field("reordered", r.reordered)
      .field("seq_gaps", r.seq_gaps)
      .field("disconnects", r.disconnects)
      .field("errors", r.errors)
      .field("foreign", r.foreign)
      .field("drained", r.drained)
      .field("latency_samples", r.latency_samples)
      .field("latency_p50_us", r.latency_us[0])
      .field("latency_p90_us", r.latency_us[1])
      .field("latency_p99_us", r.latency_us[2])
      .field("latency_p999_us", r.latency_us[3])
      .field("latency_max_us", r.latency_us[4]);
  return j.done();
}

}  // namespace chat::bench
