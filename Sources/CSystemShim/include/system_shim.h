#ifndef MAILKEEP_SYSTEM_SHIM_H
#define MAILKEEP_SYSTEM_SHIM_H
/* Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module lacks. */

/* rename(2) that fails with EEXIST instead of replacing the target. */
int mk_rename_noreplace(const char *from, const char *to);
/* syncfs(2): flush the file system that holds fd. */
int mk_syncfs(int fd);
/* A new private (0600) file without a name in the directory dirfd (O_TMPFILE), open for
 * writing; -1 with EOPNOTSUPP, EISDIR or EINVAL where the file system or kernel has none. */
int mk_open_unnamed(int dirfd);
/* Gives the unnamed file fd the name `name` in dirfd; fails with EEXIST instead of replacing. */
int mk_link_unnamed(int fd, int dirfd, const char *name);

/* Locks the whole file fd with an fcntl record lock, shared (exclusive = 0) or exclusive,
 * without waiting: 0, or -1 with EAGAIN/EACCES while another process holds a conflicting lock.
 * Open file description locks (F_OFD_SETLK) where the kernel has them, so closing another
 * descriptor of the same file does not drop the lock; they conflict with the classic F_SETLK
 * locks that Dovecot, mutt, procmail and Python's mailbox take. Classic locks otherwise. */
int mk_lock_file(int fd, int exclusive);
/* The pid of a process holding a lock that conflicts with `exclusive`, 0 if none or unknown
 * (an OFD lock reports -1, which this maps to 0). */
int mk_lock_holder(int fd, int exclusive);

/* Held mailbox locks, undone by SIGINT, SIGTERM and SIGHUP before the signal takes its usual
 * course: the mailbox is cut back to `keep` bytes (the end of the last whole message appended)
 * and the dot-lock file removed, as the program would have done itself. Returns a slot for the
 * calls below, or -1 when the table is full (the lock then just lacks this cleanup). */
int mk_guard_mailbox(const char *dotlock, int fd, long long keep);
void mk_guard_keep(int slot, long long keep);
void mk_unguard_mailbox(int slot);

#include <stddef.h>
/* memmem(3), a GNU extension: the fast substring search the mail scanners are built on. */
void *mk_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
#endif
