#include "progress.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace ddp::train {
namespace {

constexpr int kBarWidth = 30;
// Plain mode also prints when this long has passed without a line, so slow runs show life.
constexpr auto kQuietLimit = std::chrono::seconds(30);

std::string format(const char* pattern, double a, double b = 0, double c = 0) {
  char text[128];
  std::snprintf(text, sizeof(text), pattern, a, b, c);
  return text;
}

std::string duration(double seconds) {
  int total = static_cast<int>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  return text;
}

}  // namespace

Progress::Progress(std::ostream& out, std::int64_t total_steps, bool terminal)
    : out_(out), total_steps_(std::max<std::int64_t>(total_steps, 1)), terminal_(terminal) {}

void Progress::update(std::int64_t step, double loss, double samples_per_s, double lr) {
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double fraction = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps_));
  double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  std::string figures = "step " + std::to_string(step) + "/" + std::to_string(total_steps_) +
                        " ETA " + duration(eta) +
                        format(" loss %.4f  %.0f samples/s  lr %.3g", loss, samples_per_s, lr);
  if (terminal_) {
    int filled = static_cast<int>(fraction * kBarWidth);
    out_ << "\r[" << std::string(filled, '=') << std::string(kBarWidth - filled, ' ') << "] "
         << format("%3.0f%% ", fraction * 100) << figures << std::flush;
    bar_shown_ = true;
    return;
  }
  bool percent_due = fraction * 100 >= static_cast<double>(next_percent_line_);
  if (!percent_due && now - last_line_ < kQuietLimit) return;
  while (fraction * 100 >= static_cast<double>(next_percent_line_)) next_percent_line_ += 10;
  last_line_ = now;
  out_ << format("%3.0f%% ", fraction * 100) << figures << std::endl;
}

void Progress::epoch_done(std::int64_t epoch, double train_loss, const EpochValidation& val,
                          double samples_per_s, const StepTimes& times) {
  clear_bar();
  out_ << "epoch " << epoch + 1 << format(": train loss %.4f", train_loss);
  if (val.samples > 0) {
    out_ << format("  val loss %.4f", val.loss);
    if (val.bits_per_byte >= 0) out_ << format(" per token  %.4f bits/byte", val.bits_per_byte);
    out_ << format("  val accuracy %.2f%%", val.accuracy * 100) << " (" << val.samples
         << " samples)";
  }
  out_ << format("  %.0f samples/s  step %.2f ms = compute %.2f", samples_per_s,
                 times.compute_ms + times.comm_ms + times.data_ms, times.compute_ms)
       << format(" + comm %.2f + data %.2f", times.comm_ms, times.data_ms);
  if (times.host_waits >= 0) out_ << format("  host waits %.2f/step", times.host_waits);
  out_ << std::endl;
}

void Progress::clear_bar() {
  if (!bar_shown_) return;
  out_ << "\r" << std::string(kBarWidth + 100, ' ') << "\r";
  bar_shown_ = false;
}

void Progress::end_line() {
  if (!bar_shown_) return;
  out_ << std::endl;
  bar_shown_ = false;
}

}  // namespace ddp::train
