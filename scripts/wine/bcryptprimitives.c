/*
 * Test-only shim: Wine 8.0 (Debian 12) has no bcryptprimitives.dll, whose
 * ProcessPrng the Go runtime (>= 1.22) loads at start-up, so every Go
 * Windows binary dies under it. This DLL exports ProcessPrng and fills the
 * buffer through advapi32's RtlGenRandom (SystemFunction036).
 *
 * Built by scripts/wine-prefix.sh with mingw-w64 into a Wine prefix for
 * tests. It is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	const SIZE_T chunk = 0x10000000; /* RtlGenRandom takes a 32-bit length */
	while (len > 0) {
		ULONG n = (ULONG)(len < chunk ? len : chunk);
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
