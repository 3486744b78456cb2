// station.h - printguard release: authenticate a user at a printer, list their held
// jobs, and release them through the printguard backend's gate.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace pg {

// StationOptions - what the command line (or kiosk prompt) asked for.
struct StationOptions {
  std::string printer;         // the station's queue (-d, else StationPrinter)
  std::string user;            // --user
  std::string badge;           // --badge: authenticate with badge number + PIN
  bool secret_from_stdin = false;
  bool list_only = false;
  bool scan = false;           // --scan: list as StationListing Scan does, this once
  bool all = false;
  std::vector<int> jobs;       // --job N (repeatable)
  int wait = 20;               // seconds to wait for each released job's outcome
};

// read_line() - one line from stdin without its newline; the prompt goes to
// stderr and echo is off (secret) only when stdin is a terminal.
std::string read_line(const std::string& prompt, bool secret);

// run_release_station() - the whole release command; returns its exit status:
// 0 all asked-for jobs released and sent, 1 authentication denied, 3 a job was
// refused or held again, 4 error.
int run_release_station(const Config& cfg, StationOptions o);

}  // namespace pg
