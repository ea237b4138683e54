package securitycenter

import "fmt"

// Scanner is the product (scanner) state nibble of a productState.
type Scanner uint8

// Scanner states, mirroring WSC_SECURITY_PRODUCT_STATE.
const (
	ScannerOff     Scanner = 0x0
	ScannerOn      Scanner = 0x1
	ScannerSnoozed Scanner = 0x2
	ScannerExpired Scanner = 0x3
)

func (s Scanner) String() string {
	switch s {
	case ScannerOff:
		return "disabled"
	case ScannerOn:
		return "enabled"
	case ScannerSnoozed:
		return "snoozed"
	case ScannerExpired:
		return "expired"
	}
	return fmt.Sprintf("scanner state %#x", uint8(s))
}

// Security provider flags of the productState's high byte
// (WSC_SECURITY_PROVIDER).
const (
	ProviderFirewall         = 0x01
	ProviderAutoUpdate       = 0x02
	ProviderAntivirus        = 0x04
	ProviderAntispyware      = 0x08
	ProviderInternetSettings = 0x10
	ProviderUAC              = 0x20
	ProviderService          = 0x40
)

// Definition status values of the productState's 0xF0 nibble.
const (
	DefinitionsUpToDate  = 0x00
	DefinitionsOutOfDate = 0x10
)

// State is a decoded productState. Microsoft never documented the value;
// the layout is the community's reading of it (fingerprints.md §3):
//
//	0xFF0000  security provider flags (0x04 antivirus, 0x02 auto-update, …)
//	0x00F000  scanner: 0x0000 off, 0x1000 on, 0x2000 snoozed, 0x3000 expired
//	0x000F00  owner: 0x100 Microsoft, 0x000 third party
//	0x0000F0  definitions: 0x00 up to date, 0x10 out of date
type State struct {
	Raw         uint32
	Providers   uint8
	Scanner     Scanner
	Microsoft   bool
	Definitions uint8 // DefinitionsUpToDate, DefinitionsOutOfDate or another value
}

// Decode splits a productState into its fields.
func Decode(productState uint32) State {
	return State{
		Raw:         productState,
		Providers:   uint8(productState >> 16),
		Scanner:     Scanner(productState >> 12 & 0xF),
		Microsoft:   productState&0x0F00 == 0x0100,
		Definitions: uint8(productState & 0xF0),
	}
}

// Enabled reports whether real-time protection is on.
func (s State) Enabled() bool { return s.Scanner == ScannerOn }

// UpToDate reports whether the definitions are current.
func (s State) UpToDate() bool { return s.Definitions == DefinitionsUpToDate }

// String says the state as a person would: "enabled, definitions up to
// date".
func (s State) String() string {
	defs := fmt.Sprintf("definitions state %#02x", s.Definitions)
	switch s.Definitions {
	case DefinitionsUpToDate:
		defs = "definitions up to date"
	case DefinitionsOutOfDate:
		defs = "definitions out of date"
	}
	return s.Scanner.String() + ", " + defs
}
