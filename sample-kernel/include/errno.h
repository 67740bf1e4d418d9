/* errno.h - kernel error codes: functions return 0 or one of these, negated. */
#ifndef KERNEL_ERRNO_H
#define KERNEL_ERRNO_H

#define ENOENT  2
#define ESRCH   3
#define EINTR   4
#define EIO     5
#define ENOEXEC 8
#define ECHILD  10
#define EAGAIN  11
#define ENOMEM  12
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define ENODEV  19
#define EINVAL  22
#define ENOSPC  28
#define ENOSYS  38

#endif
