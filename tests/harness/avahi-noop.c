/*
 * avahi-noop.c - LD_PRELOAD shim that turns ippeveprinter's avahi_* calls
 *                into no-ops, so the test printer runs without avahi-daemon
 *                or D-Bus.
 *
 * Test-only code: it is never installed.  The symbol list matches
 * `nm -D --undefined-only /usr/sbin/ippeveprinter | grep avahi` for
 * cups-ipp-utils 2.4.2.  The avahi types are opaque to the caller, so they
 * are declared here as incomplete structs; no avahi header is needed.
 *
 * Build: cc -shared -fPIC -o avahi-noop.so avahi-noop.c
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PG_EXPORT __attribute__((visibility("default")))

typedef struct AvahiThreadedPoll AvahiThreadedPoll;
typedef struct AvahiPoll AvahiPoll;
typedef struct AvahiClient AvahiClient;
typedef struct AvahiEntryGroup AvahiEntryGroup;
typedef struct AvahiStringList AvahiStringList;
typedef void (*AvahiClientCallback)(AvahiClient *, int, void *);
typedef void (*AvahiEntryGroupCallback)(AvahiEntryGroup *, int, void *);

/* Distinct non-NULL handles; callers only pass them back to us. */
static char fake_poll[1], fake_poll_api[1], fake_client[1], fake_group[1],
            fake_txt[1];


/* avahi_threaded_poll_new() - return a fake poll handle. */
PG_EXPORT AvahiThreadedPoll *
avahi_threaded_poll_new(void)
{
  return ((AvahiThreadedPoll *)fake_poll);
}

/* avahi_threaded_poll_get() - return a fake poll API table. */
PG_EXPORT const AvahiPoll *
avahi_threaded_poll_get(AvahiThreadedPoll *p)
{
  (void)p;
  return ((const AvahiPoll *)fake_poll_api);
}

/* avahi_threaded_poll_start() - pretend the event thread started. */
PG_EXPORT int
avahi_threaded_poll_start(AvahiThreadedPoll *p)
{
  (void)p;
  return (0);
}

/* avahi_threaded_poll_lock() - no event thread, nothing to lock. */
PG_EXPORT void
avahi_threaded_poll_lock(AvahiThreadedPoll *p)
{
  (void)p;
}

/* avahi_threaded_poll_unlock() - no event thread, nothing to unlock. */
PG_EXPORT void
avahi_threaded_poll_unlock(AvahiThreadedPoll *p)
{
  (void)p;
}

/* avahi_client_new() - return a fake client; the callback is never called. */
PG_EXPORT AvahiClient *
avahi_client_new(const AvahiPoll *poll_api, int flags,
                 AvahiClientCallback callback, void *userdata, int *error)
{
  (void)poll_api; (void)flags; (void)callback; (void)userdata;
  if (error)
    *error = 0;
  return ((AvahiClient *)fake_client);
}

/* avahi_client_errno() - report no error (AVAHI_OK). */
PG_EXPORT int
avahi_client_errno(AvahiClient *c)
{
  (void)c;
  return (0);
}

/* avahi_client_get_host_name_fqdn() - the only name the tests use. */
PG_EXPORT const char *
avahi_client_get_host_name_fqdn(AvahiClient *c)
{
  (void)c;
  return ("localhost");
}

/* avahi_entry_group_new() - return a fake entry group. */
PG_EXPORT AvahiEntryGroup *
avahi_entry_group_new(AvahiClient *c, AvahiEntryGroupCallback callback,
                      void *userdata)
{
  (void)c; (void)callback; (void)userdata;
  return ((AvahiEntryGroup *)fake_group);
}

/* avahi_entry_group_add_service_strlst() - accept and drop the service. */
PG_EXPORT int
avahi_entry_group_add_service_strlst(AvahiEntryGroup *group, int interface,
                                     int protocol, int flags, const char *name,
                                     const char *type, const char *domain,
                                     const char *host, uint16_t port,
                                     AvahiStringList *txt)
{
  (void)group; (void)interface; (void)protocol; (void)flags; (void)name;
  (void)type; (void)domain; (void)host; (void)port; (void)txt;
  return (0);
}

/* avahi_entry_group_add_service_subtype() - accept and drop the subtype. */
PG_EXPORT int
avahi_entry_group_add_service_subtype(AvahiEntryGroup *group, int interface,
                                      int protocol, int flags,
                                      const char *name, const char *type,
                                      const char *domain, const char *subtype)
{
  (void)group; (void)interface; (void)protocol; (void)flags; (void)name;
  (void)type; (void)domain; (void)subtype;
  return (0);
}

/* avahi_entry_group_commit() - pretend the registration was published. */
PG_EXPORT int
avahi_entry_group_commit(AvahiEntryGroup *group)
{
  (void)group;
  return (0);
}

/* avahi_entry_group_free() - nothing was allocated. */
PG_EXPORT int
avahi_entry_group_free(AvahiEntryGroup *group)
{
  (void)group;
  return (0);
}

/* avahi_string_list_add_printf() - return a fake, non-NULL TXT list. */
PG_EXPORT AvahiStringList *
avahi_string_list_add_printf(AvahiStringList *l, const char *format, ...)
{
  (void)format;
  return (l ? l : (AvahiStringList *)fake_txt);
}

/* avahi_string_list_free() - nothing was allocated. */
PG_EXPORT void
avahi_string_list_free(AvahiStringList *l)
{
  (void)l;
}
