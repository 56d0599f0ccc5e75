package demodata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The script model: names, steps, durations and failure behaviour of every
// script. It depends only on Seed, Scripts, MinSteps, MaxSteps and Stories,
// so Mutate can rebuild it without knowing the history's window or size.

var areas = []string{
	"checkout", "login", "signup", "search", "cart", "profile", "billing", "invoice",
	"payment", "onboarding", "admin-panel", "reports", "export", "import", "settings",
	"password-reset", "wishlist", "inventory", "shipping", "notifications", "dashboard",
	"catalog", "order-history", "subscription", "coupon", "refund", "support-ticket",
	"chat", "file-upload", "api-health", "sso", "mfa", "logout", "account-deletion",
	"newsletter", "reviews", "gift-card", "returns", "loyalty", "store-locator",
}

var kinds = []string{
	"flow", "smoke", "regression", "e2e", "sanity", "journey", "check", "canary",
	"nightly", "monitor", "happy-path", "edge-cases",
}

// Step themes, each roughly in the order its steps happen in a browser
// session. A script's steps are "open <area> page", maybe a cookie banner
// and a login, then an ordered subset of its area's theme, topped up from
// the other themes when it needs more.
var themes = map[string][]string{
	"auth": {"fill credentials", "submit", "enter 2fa code", "check email inbox", "click verification link",
		"wait for dashboard", "verify session cookie", "log out", "verify redirect"},
	"shop": {"search for product", "filter results", "sort by price", "paginate results", "open product page",
		"select size", "add to cart", "open cart", "apply coupon", "enter shipping address",
		"select delivery option", "enter card details", "confirm payment", "verify order confirmation"},
	"profile": {"open settings", "change avatar", "save profile", "switch language", "verify translations",
		"verify toast message"},
	"files": {"open navigation menu", "select date range", "upload file", "verify upload", "download report",
		"verify csv contents", "verify totals"},
	"support": {"open notifications", "mark all as read", "create ticket", "attach screenshot",
		"reply to ticket", "close ticket", "verify email sent"},
	"api": {"refresh token", "check api health", "call orders endpoint", "verify response schema",
		"verify latency budget"},
}

var themeOrder = []string{"auth", "shop", "profile", "files", "support", "api"}

var areaTheme = map[string]string{
	"login": "auth", "signup": "auth", "password-reset": "auth", "sso": "auth", "mfa": "auth",
	"logout": "auth", "account-deletion": "auth",
	"profile": "profile", "settings": "profile", "onboarding": "profile", "newsletter": "profile",
	"reviews": "profile",
	"reports": "files", "export": "files", "import": "files", "file-upload": "files",
	"inventory": "files", "admin-panel": "files", "dashboard": "files",
	"notifications": "support", "chat": "support", "support-ticket": "support",
	"api-health": "api",
} // every other area: "shop"

// stepNames returns n step names for a script of area.
func stepNames(r *rand.Rand, area string, n int) []string {
	names := []string{"open " + strings.ReplaceAll(area, "-", " ") + " page"}
	theme := areaTheme[area]
	if theme == "" {
		theme = "shop"
	}
	var prefix []string
	if n >= 5 && r.Float64() < 0.4 {
		prefix = append(prefix, "accept cookie banner")
	}
	if theme != "auth" && n >= 5 && r.Float64() < 0.7 {
		prefix = append(prefix, "fill credentials", "submit")
	}
	names = append(names, prefix...)
	used := map[string]bool{}
	for _, nm := range names {
		used[nm] = true
	}
	// An ordered subset of the theme, then of the other themes.
	pickFrom := func(pool []string, k int) {
		var free []string
		for _, nm := range pool {
			if !used[nm] {
				free = append(free, nm)
			}
		}
		idx := r.Perm(len(free))[:min(k, len(free))]
		slices.Sort(idx)
		for _, i := range idx {
			names = append(names, free[i])
			used[free[i]] = true
		}
	}
	pickFrom(themes[theme], n-len(names))
	for _, th := range themeOrder {
		if len(names) >= n {
			break
		}
		if th != theme {
			pickFrom(themes[th], n-len(names))
		}
	}
	for len(names) < n { // more steps than all themes have
		names = append(names, fmt.Sprintf("repeat check %d", len(names)))
	}
	return names[:n]
}

var renameVerbs = map[string]string{
	"open": "navigate to", "fill": "enter", "submit": "submit form", "verify": "assert",
	"click": "press", "wait": "await", "add": "put", "search": "look up", "select": "choose",
	"enter": "type", "confirm": "approve", "apply": "redeem", "save": "store",
	"switch": "change", "upload": "attach", "download": "fetch", "check": "inspect",
	"create": "file", "reply": "respond", "close": "resolve", "refresh": "renew",
	"change": "update", "mark": "flag", "filter": "narrow", "sort": "order",
	"paginate": "page through", "log": "sign", "accept": "dismiss",
}

// renamed returns a plausible new name for a step.
func renamed(name string) string {
	verb, rest, _ := strings.Cut(name, " ")
	if nv, ok := renameVerbs[verb]; ok {
		if rest == "" {
			return nv
		}
		return nv + " " + rest
	}
	return name + " (v2)"
}

var users = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ci-bot", "release-bot"}

type errKind uint8

const (
	errSelectorTimeout errKind = iota
	errURLTimeout
	errNotVisible
	errHTTPStatus
	errNetwork
	errIntercepted
	errStale
	errTypeError
	errStrictMode
	errWrongText
	numErrKinds
)

func (k errKind) isTimeout() bool { return k == errSelectorTimeout || k == errURLTimeout }

type stepDef struct {
	name     string
	selector string
	base     float64 // median seconds
	hazard   float64 // probability to fail when attempted
	errKind  errKind
}

type script struct {
	id       int64
	name     string
	area     string
	steps    []stepDef
	weight   float64
	overhead float64 // seconds around the steps
	story    bool
	// Story effects; zero values mean none.
	regressStep   int // -1 none
	regressFactor float64
	breakStep     int // -1 none
	flakyStep     int // -1 none
	renameStep    int // -1 none
	renameTo      string
	shift         bool // every step and the overhead 1.5× from shiftFrom
	brokenStep    int  // -1 none; fails every attempt from brokenFrom
}

type model struct {
	scripts []*script
	cum     []float64 // cumulative weights for picking
	// pickNS is the cumulative weight table over non-story scripts.
	nonStory    []*script
	nonStoryCum []float64
	regress     *script
	flaky       *script
	breaking    *script
	renamedS    *script
	// Story days: effects apply to runs at or after these instants. The zero
	// time means "always" (Mutate, which comes after the history).
	regressFrom, breakFrom, renameFrom time.Time
	// Detection stories (Options.DetectionStories).
	shifted, broken       *script
	shiftFrom, brokenFrom time.Time
}

const (
	flakyRate    = 0.15
	breakingRate = 0.30
	regressRatio = 1.4
	shiftRatio   = 1.5
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^stream))
}

// lognormal returns median*exp(sigma*N(0,1)).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func slug(s string) string { return strings.ReplaceAll(s, " ", "-") }

func selectorFor(r *rand.Rand, step string) string {
	words := strings.Fields(step)
	last := words[len(words)-1]
	switch r.IntN(3) {
	case 0:
		return "#" + last
	case 1:
		return fmt.Sprintf("[data-test=%q]", slug(step))
	default:
		return "button:has-text(\"" + strings.ToUpper(last[:1]) + last[1:] + "\")"
	}
}

func buildModel(opt Options) *model {
	r := newRand(opt.Seed, 1)
	m := &model{}
	// Names: a shuffled cross product, suffixed when it runs out.
	combos := make([]string, 0, len(areas)*len(kinds))
	for _, a := range areas {
		for _, k := range kinds {
			combos = append(combos, a+"-"+k)
		}
	}
	r.Shuffle(len(combos), func(i, j int) { combos[i], combos[j] = combos[j], combos[i] })

	// Story scripts: the first four of a permutation of the ids.
	storyIdx := map[int]int{} // script index -> story number 1..4
	if opt.Stories {
		perm := r.Perm(opt.Scripts)
		n := 4
		if opt.DetectionStories {
			n = 6 // 5: a +50 % shift of the whole run; 6: a step broken
		}
		for i := 0; i < n && i < len(perm); i++ {
			storyIdx[perm[i]] = i + 1
		}
	}

	for i := 0; i < opt.Scripts; i++ {
		name := combos[i%len(combos)]
		if i >= len(combos) {
			name = fmt.Sprintf("%s-%d", name, i/len(combos)+1)
		}
		area := name
		for _, k := range kinds {
			if strings.HasSuffix(name, "-"+k) {
				area = strings.TrimSuffix(name, "-"+k)
				break
			}
		}
		if j := strings.LastIndexByte(area, '-'); j > 0 && strings.Trim(area[j+1:], "0123456789") == "" {
			area = area[:j]
		}
		story := storyIdx[i]
		s := &script{id: int64(i + 1), name: name, area: area, story: story > 0,
			regressStep: -1, breakStep: -1, flakyStep: -1, renameStep: -1, brokenStep: -1}

		minS, maxS := opt.MinSteps, opt.MaxSteps
		if story > 0 && maxS >= 5 && minS < 5 {
			minS = 5
		}
		n := minS + r.IntN(maxS-minS+1)
		names := stepNames(r, area, n)

		speed := lognormal(r, 1, 0.5)
		if r.Float64() < 0.1 {
			speed *= 5 // a heavy nightly-style script
		}
		successRate := 0.90 + 0.09*r.Float64()
		if !s.story && r.Float64() < 0.1 {
			successRate = 0.75 + 0.15*r.Float64()
		}
		if s.story {
			successRate = 0.97 + 0.02*r.Float64()
		}
		q := 1 - successRate
		weak := r.IntN(n)
		weakKind := errKind(r.IntN(int(numErrKinds)))
		s.steps = make([]stepDef, n)
		for j := range s.steps {
			base := lognormal(r, 1.2, 0.8) * speed
			if j == 0 {
				base *= 1.8 // page loads
			}
			base = math.Min(math.Max(base, 0.05), 120)
			h := 0.35 * q / float64(max(n-1, 1))
			kind := errKind(r.IntN(int(numErrKinds)))
			if j == weak {
				h = 0.65 * q
				kind = weakKind
			}
			if n == 1 {
				h = q
			}
			s.steps[j] = stepDef{name: names[j], selector: selectorFor(r, names[j]), base: base, hazard: h, errKind: kind}
		}
		s.overhead = 0.3 + 2*r.Float64()
		s.weight = lognormal(r, 1, 0.7)
		if s.story {
			s.weight = math.Max(s.weight, 1) * 2
		}
		// Story step: not the first and not the last, so earlier steps pass
		// and later ones are skipped when it fails.
		storyStep := 0
		if n >= 3 {
			storyStep = 1 + r.IntN(n-2)
		} else if n == 2 {
			storyStep = 1
		}
		switch story {
		case 1:
			s.regressStep = storyStep
			total := s.overhead
			for _, st := range s.steps {
				total += st.base
			}
			s.regressFactor = 1 + (regressRatio-1)*total/s.steps[storyStep].base
			m.regress = s
		case 2, 3:
			// Keep the script's own failures away from the story step: the
			// breaking step never fails before its day.
			s.steps[storyStep].hazard = 0
			if story == 2 {
				s.flakyStep = storyStep
				s.steps[storyStep].errKind = errSelectorTimeout
				m.flaky = s
			} else {
				s.breakStep = storyStep
				s.steps[storyStep].errKind = errWrongText
				m.breaking = s
			}
		case 5:
			s.shift = true
			m.shifted = s
		case 6:
			s.steps[storyStep].hazard = 0
			s.brokenStep = storyStep
			s.steps[storyStep].errKind = errWrongText
			m.broken = s
		case 4:
			s.renameStep = storyStep
			s.renameTo = renamed(s.steps[storyStep].name)
			m.renamedS = s
		}
		m.scripts = append(m.scripts, s)
	}
	m.cum = make([]float64, len(m.scripts))
	acc := 0.0
	for i, s := range m.scripts {
		acc += s.weight
		m.cum[i] = acc
		if !s.story {
			m.nonStory = append(m.nonStory, s)
		}
	}
	acc = 0
	for _, s := range m.nonStory {
		acc += s.weight
		m.nonStoryCum = append(m.nonStoryCum, acc)
	}
	return m
}

func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (m *model) pick(r *rand.Rand) *script { return m.scripts[pickCum(r, m.cum)] }

// pickNonStory picks a script that carries no story (any script if all do).
func (m *model) pickNonStory(r *rand.Rand) *script {
	if len(m.nonStory) == 0 {
		return m.pick(r)
	}
	return m.nonStory[pickCum(r, m.nonStoryCum)]
}

// stepName is the name of step j of s for a run at time at.
func (m *model) stepName(s *script, j int, at time.Time) string {
	if j == s.renameStep && !at.Before(m.renameFrom) {
		return s.renameTo
	}
	return s.steps[j].name
}

// hazard is the failure probability of step j of s for a run at time at.
func (m *model) hazard(s *script, j int, at time.Time) float64 {
	switch {
	case j == s.flakyStep:
		return flakyRate
	case j == s.breakStep && !at.Before(m.breakFrom):
		return breakingRate
	case j == s.brokenStep && !at.Before(m.brokenFrom):
		return 1
	}
	return s.steps[j].hazard
}

func (m *model) durFactor(s *script, j int, at time.Time) float64 {
	if j == s.regressStep && !at.Before(m.regressFrom) {
		return s.regressFactor
	}
	return m.shiftFactor(s, at)
}

// shiftFactor is 1.5 for the shifted script's steps and overhead from its
// day on (a +50 % shift of the whole run), else 1.
func (m *model) shiftFactor(s *script, at time.Time) float64 {
	if s.shift && !at.Before(m.shiftFrom) {
		return shiftRatio
	}
	return 1
}

// errorText is the error of a failure of step j of s.
func errorText(r *rand.Rand, s *script, j int, kind errKind) string {
	st := &s.steps[j]
	switch kind {
	case errSelectorTimeout:
		return fmt.Sprintf("TimeoutError: waiting for selector %q failed: timeout 30000ms exceeded", st.selector)
	case errURLTimeout:
		return fmt.Sprintf("TimeoutError: page.waitForURL: Timeout 15000ms exceeded while waiting for \"**/%s/**\"", s.area)
	case errNotVisible:
		return fmt.Sprintf("Error: expect(locator).toBeVisible() failed: locator('%s') not visible after 5000ms", st.selector)
	case errHTTPStatus:
		codes := [...]int{500, 502, 503, 504, 429}
		return fmt.Sprintf("AssertionError: expected response status 200 but got %d (POST /api/%s/%s)", codes[r.IntN(len(codes))], s.area, slug(st.name))
	case errNetwork:
		errs := [...]string{"ERR_CONNECTION_RESET", "ERR_NAME_NOT_RESOLVED", "ERR_TIMED_OUT", "ERR_CONNECTION_REFUSED"}
		return fmt.Sprintf("Error: page.goto: net::%s at https://staging.example.test/%s", errs[r.IntN(len(errs))], s.area)
	case errIntercepted:
		return fmt.Sprintf("ElementClickInterceptedError: element %s is not clickable at point (%d, %d): other element would receive the click: <div class=\"cookie-banner\">", st.selector, 100+r.IntN(800), 100+r.IntN(600))
	case errStale:
		return fmt.Sprintf("StaleElementReferenceError: element %s is not attached to the page document", st.selector)
	case errTypeError:
		return fmt.Sprintf("TypeError: Cannot read properties of undefined (reading 'total')\n    at Step.%s (steps/%s.ts:%d:%d)", strings.ReplaceAll(slug(st.name), "-", "_"), s.area, 10+r.IntN(200), 5+r.IntN(40))
	case errStrictMode:
		return fmt.Sprintf("Error: strict mode violation: locator('%s') resolved to %d elements", st.selector, 2+r.IntN(3))
	default:
		texts := [...][2]string{{"Order confirmed", "Payment declined"}, {"Welcome back", "Sign in"}, {"Saved", "Something went wrong"}, {"3 results", "No results"}}
		t := texts[r.IntN(len(texts))]
		return fmt.Sprintf("AssertionError: expected %s to have text %q but received %q", st.selector, t[0], t[1])
	}
}
