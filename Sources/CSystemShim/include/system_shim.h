#ifndef MAILKEEP_SYSTEM_SHIM_H
#define MAILKEEP_SYSTEM_SHIM_H
/* Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module lacks. */

/* rename(2) that fails with EEXIST instead of replacing the target. */
int mk_rename_noreplace(const char *from, const char *to);
/* syncfs(2): flush the file system that holds fd. */
int mk_syncfs(int fd);


#include <stddef.h>
/* memmem(3), a GNU extension: the fast substring search the mail scanners are built on. */
void *mk_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
#endif
