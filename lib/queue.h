// queue.h - put the watermark filter on a CUPS queue by editing its PPD through CUPS.
#pragma once

#include <string>

namespace pg {

// ppd_add_filter() - the PPD text with printguard-watermark made the last filter
// before the device (driverless queues) or the filter before the driver (PPD
// drivers). Idempotent. Throws Error if the PPD has no place for it.
std::string ppd_add_filter(const std::string& ppd);

// ppd_remove_filter() - undo ppd_add_filter(), restoring the lines it replaced.
std::string ppd_remove_filter(const std::string& ppd);

// ppd_has_filter() - whether ppd_add_filter() has been applied.
bool ppd_has_filter(const std::string& ppd);

// queue_set_filter() - fetch the queue's PPD from cupsd, change it, and send it back
// with CUPS-Add-Modify-Printer (as lpadmin -P does). Throws Error.
void queue_set_filter(const std::string& queue, bool enable);

// queue_has_filter() - whether the queue's PPD carries the filter. Throws Error.
bool queue_has_filter(const std::string& queue);

}  // namespace pg
