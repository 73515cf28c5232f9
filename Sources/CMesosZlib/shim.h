#ifndef C_MESOS_ZLIB_SHIM_H
#define C_MESOS_ZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 is a macro; Swift cannot call it.
static inline int c_mesos_deflate_init_gzip(z_streamp stream, int level) {
    // windowBits 15 + 16: a gzip wrapper; zlib writes mtime 0 and no file name, so output depends only on the input.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
