/*
 * drac-plugin.c: the Dovecot 2.3 plugin "drac" (lib95_drac_plugin.so).
 *
 * When an IMAP or POP3 user has logged in, it tells dracd the client's
 * address, so that the MTA relays for it; then it does so again every
 * drac_interval while the session lives, so that a client idling for
 * hours keeps relaying.  Settings, in the plugin { } section:
 *
 *   drac_server   = 127.0.0.1   host running dracd
 *   drac_interval = 1 min       renewal interval; 0: at login only
 *   drac_timeout  = 2 s         bound on each notification
 *
 * Notifications are synchronous but bounded by drac_timeout: at login
 * the client gets its OK after the address is in the map.  A failure is
 * logged once as an error (then at debug level until it works again) and
 * never fails the login; the next renewal tries again.  Only the imap and
 * pop3 services notify: LMTP and LDA deliveries and doveadm create mail
 * users too, with an MTA's address or none.
 */
#include "lib.h"
#include "ioloop.h"
#include "net.h"
#include "settings-parser.h"
#include "str-sanitize.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"

#include "drac.h"

#define DRAC_DEFAULT_SERVER		"127.0.0.1"
#define DRAC_DEFAULT_INTERVAL_SECS	60
#define DRAC_MAX_INTERVAL_SECS		(24 * 3600)
#define DRAC_MAX_TIMEOUT_MSECS		60000
#define DRAC_ERRMSG_MAX			200

#define DRAC_USER_CONTEXT(obj)	MODULE_CONTEXT(obj, drac_user_module)

struct drac_user {
	union mail_user_module_context module_ctx;

	struct event	*event;
	struct timeout	*to_renew;
	const char	*server;
	const char	*address;	/* as Dovecot prints it */
	unsigned int	 timeout_msecs;
	bool		 failing;	/* the last notification failed */
};

const char *drac_plugin_version = DOVECOT_ABI_VERSION;

void	drac_plugin_init(struct module *);
void	drac_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(drac_user_module,
    &mail_user_module_register);

/* Notifies dracd once; logs the first failure and the recovery. */
static void
drac_notify(struct drac_user *duser, const char *why)
{
	char *errmsg = NULL;
	int rc;

	rc = dracauth_str(duser->server, duser->address,
	    (int)duser->timeout_msecs, &errmsg);
	if (rc == DRAC_OK) {
		if (duser->failing)
			e_info(duser->event, "%s authorized through %s again",
			    duser->address, duser->server);
		else
			e_debug(duser->event, "%s: %s authorized through %s",
			    why, duser->address, duser->server);
		duser->failing = FALSE;
		return;
	}
	if (!duser->failing)
		e_error(duser->event, "%s: authorizing %s through %s failed "
		    "(%d): %s", why, duser->address, duser->server, rc,
		    errmsg == NULL ? "unknown error" :
		    str_sanitize(errmsg, DRAC_ERRMSG_MAX));
	else
		e_debug(duser->event, "%s: authorizing %s through %s still "
		    "fails (%d)", why, duser->address, duser->server, rc);
	duser->failing = TRUE;
}

static void
drac_renew(struct drac_user *duser)
{
	drac_notify(duser, "renewal");
}

/* Reads a time setting; a bad value is logged and the default kept. */
static unsigned int
drac_setting_time(struct mail_user *user, struct event *event,
    const char *name, bool msecs, unsigned int def, unsigned int max)
{
	const char *value = mail_user_plugin_getenv(user, name);
	const char *unit = msecs ? "ms" : "s";
	const char *error;
	unsigned int n;
	int rc;

	if (value == NULL || *value == '\0')
		return def;
	rc = msecs ? settings_get_time_msecs(value, &n, &error) :
	    settings_get_time(value, &n, &error);
	if (rc < 0) {
		e_error(event, "%s: %s (using %u %s)", name, error, def, unit);
		return def;
	}
	if (n > max) {
		e_error(event, "%s: %s is too long (using %u %s)", name, value,
		    max, unit);
		return max;
	}
	return n;
}

/* An IMAP or POP3 login with a client address, not a helper's user. */
static bool
drac_user_wanted(const struct mail_user *user)
{
	const struct ip_addr *ip = user->conn.remote_ip;

	if (user->autocreated || user->service == NULL)
		return FALSE;
	if (strcmp(user->service, "imap") != 0 &&
	    strcmp(user->service, "pop3") != 0)
		return FALSE;
	return ip != NULL && (IPADDR_IS_V4(ip) || IPADDR_IS_V6(ip));
}

static void
drac_mail_user_deinit(struct mail_user *user)
{
	struct drac_user *duser = DRAC_USER_CONTEXT(user);

	i_assert(duser != NULL);
	timeout_remove(&duser->to_renew);
	event_unref(&duser->event);
	duser->module_ctx.super.deinit(user);
}

static void
drac_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct drac_user *duser;
	const char *server;
	unsigned int interval;

	if (!drac_user_wanted(user))
		return;

	duser = p_new(user->pool, struct drac_user, 1);
	duser->module_ctx.super = *v;
	user->vlast = &duser->module_ctx.super;
	v->deinit = drac_mail_user_deinit;
	MODULE_CONTEXT_SET(user, drac_user_module, duser);

	duser->event = event_create(user->event);
	event_set_append_log_prefix(duser->event, "drac: ");
	server = mail_user_plugin_getenv(user, "drac_server");
	if (server == NULL || *server == '\0')
		server = DRAC_DEFAULT_SERVER;
	duser->server = p_strdup(user->pool, server);
	/* A v4-mapped IPv6 address prints as such: libdrac sends it as
	   IPv4. */
	duser->address = p_strdup(user->pool,
	    net_ip2addr(user->conn.remote_ip));
	duser->timeout_msecs = drac_setting_time(user, duser->event,
	    "drac_timeout", TRUE, DRAC_DEFAULT_TIMEOUT_MS,
	    DRAC_MAX_TIMEOUT_MSECS);
	interval = drac_setting_time(user, duser->event, "drac_interval",
	    FALSE, DRAC_DEFAULT_INTERVAL_SECS, DRAC_MAX_INTERVAL_SECS);

	drac_notify(duser, "login");
	if (interval > 0)
		duser->to_renew = timeout_add(interval * 1000, drac_renew,
		    duser);
}

static struct mail_storage_hooks drac_mail_storage_hooks = {
	.mail_user_created = drac_mail_user_created
};

void
drac_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &drac_mail_storage_hooks);
}

void
drac_plugin_deinit(void)
{
	mail_storage_hooks_remove(&drac_mail_storage_hooks);
}
