#define _GNU_SOURCE
#include "strata_support.h"
#include <errno.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/sendfile.h>
#endif

int strata_copy_file_range(int in_fd, int out_fd, size_t length) {
    size_t left = length;
#if defined(__linux__)
    // In the kernel: no copies through user space, reflinks where the file system has them.
    while (left > 0) {
        ssize_t n = copy_file_range(in_fd, NULL, out_fd, NULL, left, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        left -= (size_t)n;
    }
    while (left > 0) {
        ssize_t n = sendfile(out_fd, in_fd, NULL, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        left -= (size_t)n;
    }
#endif
    char buf[1 << 16];
    while (left > 0) {
        ssize_t n = read(in_fd, buf, left < sizeof buf ? left : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return -1;
            off += w;
        }
        left -= (size_t)n;
    }
    return 0;
}
