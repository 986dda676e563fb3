/* mail_conf - main.cf reading, expansion and typed access; see mail_conf.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <sys/socket.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "argv.h"
#include "htable.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "readlline.h"
#include "stringops.h"
#include "vstr.h"

#ifndef POSTERN_PREFIX
#define POSTERN_PREFIX "/usr"
#endif

static char *conf_dir;
static HTABLE *conf_main;		/* main.cf name -> value */
static ARGV *conf_order;		/* main.cf names in file order */
static HTABLE *conf_over;		/* -o name -> value */
static HTABLE *conf_dyn;		/* computed defaults */
static HTABLE *conf_cache;		/* expanded values */
static VSTR *conf_path_buf;

static int conf_dir_explicit;		/* -c or $MAIL_CONFIG */

void    mail_conf_set_dir(const char *dir)
{
    free(conf_dir);
    conf_dir = xstrdup(dir);
    conf_dir_explicit = 1;
}

const char *mail_conf_dir(void)
{
    const char *env;

    if (conf_dir == 0) {
	env = getenv("MAIL_CONFIG");
	conf_dir = xstrdup(env && *env ? env : DEF_CONFIG_DIR);
	conf_dir_explicit = (env && *env);
    }
    return (conf_dir);
}

const char *mail_conf_path(void)
{
    if (conf_path_buf == 0)
	conf_path_buf = vstr_alloc(256);
    (void) vstr_fmt(conf_path_buf, "%s/main.cf", mail_conf_dir());
    return (vstr_str(conf_path_buf));
}

static void conf_cache_flush(void)
{
    if (conf_cache)
	htable_free(conf_cache, free);
    conf_cache = htable_create(256);
}

void    mail_conf_override(const char *name, const char *value)
{
    if (conf_over == 0)
	conf_over = htable_create(16);
    free(htable_find(conf_over, name));
    htable_enter(conf_over, name, xstrdup(value));
    conf_cache_flush();
}

int     mail_conf_read_opt(int must_exist)
{
    FILE   *fp;
    VSTR   *buf = vstr_alloc(256);
    int     last = 0, first = 0;
    const char *path = mail_conf_path();

    if (conf_main)
	htable_free(conf_main, free);
    argv_free(conf_order);
    conf_main = htable_create(128);
    conf_order = argv_alloc(64);
    conf_cache_flush();
    if ((fp = fopen(path, "r")) == 0) {
	if (must_exist)
	    msg_fatal("open %s: %m", path);
	vstr_free(buf);
	return (-1);
    }
    while (readlline(buf, fp, &last, &first)) {
	char   *name, *value;
	const char *err;

	if (isspace((unsigned char) vstr_str(buf)[0])) {
	    /* Text before the first parameter that starts with white space. */
	    msg_warn("%s: logical line must not start with whitespace: \"%s\"",
		     path, vstr_str(buf));
	    continue;
	}
	if ((err = split_nameval(vstr_str(buf), &name, &value)) != 0)
	    msg_fatal("%s, line %d: %s: \"%s\"", path, first, err, vstr_str(buf));
	if (htable_locate(conf_main, name) == 0)
	    argv_add(conf_order, name);
	else
	    msg_warn("%s, line %d: overriding earlier entry: %s=%s", path, first,
		     name, (char *) htable_find(conf_main, name));
	free(htable_find(conf_main, name));
	htable_enter(conf_main, name, xstrdup(value));
    }
    if (ferror(fp))
	msg_fatal("read %s: %m", path);
    (void) fclose(fp);
    vstr_free(buf);
    /* As in Postfix, a config directory given with -c or $MAIL_CONFIG is
     * an explicit config_directory setting (postconf -n shows it). */
    if (conf_dir_explicit)
	mail_conf_override("config_directory", mail_conf_dir());
    return (0);
}

void    mail_conf_read(void)
{
    (void) mail_conf_read_opt(1);
}

HTABLE *mail_conf_table(void)
{
    if (conf_main == 0) {
	conf_main = htable_create(16);
	conf_order = argv_alloc(1);
    }
    return (conf_main);
}

const char *const *mail_conf_names(void)
{
    (void) mail_conf_table();
    return ((const char *const *) conf_order->argv);
}

/* Dynamic defaults. */

static char *dyn_myhostname(void)
{
    char    host[256];
    const char *dom;

    if (gethostname(host, sizeof(host) - 1) < 0)
	msg_fatal("gethostname: %m");
    host[sizeof(host) - 1] = 0;
    if (strchr(host, '.'))
	return (lowercase(xstrdup(host)));
    dom = mail_conf_explicit("mydomain");
    {
	VSTR   *vp = vstr_alloc(64);
	char   *edom = dom ? mail_conf_eval(dom) : xstrdup("localdomain");

	(void) vstr_fmt(vp, "%s.%s", host, edom);
	free(edom);
	return (lowercase(vstr_export(vp)));
    }
}

static char *dyn_mydomain(void)
{
    const char *host = mail_conf_str("myhostname");
    const char *dot = strchr(host, '.');

    return (xstrdup(dot && dot[1] ? dot + 1 : "localdomain"));
}

static void net_append(VSTR *out, int family, const void *addr, int prefix)
{
    char    text[INET6_ADDRSTRLEN];

    if (inet_ntop(family, addr, text, sizeof(text)) == 0)
	return;
    if (vstr_len(out))
	(void) vstr_addch(out, ' ');
    if (family == AF_INET6)
	(void) vstr_fmt_append(out, "[%s]/%d", text, prefix);
    else
	(void) vstr_fmt_append(out, "%s/%d", text, prefix);
}

static int prefix_len(const unsigned char *mask, size_t len)
{
    int     n = 0;

    for (size_t i = 0; i < len; i++)
	for (int b = 7; b >= 0; b--)
	    if (mask[i] & (1 << b))
		n++;
    return (n);
}

/*
 * The addresses of $inet_interfaces ("all": NULL, every interface;
 * "loopback-only": the loopback interfaces), as text, for matching
 * interface addresses.
 */
static HTABLE *dyn_inet_addrs(void)
{
    const char *ifs = mail_conf_str("inet_interfaces");
    ARGV   *av = argv_split(ifs, CHARS_COMMA_SP);
    HTABLE *set = htable_create(8);

    for (size_t i = 0; i < av->argc; i++) {
	char   *h = av->argv[i];
	size_t  hl = strlen(h);
	struct addrinfo hints, *res, *ai;
	char    text[INET6_ADDRSTRLEN];

	if (strcasecmp(h, "all") == 0) {
	    htable_free(set, 0);
	    argv_free(av);
	    return (0);
	}
	if (strcasecmp(h, "loopback-only") == 0) {
	    htable_enter(set, "127.0.0.1", (void *) 1);
	    htable_enter(set, "::1", (void *) 1);
	    continue;
	}
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
	    h[hl - 1] = 0;
	    h++;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(h, 0, &hints, &res) != 0)
	    msg_fatal("config variable inet_interfaces: host not found: %s", h);
	for (ai = res; ai; ai = ai->ai_next) {
	    const void *a = ai->ai_family == AF_INET ?
	    (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr :
	    (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;

	    if (inet_ntop(ai->ai_family, a, text, sizeof(text)))
		htable_enter(set, text, (void *) 1);
	}
	freeaddrinfo(res);
    }
    argv_free(av);
    return (set);
}

/* mynetworks from mynetworks_style: host, subnet or class. */
static char *dyn_mynetworks(void)
{
    const char *style = mail_conf_str("mynetworks_style");
    struct ifaddrs *ifa, *ip;
    VSTR   *v4 = vstr_alloc(128), *v6 = vstr_alloc(128);
    HTABLE *seen = htable_create(32);
    VSTR   *key = vstr_alloc(64);

    if (strcasecmp(style, "host") != 0 && strcasecmp(style, "subnet") != 0
	&& strcasecmp(style, "class") != 0)
	msg_fatal("unknown mynetworks mask style value \"%s\" in \"%s\"", style, style);
    HTABLE *only = dyn_inet_addrs();

    if (getifaddrs(&ifa) < 0)
	msg_fatal("getifaddrs: %m");
    for (ip = ifa; ip; ip = ip->ifa_next) {
	if (ip->ifa_addr == 0 || !(ip->ifa_flags & IFF_UP))
	    continue;
	if (only && (ip->ifa_addr->sa_family == AF_INET
		     || ip->ifa_addr->sa_family == AF_INET6)) {
	    char    text[INET6_ADDRSTRLEN];
	    const void *a = ip->ifa_addr->sa_family == AF_INET ?
	    (const void *) &((struct sockaddr_in *) ip->ifa_addr)->sin_addr :
	    (const void *) &((struct sockaddr_in6 *) ip->ifa_addr)->sin6_addr;

	    if (inet_ntop(ip->ifa_addr->sa_family, a, text, sizeof(text)) == 0
		|| htable_find(only, text) == 0)
		continue;
	}
	if (ip->ifa_addr->sa_family == AF_INET) {
	    struct in_addr a = ((struct sockaddr_in *) ip->ifa_addr)->sin_addr;
	    struct in_addr m = ip->ifa_netmask ?
	    ((struct sockaddr_in *) ip->ifa_netmask)->sin_addr : (struct in_addr) {0xffffffff};
	    int     plen = prefix_len((unsigned char *) &m, 4);
	    uint32_t h = ntohl(a.s_addr);

	    if (strcasecmp(style, "host") == 0) {
		plen = 32;
	    } else if (strcasecmp(style, "class") == 0) {
		plen = (h >> 31) == 0 ? 8 : (h >> 30) == 2 ? 16 : (h >> 29) == 6 ? 24 : 32;
		if (plen == 32)
		    continue;
	    }
	    h = plen == 0 ? 0 : (h & (0xffffffffU << (32 - plen)));
	    a.s_addr = htonl(h);
	    (void) vstr_fmt(key, "4 %08x/%d", h, plen);
	    if (htable_find(seen, vstr_str(key)))
		continue;
	    htable_enter(seen, vstr_str(key), (void *) 1);
	    net_append(v4, AF_INET, &a, plen);
	} else if (ip->ifa_addr->sa_family == AF_INET6) {
	    struct in6_addr a = ((struct sockaddr_in6 *) ip->ifa_addr)->sin6_addr;
	    int     plen = ip->ifa_netmask ?
	    prefix_len(((struct sockaddr_in6 *) ip->ifa_netmask)->sin6_addr.s6_addr, 16) : 128;
	    char    text[INET6_ADDRSTRLEN];

	    if (strcasecmp(style, "host") == 0)
		plen = 128;
	    for (int i = 0; i < 16; i++) {
		int     bits = plen - i * 8;

		if (bits <= 0)
		    a.s6_addr[i] = 0;
		else if (bits < 8)
		    a.s6_addr[i] &= (unsigned char) (0xff << (8 - bits));
	    }
	    if (inet_ntop(AF_INET6, &a, text, sizeof(text)) == 0)
		continue;
	    (void) vstr_fmt(key, "6 %s/%d", text, plen);
	    if (htable_find(seen, vstr_str(key)))
		continue;
	    htable_enter(seen, vstr_str(key), (void *) 1);
	    net_append(v6, AF_INET6, &a, plen);
	}
    }
    freeifaddrs(ifa);
    if (only)
	htable_free(only, 0);
    if (vstr_len(v6)) {
	if (vstr_len(v4))
	    (void) vstr_addch(v4, ' ');
	(void) vstr_cat(v4, vstr_str(v6));
    }
    vstr_free(v6);
    vstr_free(key);
    htable_free(seen, 0);
    return (vstr_export(v4));
}

static char *dyn_compute(const char *name)
{
    VSTR   *vp;

    if (strcmp(name, "myhostname") == 0)
	return (dyn_myhostname());
    if (strcmp(name, "mydomain") == 0)
	return (dyn_mydomain());
    if (strcmp(name, "mynetworks") == 0)
	return (dyn_mynetworks());
    if (strcmp(name, "config_directory") == 0)
	return (xstrdup(DEF_CONFIG_DIR));
    vp = vstr_alloc(64);
    if (strcmp(name, "process_id") == 0)
	(void) vstr_fmt(vp, "%ld", (long) getpid());
    else if (strcmp(name, "process_name") == 0)
	(void) vstr_cpy(vp, msg_progname());
    else if (strcmp(name, "daemon_directory") == 0)
	(void) vstr_cpy(vp, POSTERN_PREFIX "/libexec/postern");
    else if (strcmp(name, "command_directory") == 0)
	(void) vstr_cpy(vp, POSTERN_PREFIX "/sbin");
    else if (strcmp(name, "sendmail_path") == 0)
	(void) vstr_cpy(vp, POSTERN_PREFIX "/sbin/sendmail");
    else if (strcmp(name, "mailq_path") == 0)
	(void) vstr_cpy(vp, POSTERN_PREFIX "/bin/mailq");
    else if (strcmp(name, "newaliases_path") == 0)
	(void) vstr_cpy(vp, POSTERN_PREFIX "/bin/newaliases");
    else
	msg_panic("dyn_compute: no rule for dynamic parameter %s", name);
    return (vstr_export(vp));
}

const char *mail_conf_default(const char *name)
{
    const PARAM_DEF *p = mail_param_find(name);
    char   *v;

    if (p == 0)
	return (0);
    if (!(p->flags & PF_DYNAMIC))
	return (p->defval);
    if (conf_dyn == 0)
	conf_dyn = htable_create(16);
    if ((v = htable_find(conf_dyn, name)) == 0) {
	/* Guard against recursion (mydomain <-> myhostname). */
	htable_enter(conf_dyn, name, xstrdup(""));
	v = dyn_compute(name);
	free(htable_find(conf_dyn, name));
	htable_enter(conf_dyn, name, v);
    }
    return (v);
}

const char *mail_conf_explicit(const char *name)
{
    const char *v;

    if (conf_over && (v = htable_find(conf_over, name)) != 0)
	return (v);
    if (conf_main && (v = htable_find(conf_main, name)) != 0)
	return (v);
    return (0);
}

const char *mail_conf_raw(const char *name)
{
    const char *v = mail_conf_explicit(name);

    return (v ? v : mail_conf_default(name));
}

static const char *conf_lookup_cb(const char *name, void *unused)
{
    return (mail_conf_raw(name));
}

char   *mail_conf_eval(const char *value)
{
    VSTR   *out = vstr_alloc(strlen(value) + 16);
    const char *why;

    if (mac_expand(out, value, conf_lookup_cb, 0, &why) & MAC_ERROR)
	msg_fatal("%s: %s: %s", mail_conf_path(), why, value);
    return (vstr_export(out));
}

const char *mail_conf_str(const char *name)
{
    const char *raw;
    char   *v;
    const PARAM_DEF *p;

    if (conf_cache == 0)
	conf_cache = htable_create(256);
    if ((v = htable_find(conf_cache, name)) != 0)
	return (v);
    if ((raw = mail_conf_raw(name)) == 0)
	raw = "";
    p = mail_param_find(name);
    v = (p && (p->flags & PF_RAW)) ? xstrdup(raw) : mail_conf_eval(raw);
    htable_enter(conf_cache, name, v);
    return (v);
}

int     conf_parse_time(const char *value, const char *unit, long *seconds)
{
    char   *end;
    long    n;
    int     u;

    if (!isdigit((unsigned char) *value))
	return (-1);
    errno = 0;
    n = strtol(value, &end, 10);
    if (errno || n > INT_MAX)
	return (-1);
    u = *end ? *end++ : (unit && *unit ? *unit : 's');
    if (*end)
	return (-1);
    switch (u) {
    case 'w':
	n *= 7;
	/* FALLTHROUGH */
    case 'd':
	n *= 24;
	/* FALLTHROUGH */
    case 'h':
	n *= 60;
	/* FALLTHROUGH */
    case 'm':
	n *= 60;
	/* FALLTHROUGH */
    case 's':
	break;
    default:
	return (-1);
    }
    if (n > INT_MAX)
	return (-1);
    *seconds = n;
    return (0);
}

int     conf_parse_bool(const char *value, int *result)
{
    if (strcasecmp(value, "yes") == 0)
	*result = 1;
    else if (strcasecmp(value, "no") == 0)
	*result = 0;
    else
	return (-1);
    return (0);
}

/* Postfix's texts: integers and times word their bounds differently. */
static void conf_check_int_bounds(const PARAM_DEF *p, const char *name, long v)
{
    if (p && (p->flags & PF_BMIN) && v < p->min)
	msg_fatal("invalid %s parameter value %ld < %ld", name, v, p->min);
    if (p && (p->flags & PF_BMAX) && v > p->max)
	msg_fatal("invalid %s parameter value %ld > %ld", name, v, p->max);
}

static void conf_check_time_bounds(const PARAM_DEF *p, const char *name, long v)
{
    if (p && (p->flags & PF_BMIN) && v < p->min)
	msg_fatal("invalid %s: %ld (min %ld)", name, v, p->min);
    if (p && (p->flags & PF_BMAX) && v > p->max)
	msg_fatal("invalid %s: %ld (max %ld)", name, v, p->max);
}

long    mail_conf_int(const char *name)
{
    const char *v = mail_conf_str(name);
    char   *end;
    long    n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (*v == 0 || *end || errno || n < INT_MIN || n > INT_MAX)
	msg_fatal("bad numerical configuration: %s = %s", name, v);
    conf_check_int_bounds(mail_param_find(name), name, n);
    return (n);
}

int     mail_conf_bool(const char *name)
{
    const char *v = mail_conf_str(name);
    int     b;

    if (conf_parse_bool(v, &b) < 0)
	msg_fatal("bad boolean configuration: %s = %s", name, v);
    return (b);
}

long    mail_conf_time(const char *name)
{
    const char *v = mail_conf_str(name);
    const PARAM_DEF *p = mail_param_find(name);
    long    n;

    if (conf_parse_time(v, p ? p->unit : "s", &n) < 0)
	msg_fatal("parameter %s: bad time value or unit: %s", name, v);
    conf_check_time_bounds(p, name, n);
    return (n);
}
