package pe

import "fmt"

// trustReason names the HRESULTs WinVerifyTrust returns. It lives in an
// untagged file so its table is tested everywhere.
func trustReason(code uint32) string {
	switch code {
	case 0x800B0100:
		return "no signature"
	case 0x800B0109:
		return "untrusted root"
	case 0x800B010A:
		return "incomplete chain"
	case 0x800B0101:
		return "certificate expired"
	case 0x800B010C:
		return "certificate revoked"
	case 0x800B0111:
		return "explicitly distrusted"
	case 0x800B0004:
		return "subject not trusted"
	case 0x80096010:
		return "bad digest"
	case 0x80096011:
		return "malformed signature"
	case 0x80096004:
		return "bad certificate signature"
	case 0x80096019:
		return "bad basic constraints"
	case 0x800B0003:
		return "unknown subject form"
	case 0x800B0110:
		return "wrong certificate purpose"
	}
	return fmt.Sprintf("error %#08x", code)
}
