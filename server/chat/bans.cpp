#include "server/chat/bans.hpp"

#include <asio/ip/address.hpp>

#include <array>
#include <charconv>

#include "common/names.hpp"

namespace chat::server {

namespace {

struct Block {
  asio::ip::address base;
  unsigned bits = 0;
};

// "ADDR" or "ADDR/BITS"; a bare IPv6 address is its /64. An IPv4 address
// mapped into IPv6 is IPv4, as address_key has it.
std::optional<Block> parse_block(std::string_view text) {
  const std::size_t slash = text.find('/');
  std::error_code ec;
  asio::ip::address base = asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  if (base.is_v6() && base.to_v6().is_v4_mapped()) {
    base = asio::ip::make_address_v4(asio::ip::v4_mapped, base.to_v6());
  }
  const unsigned most = base.is_v4() ? 32 : 128;
  Block block{base, base.is_v4() ? 32U : 64U};
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned bits = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (err != std::errc() || end != digits.data() + digits.size() || digits.empty() || bits > most) {
      return std::nullopt;
    }
    block.bits = bits;
  }
  return block;
}

// The address's bytes, 4 or 16 of them.
std::array<unsigned char, 16> bytes_of(const asio::ip::address& a, std::size_t& n) {
  std::array<unsigned char, 16> out{};
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
    n = 4;
  } else {
    out = a.to_v6().to_bytes();
    n = 16;
  }
  return out;
}

// Whether `address` lies in `block`.
bool within(const Block& block, const asio::ip::address& address) {
  if (block.base.is_v4() != address.is_v4()) return false;
  std::size_t n = 0;
  const auto want = bytes_of(block.base, n);
  const auto have = bytes_of(address, n);
  unsigned bits = block.bits;
  for (std::size_t i = 0; i < n && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8U);
    const auto mask = static_cast<unsigned char>(0xFFU << (8 - take));
    if ((want[i] & mask) != (have[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

std::string canonical_block(const Block& block) {
  std::size_t n = 0;
  auto bytes = bytes_of(block.base, n);
  unsigned bits = block.bits;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned keep = std::min(bits, 8U);
    bytes[i] = static_cast<unsigned char>(bytes[i] & (keep == 0 ? 0U : 0xFFU << (8 - keep)));
    bits -= keep;
  }
  std::string text;
  if (block.base.is_v4()) {
    text = asio::ip::address_v4(asio::ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], bytes[3]}).to_string();
    if (block.bits != 32) text += "/" + std::to_string(block.bits);
  } else {
    text = asio::ip::address_v6(bytes).to_string() + "/" + std::to_string(block.bits);
  }
  return text;
}

constexpr std::string_view kAccount = "account:";
constexpr std::string_view kAddress = "address:";

}  // namespace

std::optional<v1::Ban> parse_ban_mask(std::string_view mask, std::size_t max_nick_bytes, std::string& error) {
  v1::Ban ban;
  if (mask.starts_with(kAddress)) {
    const auto block = parse_block(mask.substr(kAddress.size()));
    if (!block) {
      error = "not an address or block: " + std::string(mask.substr(kAddress.size()));
      return std::nullopt;
    }
    ban.set_address(canonical_block(*block));
    return ban;
  }
  const bool account = mask.starts_with(kAccount);
  const std::string_view name = account ? mask.substr(kAccount.size()) : mask;
  if (!common::is_valid_nick(name, max_nick_bytes)) {
    error = "a ban is NICK, account:NAME or address:ADDR[/BITS]; not " + std::string(mask);
    return std::nullopt;
  }
  if (account) {
    ban.set_account(common::fold_case(name));
  } else {
    ban.set_nick(common::fold_case(name));
  }
  return ban;
}

bool ban_matches(const v1::Ban& ban, const std::string& nick, const std::string& account, const std::string& address) {
  if (!ban.nick().empty() && ban.nick() == common::fold_case(nick)) return true;
  if (!ban.account().empty() && !account.empty() && ban.account() == common::fold_case(account)) return true;
  if (ban.address().empty() || address.empty()) return false;
  const auto block = parse_block(ban.address());
  const auto peer = parse_block(address);  // an address_key: an address, or an IPv6 /64
  return block && peer && peer->bits >= block->bits && within(*block, peer->base);
}

bool ban_named_by(const v1::Ban& ban, const v1::Ban& mask) {
  return (!mask.nick().empty() && ban.nick() == mask.nick()) ||
         (!mask.account().empty() && ban.account() == mask.account()) ||
         (!mask.address().empty() && ban.address() == mask.address());
}

std::string describe_ban(const v1::Ban& ban) {
  std::string out;
  auto add = [&out](std::string_view prefix, const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ' ';
    out.append(prefix).append(part);
  };
  add("", ban.nick());
  add(kAccount, ban.account());
  add(kAddress, ban.address());
  return out;
}

}  // namespace chat::server
