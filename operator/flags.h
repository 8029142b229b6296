#pragma once
// A small command-line reader: `--name value` and `--name=value` flags,
// plus positional arguments, with one clear line for what is wrong.
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace revoca {

class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0 || arg == "--") {
        positional_.push_back(arg);
        continue;
      }
      auto equals = arg.find('=');
      if (equals != std::string::npos) {
        values_[arg.substr(0, equals)] = arg.substr(equals + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[arg] = argv[++i];
      } else {
        values_[arg] = "";
        missing_.push_back(arg);
      }
    }
  }

  std::string take(const std::string& name, const std::string& fallback = "") {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::string value = it->second;
    values_.erase(it);
    std::erase(missing_, name);
    if (value.empty()) error_ = name + " needs a value";
    return value;
  }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::vector<std::string>& positional() { return positional_; }

  // False, after printing why, when a flag was unknown or lacked its value.
  bool finish(const char* usage) {
    if (!values_.empty()) error_ = "unknown flag " + values_.begin()->first;
    if (error_.empty()) return true;
    std::cerr << error_ << "\n" << usage;
    return false;
  }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  std::vector<std::string> missing_;
  std::string error_;
};

}  // namespace revoca
