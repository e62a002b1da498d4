#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "system_shim.h"

int mk_rename_noreplace(const char *from, const char *to) {
#ifdef RENAME_NOREPLACE
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int mk_open_unnamed(int dirfd) {
#ifdef O_TMPFILE
    return openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#else
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int mk_link_unnamed(int fd, int dirfd, const char *name) {
    /* AT_EMPTY_PATH names the file by its descriptor, but only with CAP_DAC_READ_SEARCH
     * (ENOENT otherwise); /proc/self/fd works for everyone. Once refused, go there directly. */
    static int refused;
    if (!__atomic_load_n(&refused, __ATOMIC_RELAXED)) {
        if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0;
        if (errno != ENOENT && errno != EPERM) return -1;
        __atomic_store_n(&refused, 1, __ATOMIC_RELAXED);
    }
    char path[40];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
}

int mk_syncfs(int fd) {
    return syncfs(fd);
}

void *mk_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

int mk_lock_file(int fd, int exclusive) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = exclusive ? F_WRLCK : F_RDLCK;
    lock.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return 0;
    if (errno != EINVAL) return -1;
#endif
    return fcntl(fd, F_SETLK, &lock);
}

int mk_lock_holder(int fd, int exclusive) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = exclusive ? F_WRLCK : F_RDLCK;
    lock.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &lock) != 0 || lock.l_type == F_UNLCK || lock.l_pid <= 0) return 0;
    return lock.l_pid;
}

#define MK_GUARDS 4096
struct mk_guard { char *volatile dotlock; volatile int fd; volatile long long keep; };
static struct mk_guard mk_guards[MK_GUARDS];
static volatile sig_atomic_t mk_guards_installed;

static void mk_undo_guards(int sig) {
    for (int i = 0; i < MK_GUARDS; i++) {
        if (mk_guards[i].fd >= 0 && mk_guards[i].keep >= 0) (void)ftruncate(mk_guards[i].fd, (off_t)mk_guards[i].keep);
        if (mk_guards[i].dotlock) unlink(mk_guards[i].dotlock);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int mk_guard_mailbox(const char *dotlock, int fd, long long keep) {
    if (!mk_guards_installed) {
        for (int i = 0; i < MK_GUARDS; i++) mk_guards[i].fd = -1;
        mk_guards_installed = 1;
        int signals[] = { SIGINT, SIGTERM, SIGHUP };
        for (int i = 0; i < 3; i++) {
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = mk_undo_guards;
            sigfillset(&action.sa_mask);
            sigaction(signals[i], &action, NULL);
        }
    }
    for (int i = 0; i < MK_GUARDS; i++) {
        if (mk_guards[i].fd < 0 && !mk_guards[i].dotlock) {
            mk_guards[i].keep = keep;
            mk_guards[i].dotlock = dotlock ? strdup(dotlock) : NULL;
            mk_guards[i].fd = fd;
            return i;
        }
    }
    return -1;
}

void mk_guard_keep(int slot, long long keep) {
    if (slot >= 0 && slot < MK_GUARDS) mk_guards[slot].keep = keep;
}

void mk_unguard_mailbox(int slot) {
    if (slot < 0 || slot >= MK_GUARDS) return;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    char *dotlock = mk_guards[slot].dotlock;
    mk_guards[slot].fd = -1;
    mk_guards[slot].dotlock = NULL;
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(dotlock);
}
