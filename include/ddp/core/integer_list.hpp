// Lists of positive integers as options write them: "784,128,10".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ddp {

// "784,128,10" -> {784, 128, 10}; nullopt when an item is empty, not a number or not positive.
// Callers say in their own error what the list is for.
std::optional<std::vector<std::int64_t>> parse_positive_integers(std::string_view text);

}  // namespace ddp
