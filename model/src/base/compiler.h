/* compiler.h -- hints for the hot paths: branch expectations and inlining.
 *
 * GCC and Clang spell them as builtins and attributes; other compilers get
 * the plain expression, so the hints never change what the code does. */
#ifndef MMUSIM_BASE_COMPILER_H
#define MMUSIM_BASE_COMPILER_H

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EXPECT(x, v) __builtin_expect((x), (v))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define EXPECT(x, v) (x)
#define NOINLINE
#define ALWAYS_INLINE inline
#endif

#endif
