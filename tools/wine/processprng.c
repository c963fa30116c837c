/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Go's runtime (Go 1.22 and later) loads
 * ProcessPrng from bcryptprimitives.dll at start and dies without it ("fatal error:
 * bcryptprimitives.dll not found"). Windows 10 and later ship the DLL; Wine gained it only
 * in a later release. This one exports ProcessPrng on top of RtlGenRandom, which advapi32
 * exports as SystemFunction036 and Wine implements. Built by scripts/test-windows.sh with
 * Debian's mingw-w64 and copied into the test Wine prefix only: never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills data with len random bytes and, as on Windows, always succeeds:
 * Go's runtime treats a failure as fatal anyway. RtlGenRandom takes a ULONG length, so
 * a larger request is served in pieces. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
