/* bcryptprimitives.dll for running Windows test binaries under Wine 8, which
 * does not have it: Rust's std (since 1.78) gets its randomness from
 * ProcessPrng there and refuses to start without it. This forwards
 * ProcessPrng to advapi32's RtlGenRandom (SystemFunction036), which Wine has.
 * `cargo xtask ci` builds it with MinGW-w64 next to the test binaries; it is
 * never part of the library. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
