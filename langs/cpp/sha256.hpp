// A small SHA-256 (FIPS 180-4): the C++ standard library has none.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(const std::uint8_t* data, std::size_t size);
std::string to_hex(const Digest& digest);

// Checks the implementation against SHA-256("abc"); false means it is broken.
bool sha256_self_test();
