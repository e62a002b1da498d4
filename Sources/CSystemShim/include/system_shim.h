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


#include <stddef.h>
/* memmem(3), a GNU extension: the fast substring search the mail scanners are built on. */
void *mk_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
#endif
