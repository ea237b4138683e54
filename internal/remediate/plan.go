// Package remediate turns a scan report into a removal plan: for each
// restricted product found, the exact commands that remove it (derived
// from the evidence the scan recorded — MSI product codes, uninstall
// commands, package names, launchd jobs), the obstacles the catalog
// knows of, what is left to delete afterwards, and whether another
// antivirus will still protect the host.
//
// Planning is pure: it reads a report and the catalog (and, through a
// function it is given, which files exist on the target) and never runs
// anything. It exists apart from the scan because the scan only observes
// and judges, and apart from the CLI because `remediate --plan` on a
// mounted image and `remediate --execute` on the live host must plan
// alike. It never plans anything for a product the report does not mark
// restricted, and it never builds a shell command: every command is an
// argv, and evidence that would only make sense to a shell is refused
// with the reason.
package remediate

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// Actions of a step.
const (
	ActionMSI           = "msi-uninstall"     // msiexec /x {product code}
	ActionUninstall     = "uninstall-command" // the uninstall entry's own command
	ActionPackages      = "remove-packages"   // the package manager
	ActionUninstaller   = "run-uninstaller"   // the product's own uninstall program (macOS)
	ActionBootout       = "unload-job"        // launchctl bootout
	ActionForgetReceipt = "forget-receipt"    // pkgutil --forget
)

// Plan is how to remove the restricted products of one host.
type Plan struct {
	Host    string `json:"host"`
	OS      string `json:"os"`
	Verdict string `json:"verdict"` // of the report planned from
	// Products are in the order to remove them: a product the catalog
	// marks Last (Network Agent) after every other.
	Products []ProductPlan `json:"products"`
	// Afterwards are the leftovers the products share (their vendor's
	// common folders and keys): deleted once, after the last product —
	// Network Agent among them — is removed, since until then another
	// product may still use them.
	Afterwards []Leftover `json:"afterwards,omitempty"`
	// Protection says whether another antivirus will protect the host
	// once the products are removed; nil (absent) when nothing is to be
	// removed, rather than a "protected": false that reads as a warning.
	Protection *Protection `json:"protection,omitempty"`
	// Sources are the catalog's references for every citation key in
	// the plan.
	Sources map[string]string `json:"sources,omitempty"`
}

// ProductPlan is how to remove one product.
type ProductPlan struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
	// Last is true when the product goes after every other (the catalog
	// says so: a management agent).
	Last      bool       `json:"last,omitempty"`
	Steps     []Step     `json:"steps"`
	Obstacles []Obstacle `json:"obstacles,omitempty"`
	// Leftovers are folders, files and registry keys of this product
	// alone to delete once the steps have run.
	Leftovers []Leftover `json:"leftovers,omitempty"`
	// Rejected is evidence that held a command the plan will not run,
	// and why.
	Rejected []Rejected `json:"rejected,omitempty"`
	// Manual says why no step could be derived, when none was, for an
	// installed or active product.
	Manual string `json:"manual,omitempty"`
}

// Step is one command of a plan.
type Step struct {
	Action string   `json:"action"`
	Argv   []string `json:"argv"`
	// From is where the command comes from: the evidence's location (an
	// uninstall key, a package database), or "catalog".
	From string `json:"from"`
	// Properties are Windows Installer properties an obstacle may
	// require the administrator to add ("KLLOGIN=<value>"): named, never
	// filled in.
	Properties []string `json:"properties_if_protected,omitempty"`
	Note       string   `json:"note,omitempty"`
	// MayFail is true for a step whose failure is expected and harmless
	// (unloading a job the uninstaller already unloaded): the run goes
	// on past it.
	MayFail bool `json:"may_fail,omitempty"`
	// Interactive is true for an uninstall program with no recorded
	// quiet form: it may show a window and wait for answers, so an
	// unattended run does not start it.
	Interactive bool `json:"interactive,omitempty"`
}

// Obstacle is a catalogued obstacle to removing a product.
type Obstacle struct {
	ID         string   `json:"id"`
	Summary    string   `json:"summary"`
	Action     string   `json:"action"`
	Properties []string `json:"properties,omitempty"`
	Tool       string   `json:"tool,omitempty"`
	Sources    []string `json:"sources"`
}

// Leftover is something to delete after the uninstall.
type Leftover struct {
	Kind string `json:"kind"` // "path" or "key"
	Path string `json:"path"`
	// Present: "yes" (seen on the host), or "unknown" (not checked).
	Present string `json:"present"`
}

// Rejected is evidence whose command will not be run.
type Rejected struct {
	Evidence string `json:"evidence"` // its location
	Reason   string `json:"reason"`
}

// Protection says what protects the host after the removal.
type Protection struct {
	// Protected is true when another, unrestricted antivirus, EDR or
	// security suite is active on the host.
	Protected bool     `json:"protected"`
	By        []string `json:"by,omitempty"`
	// Warning is set when nothing else will protect the host; Fallback
	// names what the OS brings of its own, when it brings anything.
	Warning  string            `json:"warning,omitempty"`
	Fallback *catalog.Fallback `json:"fallback,omitempty"`
}

// DefaultLogDir is where msiexec writes its verbose logs: a folder of
// the agent's own, private to SYSTEM and Administrators — not a shared
// temporary folder, where a user could create the log file (to read
// what SYSTEM writes) or a folder of that name (to make msiexec fail)
// before the step runs.
const DefaultLogDir = `C:\ProgramData\avscout\remediate`

// Options tune planning.
type Options struct {
	// Exists reports whether an absolute path on the target exists;
	// known is false when that cannot be told. Nil knows nothing: every
	// catalogued path is then "unknown".
	Exists func(targetPath string) (exists, known bool)
	// LogDir is the folder (an absolute target path) msiexec writes its
	// verbose log in; [DefaultLogDir] when empty. Execution makes it, or
	// checks it, private to SYSTEM and Administrators before the step
	// runs (see [ExecOptions.PrepareLogDir]).
	LogDir string
}

// New plans the removal of the restricted products of r.
func New(r *report.Report, c *catalog.Catalog, opts Options) *Plan {
	targetOS := host.OS(r.Host.OS)
	p := &Plan{Host: r.Host.Hostname, OS: r.Host.OS, Verdict: report.VerdictOf(r), Products: []ProductPlan{}}
	cited := map[string]bool{}
	for _, prod := range r.Products {
		if !prod.Restricted {
			continue // never: only what the policy restricts is removed
		}
		rm, ok := c.RemovalOf(prod.ID, string(targetOS))
		shared, _ := c.SharedRemovalOf(prod.ID, string(targetOS))
		if !ok {
			// A build the catalog does not hold (a white-label found
			// through its technology): its technology vendor's data,
			// all of it shared.
			rm, _ = c.VendorRemoval(cmp.Or(prod.Technology, prod.Vendor), string(targetOS))
			shared = rm
		}
		pp := planProduct(prod, rm, shared, c, targetOS, opts)
		for _, l := range leftovers(prod, shared, opts) {
			i := slices.IndexFunc(p.Afterwards, func(a Leftover) bool { return a.Kind == l.Kind && strings.EqualFold(a.Path, l.Path) })
			switch {
			case i < 0:
				p.Afterwards = append(p.Afterwards, l)
			case l.Present == "yes":
				p.Afterwards[i].Present = "yes"
			}
		}
		for _, k := range rm.Sources {
			cited[k] = true
		}
		for _, o := range pp.Obstacles {
			for _, k := range o.Sources {
				cited[k] = true
			}
		}
		p.Products = append(p.Products, pp)
	}
	slices.SortStableFunc(p.Products, func(a, b ProductPlan) int {
		switch {
		case a.Last == b.Last:
			return 0
		case a.Last:
			return 1
		}
		return -1
	})
	if len(p.Products) > 0 {
		pr := protection(r, c, targetOS, cited)
		p.Protection = &pr
	}
	if len(cited) > 0 {
		p.Sources = map[string]string{}
		for k := range cited {
			p.Sources[k] = c.Sources[k]
		}
	}
	return p
}

func planProduct(prod report.Product, rm, shared catalog.Removal, c *catalog.Catalog, targetOS host.OS, opts Options) ProductPlan {
	pp := ProductPlan{ID: prod.ID, Name: prod.Name, Vendor: prod.Vendor, Version: prod.Version, State: prod.State,
		Last: rm.Last, Steps: []Step{}}
	var props []string
	for _, id := range rm.Obstacles {
		o, ok := c.Obstacle(id)
		if !ok {
			continue
		}
		pp.Obstacles = append(pp.Obstacles, Obstacle{ID: o.ID, Summary: o.Summary, Action: o.Action,
			Properties: o.Properties, Tool: o.Tool, Sources: o.Sources})
		props = append(props, o.Properties...)
	}
	switch targetOS {
	case host.Windows:
		planWindows(&pp, prod, props, opts)
	case host.Linux:
		planLinux(&pp, prod, opts)
	case host.Darwin:
		planDarwin(&pp, prod, rm, opts)
	}
	// The product's own leftovers; those it shares go in the plan's
	// Afterwards.
	own := rm
	own.Leftovers = slices.DeleteFunc(slices.Clone(rm.Leftovers), func(l string) bool { return slices.Contains(shared.Leftovers, l) })
	own.LeftoverKeys = slices.DeleteFunc(slices.Clone(rm.LeftoverKeys), func(k string) bool { return slices.Contains(shared.LeftoverKeys, k) })
	pp.Leftovers = leftovers(prod, own, opts)
	if len(pp.Steps) == 0 && prod.State != report.StateLeftover {
		pp.Manual = "no removal command could be derived from the evidence"
		if tool := toolOf(pp.Obstacles); tool != "" {
			pp.Manual += "; remove it with the vendor's removal tool (" + tool + ") or by hand"
		} else {
			pp.Manual += "; remove it by hand"
		}
	}
	return pp
}

// planWindows derives one step from each uninstall entry of the product:
// msiexec /x for a Windows Installer product, else the entry's own
// uninstall command when it is a plain program invocation.
func planWindows(pp *ProductPlan, prod report.Product, props []string, opts Options) {
	logDir := cmp.Or(opts.LogDir, DefaultLogDir)
	seen := map[string]bool{}
	for _, e := range prod.Evidence {
		if e.Source != "uninstall" || e.Kind != "app" {
			continue
		}
		// The commands come from their own fields, never out of the
		// display text (which holds a name and publisher the vendor, or
		// anyone who can write the entry, chose).
		if e.UninstallCommand == "" {
			continue // an entry without an uninstall command
		}
		if strings.HasPrefix(strings.ToUpper(e.Location), `HKU\`) {
			// A user's own hive: whoever logs on as that user can write
			// it, so its command is not run with the rights of the
			// administrator who runs the plan.
			pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location,
				Reason: "a per-user uninstall entry, which that user can write: run its uninstaller in the user's own session, not as administrator"})
			continue
		}
		argv, err := parseUninstall(e.UninstallCommand)
		if err == nil && !isMSI(argv) {
			err = onDisk(argv[0], opts)
		}
		if err != nil {
			pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "uninstall command " + err.Error()})
			continue
		}
		key := e.Location[strings.LastIndexByte(e.Location, '\\')+1:]
		if isMSI(argv) {
			code := msiProductCode(argv)
			if code == "" && isProductCode(key) {
				code = strings.ToUpper(key)
			}
			if code == "" {
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location,
					Reason: "msiexec command without a product code, and the entry is not named by one"})
				continue
			}
			if seen[code] {
				continue
			}
			seen[code] = true
			log := logDir + `\avscout-remove-` + code[1:len(code)-1] + ".log"
			pp.Steps = append(pp.Steps, Step{Action: ActionMSI,
				Argv:       []string{`C:\Windows\System32\msiexec.exe`, "/x", code, "/qn", "/norestart", "/l*v", log},
				From:       e.Location,
				Properties: props,
				Note:       "Windows Installer product " + code + "; a restart may be needed to finish",
			})
			continue
		}
		note := "the entry's own uninstall command; it may ask questions (no quiet form is recorded): run it at the console, not unattended"
		quiet := false
		// The entry's quiet form (QuietUninstallString) runs unattended:
		// preferred when it passes the same checks, else the uninstall
		// command is used and the plan says why.
		if q := e.QuietUninstallCommand; q != "" {
			qargv, err := parseUninstall(q)
			switch {
			case err != nil:
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "quiet uninstall command " + err.Error() + "; its uninstall command is used instead"})
			case isMSI(qargv):
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location,
					Reason: "quiet uninstall command runs msiexec, its uninstall command does not: not run; its uninstall command is used instead"})
			default:
				if err := onDisk(qargv[0], opts); err != nil {
					pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "quiet uninstall command " + err.Error() + "; its uninstall command is used instead"})
					break
				}
				argv = qargv
				quiet = true
				note = "the entry's quiet uninstall command (QuietUninstallString)"
			}
		}
		id := strings.ToLower(QuoteWindows(argv))
		if seen[id] {
			continue
		}
		seen[id] = true
		pp.Steps = append(pp.Steps, Step{Action: ActionUninstall, Argv: argv, From: e.Location, Note: note, Interactive: !quiet})
	}
}

// onDisk says why program prog (a canonical target path) is not run,
// when the target is known not to hold it: a user may plant a program
// where an administrator's uninstall entry points at a missing one.
func onDisk(prog string, opts Options) error {
	if opts.Exists == nil {
		return nil
	}
	if exists, known := opts.Exists(prog); known && !exists {
		return fmt.Errorf("program %s is not on the disk: %w", quoteShort(prog), errNotPlain)
	}
	return nil
}

func isMSI(argv []string) bool {
	prog := strings.ToLower(argv[0])
	base := prog[strings.LastIndexAny(prog, `\/`)+1:]
	return base == "msiexec" || base == "msiexec.exe"
}

// packageCommand is the command that removes pkgs of the package
// database the evidence source reads, purging their configuration where
// the tool can; nil for a source that is no package database. It is the
// low-level tool, which fails when another package depends on one of
// pkgs, rather than a front end (apt-get purge, dnf remove) that would
// remove the dependents too — packages that are not restricted — or
// packages it deems unneeded. The tool is named by its absolute path
// (the plan runs as root; no PATH lookup): the first of its usual
// places that exists on the target, the first when nothing can be told.
func packageCommand(source string, pkgs []string, exists func(string) (bool, bool)) []string {
	tool := func(paths ...string) string {
		for _, p := range paths {
			if ok, known := exists(p); ok || !known {
				return p
			}
		}
		return paths[0]
	}
	switch source {
	case "dpkg":
		return append([]string{tool("/usr/bin/dpkg", "/bin/dpkg"), "--purge"}, pkgs...)
	case "rpm":
		return append([]string{tool("/usr/bin/rpm", "/bin/rpm"), "-e"}, pkgs...)
	case "pacman":
		// -n: and the configuration files pacman kept (.pacsave); no
		// -s or -c, so nothing else is removed.
		return append([]string{tool("/usr/bin/pacman"), "-Rn", "--noconfirm"}, pkgs...)
	case "apk":
		return append([]string{tool("/sbin/apk", "/usr/sbin/apk", "/usr/bin/apk"), "del"}, pkgs...)
	}
	return nil
}

// packageSource reports whether the evidence source reads a Linux
// package database whose packages a plan can remove.
func packageSource(source string) bool {
	switch source {
	case "dpkg", "rpm", "pacman", "apk":
		return true
	}
	return false
}

// planLinux derives one step per package database: the product's
// packages, removed (and their configuration purged) together.
func planLinux(pp *ProductPlan, prod report.Product, opts Options) {
	bySource := map[string][]string{}
	var order []string
	from := map[string]string{}
	for _, e := range prod.Evidence {
		if e.Kind != "package" || !packageSource(e.Source) {
			continue
		}
		name, _, _ := strings.Cut(e.Value, " ")
		if !packageName(name) {
			pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "package name " + quoteShort(name) + " is not a plain package name"})
			continue
		}
		if _, ok := bySource[e.Source]; !ok {
			order = append(order, e.Source)
			from[e.Source] = e.Location
		}
		if !slices.Contains(bySource[e.Source], name) {
			bySource[e.Source] = append(bySource[e.Source], name)
		}
	}
	exists := func(p string) (bool, bool) {
		if opts.Exists == nil {
			return false, false
		}
		return opts.Exists(p)
	}
	for _, src := range order {
		pkgs := bySource[src]
		slices.Sort(pkgs)
		s := Step{Action: ActionPackages, Argv: packageCommand(src, pkgs, exists), From: from[src]}
		if src == "apk" {
			s.Note = "apk del also removes the dependencies nothing else needs"
		}
		pp.Steps = append(pp.Steps, s)
	}
}

// planDarwin runs the product's own uninstall script, when the catalog
// names one and it is there, then unloads the product's launchd daemons
// and forgets its installer receipts.
func planDarwin(pp *ProductPlan, prod report.Product, rm catalog.Removal, opts Options) {
	for _, u := range rm.Uninstallers {
		exists, known := false, false
		if opts.Exists != nil {
			exists, known = opts.Exists(u)
		}
		if known && !exists {
			continue
		}
		s := Step{Action: ActionUninstaller, Argv: []string{u}, From: "catalog"}
		if !known {
			s.Note = "if present on the host (not checked)"
		}
		pp.Steps = append(pp.Steps, s)
		break
	}
	for _, e := range prod.Evidence {
		switch {
		case e.Source == "launchd" && e.Kind == "service":
			label, _, _ := strings.Cut(e.Value, ":")
			if !reverseDNS(label) {
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "launchd label " + quoteShort(label) + " is not a plain reverse-DNS name"})
				continue
			}
			dir := path.Dir(e.Location)
			switch {
			case strings.EqualFold(dir, "Library/LaunchDaemons") || strings.EqualFold(dir, "System/Library/LaunchDaemons"):
				pp.Steps = append(pp.Steps, Step{Action: ActionBootout, Argv: []string{"launchctl", "bootout", "system/" + label}, From: e.Location,
					Note: "fails harmlessly when the uninstaller already unloaded it", MayFail: true})
			default:
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location,
					Reason: "per-user launchd agent " + label + ": unload it in each user's session (launchctl bootout gui/<uid>/" + label + ")"})
			}
		case e.Source == "receipts" && e.Kind == "package":
			id, _, _ := strings.Cut(e.Value, " ")
			if !reverseDNS(id) {
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: e.Location, Reason: "receipt id " + quoteShort(id) + " is not a plain reverse-DNS name"})
				continue
			}
			pp.Steps = append(pp.Steps, Step{Action: ActionForgetReceipt, Argv: []string{"pkgutil", "--forget", id}, From: e.Location})
		}
	}
	// A receipt is forgotten only after an uninstaller runs: forgetting
	// the record of software still on the disk would hide it.
	if !slices.ContainsFunc(pp.Steps, func(s Step) bool { return s.Action == ActionUninstaller }) {
		pp.Steps = slices.DeleteFunc(pp.Steps, func(s Step) bool {
			if s.Action == ActionForgetReceipt {
				pp.Rejected = append(pp.Rejected, Rejected{Evidence: s.From,
					Reason: "receipt " + s.Argv[len(s.Argv)-1] + " kept: no uninstaller is planned, and the receipt is the record of what is still on the disk"})
				return true
			}
			return false
		})
	}
	// Receipts go after the uninstall and the jobs.
	slices.SortStableFunc(pp.Steps, func(a, b Step) int {
		return rank(a.Action) - rank(b.Action)
	})
}

func rank(action string) int {
	switch action {
	case ActionUninstaller:
		return 0
	case ActionBootout:
		return 1
	}
	return 2
}

// leftovers lists the catalogued leftovers of the product that are (or
// may be) on the host.
func leftovers(prod report.Product, rm catalog.Removal, opts Options) []Leftover {
	var out []Leftover
	for _, p := range rm.Leftovers {
		present := "unknown"
		if opts.Exists != nil {
			exists, known := opts.Exists(p)
			switch {
			case known && !exists:
				continue
			case exists:
				present = "yes"
			}
		} else if seenPath(prod, p) {
			present = "yes"
		}
		out = append(out, Leftover{Kind: "path", Path: p, Present: present})
	}
	for _, k := range rm.LeftoverKeys {
		if seenKey(prod, k) {
			out = append(out, Leftover{Kind: "key", Path: k, Present: "yes"})
		}
	}
	return out
}

// seenPath reports whether the product's evidence shows path p (an
// absolute target path) or something beneath it.
func seenPath(prod report.Product, p string) bool {
	rel := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(p, `\`, "/"), "/"))
	if len(rel) > 2 && rel[1] == ':' {
		rel = strings.TrimPrefix(rel[2:], "/")
	}
	for _, e := range prod.Evidence {
		loc := strings.ToLower(e.Location)
		if loc == rel || strings.HasPrefix(loc, rel+"/") {
			return true
		}
	}
	return false
}

// seenKey reports whether the product's evidence shows registry key k or
// a key beneath it.
func seenKey(prod report.Product, k string) bool {
	k = strings.ToLower(k)
	for _, e := range prod.Evidence {
		loc := strings.ToLower(e.Location)
		if loc == k || strings.HasPrefix(loc, k+`\`) {
			return true
		}
	}
	return false
}

func protection(r *report.Report, c *catalog.Catalog, targetOS host.OS, cited map[string]bool) Protection {
	var pr Protection
	f, hasFallback := c.Fallbacks[string(targetOS)]
	onlyFallback := true
	for _, p := range r.Products {
		if !p.Restricted && p.State == report.StateActive && report.Protects(p.Category) && !slices.Contains(pr.By, p.Name) {
			pr.By = append(pr.By, p.Name)
			onlyFallback = onlyFallback && hasFallback && f.Product != "" && p.ID == f.Product
		}
	}
	if len(pr.By) > 0 {
		pr.Protected = true
		if onlyFallback {
			// The OS's own antivirus runs, but may be passive: beside
			// another antivirus it is, and a server with
			// ForceDefenderPassiveMode keeps it so after the removal.
			pr.Warning = "only " + f.Name + " will protect this host, and running is not active: it may be in passive mode (beside the restricted product, or by policy on a server); check it is in active mode after the removal"
			pr.Fallback = &f
			for _, k := range f.Sources {
				cited[k] = true
			}
		}
		return pr
	}
	pr.Warning = "no other active antivirus will protect this host once the restricted products are removed"
	if hasFallback {
		pr.Fallback = &f
		pr.Warning += "; the OS's own: " + f.Name
		for _, k := range f.Sources {
			cited[k] = true
		}
	} else {
		pr.Warning += ", and the OS brings none of its own: install a replacement first"
	}
	return pr
}

// packageName reports whether s is a plain package name: letters,
// digits and + . - _ , starting with a letter or digit, at most 128 bytes.
func packageName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(isLetter(c) || '0' <= c && c <= '9' || i > 0 && strings.IndexByte("+.-_", c) >= 0) {
			return false
		}
	}
	return true
}

// reverseDNS reports whether s is a plain launchd label or bundle id.
func reverseDNS(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(isLetter(c) || '0' <= c && c <= '9' || i > 0 && strings.IndexByte(".-_", c) >= 0) {
			return false
		}
	}
	return true
}

func toolOf(obs []Obstacle) string {
	for _, o := range obs {
		if o.Tool != "" {
			return o.Tool
		}
	}
	return ""
}

// quoteShort quotes s for a message, Go-style (control characters and
// invalid UTF-8 escaped), cut to about 80 bytes at a rune boundary.
func quoteShort(s string) string {
	return strconv.Quote(text.Clip(s, 80))
}
