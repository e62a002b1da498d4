#ifndef MAILKEEP_CZLIB_SHIM_H
#define MAILKEEP_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros, which Swift cannot call. */
static inline int mk_deflateInit2(z_streamp strm, int level, int method, int windowBits,
                                  int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
static inline int mk_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
