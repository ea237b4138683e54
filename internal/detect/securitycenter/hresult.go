package securitycenter

import (
	"errors"
	"strings"
)

// wbemEInvalidNamespace is WBEM_E_INVALID_NAMESPACE, what connecting to
// root\SecurityCenter2 returns where Security Center does not exist.
const wbemEInvalidNamespace = 0x8004100E

// isInvalidNamespace reports whether a WMI error says the namespace does
// not exist. It looks, without importing the COM packages, at the HRESULT
// of go-ole's OleError (Code) and at the SCODE of the EXCEPINFO that
// IDispatch failures carry (SubError), where ConnectServer puts it, and
// finally at the message.
func isInvalidNamespace(err error) bool {
	if err == nil {
		return false
	}
	if hasCode(err, 0) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "0x8004100e") || strings.Contains(msg, "invalid namespace")
}

func hasCode(err error, depth int) bool {
	type coded interface{ Code() uintptr }
	type scoded interface{ SCODE() uint32 }
	type wrapped interface{ SubError() error }
	for e := err; e != nil && depth < 16; depth++ {
		if c, ok := e.(coded); ok && uint32(c.Code()) == wbemEInvalidNamespace {
			return true
		}
		if c, ok := e.(scoded); ok && c.SCODE() == wbemEInvalidNamespace {
			return true
		}
		if w, ok := e.(wrapped); ok && w.SubError() != nil && hasCode(w.SubError(), depth+1) {
			return true
		}
		e = errors.Unwrap(e)
	}
	return false
}
