#!/bin/sh
# tools/install.sh - install postern with Postfix's paths (run by `make install`).
#
#   PREFIX (default /usr), DESTDIR (default empty), BUILD (default build)
#
# Commands go to $PREFIX/sbin (newaliases and mailq also to $PREFIX/bin),
# daemons (master, smtpd, qmgr, ...) to $PREFIX/libexec/postern (postern's
# daemon_directory), main.cf and master.cf to /etc/postfix (never
# overwritten), the queue to /var/spool/postfix, data to /var/lib/postfix,
# and /etc/aliases is created when missing. Installed as root without
# DESTDIR, ownerships and the setgid bits follow Postfix's (mail_owner
# postfix, setgid_group postdrop) when those accounts exist.
set -eu
PREFIX=${PREFIX:-/usr}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/$BUILD/bin
case $BUILD in /*) bin=$BUILD/bin ;; esac

COMMANDS="postfix postconf postmap postalias postsuper postqueue postdrop postcat
  postlog postkick postlock postmulti sendmail qshape"
is_command() {
    for c in $COMMANDS; do [ "$c" = "$1" ] && return 0; done
    return 1
}

sbin=$DESTDIR$PREFIX/sbin
ubin=$DESTDIR$PREFIX/bin
libexec=$DESTDIR$PREFIX/libexec/postern
etc=$DESTDIR/etc/postfix
spool=$DESTDIR/var/spool/postfix
data=$DESTDIR/var/lib/postfix
install -d -m 755 "$sbin" "$ubin" "$libexec" "$etc" "$spool"
install -d -m 700 "$data"

for f in "$bin"/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    name=$(basename "$f")
    if is_command "$name"; then
        install -m 755 "$f" "$sbin/$name"
    else
        install -m 755 "$f" "$libexec/$name"
    fi
done
if [ -f "$sbin/sendmail" ]; then
    ln -sf ../sbin/sendmail "$ubin/newaliases"
    ln -sf ../sbin/sendmail "$ubin/mailq"
fi
[ -f "$etc/main.cf" ] || install -m 644 "$top/conf/main.cf" "$etc/main.cf"
[ -f "$etc/master.cf" ] || install -m 644 "$top/conf/master.cf" "$etc/master.cf"
[ -f "$DESTDIR/etc/aliases" ] || printf 'postmaster: root\n' > "$DESTDIR/etc/aliases"

if [ "$(id -u)" -eq 0 ] && [ -z "$DESTDIR" ] \
   && getent passwd postfix >/dev/null && getent group postdrop >/dev/null; then
    chown postfix "$data"
    "$sbin/postfix" set-permissions
fi
echo "postern installed: commands in $sbin, daemons in $libexec, configuration in $etc"
