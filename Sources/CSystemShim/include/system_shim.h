#ifndef MAILKEEP_SYSTEM_SHIM_H
#define MAILKEEP_SYSTEM_SHIM_H
/* Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module lacks. */

/* rename(2) that fails with EEXIST instead of replacing the target. */
int mk_rename_noreplace(const char *from, const char *to);
/* syncfs(2): flush the file system that holds fd. */
int mk_syncfs(int fd);
#endif
