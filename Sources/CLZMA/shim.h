#ifndef MAILKEEP_CLZMA_SHIM_H
#define MAILKEEP_CLZMA_SHIM_H
#include <lzma.h>

/* liblzma's flag and initializer macros do not import into Swift. */
static const uint32_t mk_LZMA_CONCATENATED = LZMA_CONCATENATED;
static const uint32_t mk_LZMA_TELL_UNSUPPORTED_CHECK = LZMA_TELL_UNSUPPORTED_CHECK;
static const uint32_t mk_LZMA_TELL_ANY_CHECK = LZMA_TELL_ANY_CHECK;
static const uint32_t mk_LZMA_IGNORE_CHECK = LZMA_IGNORE_CHECK;
static const uint32_t mk_LZMA_FAIL_FAST = LZMA_FAIL_FAST;
static const uint32_t mk_LZMA_PRESET_EXTREME = LZMA_PRESET_EXTREME;
static const uint64_t mk_LZMA_VLI_UNKNOWN = LZMA_VLI_UNKNOWN;

static inline lzma_stream mk_lzma_stream_init(void) {
    lzma_stream s = LZMA_STREAM_INIT;
    return s;
}
#endif
