/* mail_trigger - wake up a service; see mail_trigger.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mail_trigger.h"

int     mail_trigger(const char *path, const char *request)
{
    struct stat st;
    size_t  len = strlen(request);
    int     fd, ret = -1;

    if (stat(path, &st) < 0)
	return (-1);
    if (S_ISFIFO(st.st_mode)) {
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
	    return (-1);
	ret = (write(fd, request, len) == (ssize_t) len) ? 0 : -1;
	(void) close(fd);
	return (ret);
    } else {
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
	    errno = ENAMETOOLONG;
	    return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	    return (-1);
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0
	    && write(fd, request, len) == (ssize_t) len)
	    ret = 0;
	(void) close(fd);
	return (ret);
    }
}
