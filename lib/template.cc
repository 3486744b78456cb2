// template.cc - watermark text templates.
#include "template.h"

#include <algorithm>

#include "util.h"

namespace pg {

const std::vector<std::string>& template_variables() {
  static const std::vector<std::string> names = {"user", "date",  "queue", "host",  "server", "job",
                                                 "uuid", "title", "page",  "pages", "code"};
  return names;
}

// walk_template() - parse tmpl, calling lit(text) and var(name) in order; throws Error.
template <typename Lit, typename Var>
static void walk_template(const std::string& tmpl, Lit lit, Var var) {
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t d = tmpl.find('$', i);
    if (d == std::string::npos) {
      lit(tmpl.substr(i));
      return;
    }
    lit(tmpl.substr(i, d - i));
    if (d + 1 < tmpl.size() && tmpl[d + 1] == '$') {
      lit("$");
      i = d + 2;
    } else if (d + 1 < tmpl.size() && tmpl[d + 1] == '{') {
      size_t e = tmpl.find('}', d + 2);
      if (e == std::string::npos) throw Error("template: \"${\" without a closing \"}\"");
      std::string name = tmpl.substr(d + 2, e - d - 2);
      const auto& known = template_variables();
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw Error("template: unknown variable ${" + printable(name) + "} (known: user, date, queue, host, server, job, uuid, title, page, pages, code)");
      var(name);
      i = e + 1;
    } else {
      lit("$");
      i = d + 1;
    }
  }
}

void validate_template(const std::string& tmpl) {
  walk_template(tmpl, [](const std::string&) {}, [](const std::string&) {});
}

// append_value() - the value of variable name in vars (none: nothing) added to
// out, newlines made spaces.
static void append_value(std::string& out, const std::map<std::string, std::string>& vars, const std::string& name) {
  auto it = vars.find(name);
  if (it == vars.end()) return;
  for (char c : it->second) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

std::string expand_template(const std::string& tmpl, const std::map<std::string, std::string>& vars) {
  std::string out;
  walk_template(
      tmpl, [&](const std::string& s) { out += s; }, [&](const std::string& v) { append_value(out, vars, v); });
  return out;
}

std::vector<std::string> expand_template_around(const std::string& tmpl, const std::map<std::string, std::string>& vars,
                                                const std::string& name) {
  std::vector<std::string> pieces(1);
  walk_template(
      tmpl, [&](const std::string& s) { pieces.back() += s; },
      [&](const std::string& v) {
        if (v == name)
          pieces.emplace_back();
        else
          append_value(pieces.back(), vars, v);
      });
  return pieces;
}

}  // namespace pg
