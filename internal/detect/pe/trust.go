package pe

// TrustChecker asks the operating system whether a file's Authenticode
// signature chains to a root it trusts. Implementations must be safe for
// concurrent use and must not prompt or fetch anything from the network.
type TrustChecker interface {
	// CheckTrust checks the file at path, a path on the scanning machine.
	CheckTrust(path string) Verdict
}

// Verdict is an operating system's answer about a file's signature chain.
type Verdict struct {
	// Checked is false when no check ran; Reason then says why.
	Checked bool
	Trusted bool
	// Reason explains a verdict that is not "trusted": "untrusted root",
	// "expired", "explicitly distrusted", or why no check ran.
	Reason string
}

// String is the verdict as the enricher's detail text says it.
func (v Verdict) String() string {
	switch {
	case !v.Checked && v.Reason == "":
		return "chain not checked"
	case !v.Checked:
		return "chain not checked: " + v.Reason
	case v.Trusted:
		return "chain trusted by Windows"
	case v.Reason == "":
		return "chain not trusted by Windows"
	}
	return "chain not trusted by Windows: " + v.Reason
}

// OSTrust returns this operating system's trust checker: WinVerifyTrust on
// Windows, nil elsewhere (chains are then not checked).
func OSTrust() TrustChecker { return osTrust() }
