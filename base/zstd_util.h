// Owner types for zstd contexts (one unique_ptr alias per handle).
#ifndef ARCA_BASE_ZSTD_UTIL_H_
#define ARCA_BASE_ZSTD_UTIL_H_

#include <zstd.h>

#include <memory>

#include "base/openssl_util.h"  // OpenSslDeleter is a generic function-deleter

namespace arca {

using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, OpenSslDeleter<ZSTD_freeCCtx>>;
using ZstdDCtxPtr = std::unique_ptr<ZSTD_DCtx, OpenSslDeleter<ZSTD_freeDCtx>>;

}  // namespace arca

#endif  // ARCA_BASE_ZSTD_UTIL_H_
