/*
 * Unit tests for src/global/qcommit: both commit paths (io_uring and the
 * thread fallback) report every file, in the order added, with err = 0
 * when the file and its directory were fsynced, and with the errno of a
 * failed file fsync or of a missing directory; files added while a round
 * runs go in a later round. Each path runs in its own child process
 * (qcommit_init is once per process).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "qcommit.h"

#define NJOBS	8

static int done_order[NJOBS];
static int done_err[NJOBS];
static int ndone;
static struct event_base *base;
static int late_fd[2] = {-1, -1};

static void done(void *context, int err)
{
    int     i = (int) (long) context;

    done_order[ndone] = i;
    done_err[i] = err;
    ndone++;
    if (ndone == 3) {
	/* Added from a callback: a later round. */
	qcommit_add(late_fd[0], "incoming", done, (void *) 6L);
	qcommit_add(late_fd[1], "incoming", done, (void *) 7L);
    }
    if (ndone == NJOBS)
	event_base_loopbreak(base);
}

static int open_file(const char *path)
{
    int     fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || write(fd, "data\n", 5) != 5)
	_exit(10);
    return (fd);
}

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); _exit(1); } } while (0)

/*
 * Start a scenario in a fresh directory DIR (a mkdtemp template): the
 * commit path, the directories to make (NULL-terminated), the event loop.
 */
static void start(int use_threads, char *dir, const char *const *dirs)
{
    if (use_threads)
	setenv("POSTERN_QCOMMIT_THREADS", "1", 1);
    else
	unsetenv("POSTERN_QCOMMIT_THREADS");
    CHECK(mkdtemp(dir) != 0);
    CHECK(chdir(dir) == 0);
    for (; dirs && *dirs; dirs++)
	CHECK(mkdir(*dirs, 0700) == 0);
    base = event_base_new();
    CHECK(base != 0);
    qcommit_init(base, 1);
}

/* The child: one commit path, the whole scenario. */
static void scenario(int use_threads)
{
    char    dir[] = "/tmp/test_qcommit.XXXXXX";
    int     fds[6];
    int     pipefd[2];
    struct timeval limit = {20, 0};

    static const char *const dirs[] = {"incoming", "hold", 0};

    CHECK(pipe(pipefd) == 0);
    start(use_threads, dir, dirs);
    fds[0] = open_file("incoming/a");
    fds[1] = open_file("incoming/b");
    fds[2] = open_file("hold/c");
    fds[3] = pipefd[0];			/* fsync fails: EINVAL */
    fds[4] = open_file("incoming/d");
    fds[5] = open_file("incoming/e");
    late_fd[0] = open_file("incoming/f");
    late_fd[1] = open_file("incoming/g");
    qcommit_add(fds[0], "incoming", done, (void *) 0L);
    qcommit_add(fds[1], "incoming", done, (void *) 1L);
    qcommit_add(fds[2], "hold", done, (void *) 2L);
    qcommit_add(fds[3], "incoming", done, (void *) 3L);
    qcommit_add(fds[4], "no-such-dir", done, (void *) 4L);
    qcommit_add(fds[5], "incoming", done, (void *) 5L);
    CHECK(event_base_loopexit(base, &limit) == 0);
    (void) event_base_dispatch(base);
    CHECK(ndone == NJOBS);
    for (int i = 0; i < NJOBS; i++)
	CHECK(done_order[i] == i);
    CHECK(done_err[0] == 0 && done_err[1] == 0 && done_err[2] == 0);
    CHECK(done_err[3] == EINVAL);
    CHECK(done_err[4] == ENOENT);
    CHECK(done_err[5] == 0 && done_err[6] == 0 && done_err[7] == 0);
    (void) unlink("incoming/a");
    (void) unlink("incoming/b");
    (void) unlink("hold/c");
    (void) unlink("incoming/d");
    (void) unlink("incoming/e");
    (void) unlink("incoming/f");
    (void) unlink("incoming/g");
    (void) rmdir("incoming");
    (void) rmdir("hold");
    (void) chdir("/");
    (void) rmdir(dir);
    _exit(0);
}

/*
 * A round with more distinct directories than the io_uring path keeps
 * open (hashed incoming/ has up to 256): every file is still committed,
 * none fails for it.
 */
#define MANY_DIRS	40

static int many_done, many_failed;

static void many_cb(void *context, int err)
{
    if (err)
	many_failed++;
    if (++many_done == MANY_DIRS)
	event_base_loopbreak(base);
}

static void scenario_many_dirs(int use_threads)
{
    char    dir[] = "/tmp/test_qcommit.XXXXXX";
    char    path[64];
    int     fd;
    struct timeval limit = {20, 0};

    start(use_threads, dir, 0);
    for (int i = 0; i < MANY_DIRS; i++) {
	(void) snprintf(path, sizeof(path), "d%02d", i);
	CHECK(mkdir(path, 0700) == 0);
	(void) snprintf(path, sizeof(path), "d%02d/f", i);
	fd = open_file(path);
	(void) snprintf(path, sizeof(path), "d%02d", i);
	qcommit_add(fd, path, many_cb, 0);	/* dir is copied */
    }
    CHECK(event_base_loopexit(base, &limit) == 0);
    (void) event_base_dispatch(base);
    CHECK(many_done == MANY_DIRS);
    CHECK(many_failed == 0);
    for (int i = 0; i < MANY_DIRS; i++) {
	(void) snprintf(path, sizeof(path), "d%02d/f", i);
	(void) unlink(path);
	(void) snprintf(path, sizeof(path), "d%02d", i);
	(void) rmdir(path);
    }
    (void) chdir("/");
    (void) rmdir(dir);
    _exit(0);
}

/*
 * incoming/ replaced (renamed away, made again) between two commits: the
 * second one fsyncs the new directory; no descriptor of the old one is
 * kept.
 */
static int one_err = -1;

static void one_cb(void *context, int err)
{
    one_err = err;
    event_base_loopbreak(base);
}

static int holds_dir(const char *suffix)
{
    char    path[64], target[4096];
    ssize_t n;

    for (int fd = 0; fd < 1024; fd++) {
	(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
	    continue;
	target[n] = 0;
	if (n >= (ssize_t) strlen(suffix) && strcmp(target + n - strlen(suffix), suffix) == 0)
	    return (1);
    }
    return (0);
}

static void scenario_replaced_dir(int use_threads)
{
    char    dir[] = "/tmp/test_qcommit.XXXXXX";
    struct timeval limit = {20, 0};

    static const char *const dirs[] = {"incoming", 0};

    start(use_threads, dir, dirs);
    qcommit_add(open_file("incoming/a"), "incoming", one_cb, 0);
    CHECK(event_base_loopexit(base, &limit) == 0);
    (void) event_base_dispatch(base);
    CHECK(one_err == 0);
    CHECK(rename("incoming", "old") == 0);
    CHECK(mkdir("incoming", 0700) == 0);
    one_err = -1;
    qcommit_add(open_file("incoming/b"), "incoming", one_cb, 0);
    CHECK(event_base_loopexit(base, &limit) == 0);
    (void) event_base_dispatch(base);
    CHECK(one_err == 0);
    CHECK(!holds_dir("/old"));
    (void) unlink("old/a");
    (void) unlink("incoming/b");
    (void) rmdir("old");
    (void) rmdir("incoming");
    (void) chdir("/");
    (void) rmdir(dir);
    _exit(0);
}

static void run_child_fn(void (*fn) (int), int use_threads)
{
    pid_t   pid = fork();
    int     status;

    assert_true(pid >= 0);
    if (pid == 0)
	fn(use_threads);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void run_child(int use_threads)
{
    pid_t   pid = fork();
    int     status;

    assert_true(pid >= 0);
    if (pid == 0)
	scenario(use_threads);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_default_path(void **unused)
{
    run_child(0);
}

static void test_thread_path(void **unused)
{
    run_child(1);
}

static void test_many_dirs_default_path(void **unused)
{
    run_child_fn(scenario_many_dirs, 0);
}

static void test_many_dirs_thread_path(void **unused)
{
    run_child_fn(scenario_many_dirs, 1);
}

static void test_replaced_dir_default_path(void **unused)
{
    run_child_fn(scenario_replaced_dir, 0);
}

static void test_replaced_dir_thread_path(void **unused)
{
    run_child_fn(scenario_replaced_dir, 1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_default_path),
	cmocka_unit_test(test_thread_path),
	cmocka_unit_test(test_many_dirs_default_path),
	cmocka_unit_test(test_many_dirs_thread_path),
	cmocka_unit_test(test_replaced_dir_default_path),
	cmocka_unit_test(test_replaced_dir_thread_path),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
