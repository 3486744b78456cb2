// template.h - watermark text templates: "${user} ${date} ... ${code}".
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pg {

// template_variables() - the names a template may use, in documentation order.
const std::vector<std::string>& template_variables();

// validate_template() - throws Error on syntax errors or unknown variable names.
void validate_template(const std::string& tmpl);

// expand_template_around() - expand_template() of every variable but ${name}:
// the text before, between and after its uses (one piece more than uses), so
// that a value of name can be put in without parsing tmpl again.
std::vector<std::string> expand_template_around(const std::string& tmpl, const std::map<std::string, std::string>& vars,
                                                const std::string& name);

// expand_template() - substitute ${name} from vars in one pass (values are never
// re-expanded); "$$" is a literal "$"; newlines inside values become spaces.
std::string expand_template(const std::string& tmpl, const std::map<std::string, std::string>& vars);

}  // namespace pg
