package core

import (
	"strconv"
	"time"
)

// Bounds of RotationInterval.
const (
	MinRotationInterval = 6 * time.Hour
	MaxRotationInterval = 8760 * time.Hour
)

// ParseRotationInterval reads the protocol's `integer[unit]` form (units d, h, m, s; no unit
// means seconds) and checks the 6 h to 8,760 h range.
func ParseRotationInterval(s string) (time.Duration, error) {
	d, err := parseDuration("RotationInterval", s, "7d")
	if err != nil {
		return 0, err
	}
	if d < MinRotationInterval || d > MaxRotationInterval {
		return 0, Invalid("RotationInterval", "must be between 6h and 8760h")
	}
	return d, nil
}

// ParseRotationWindow reads RotateSecret's RotationWindow extension parameter, in the same form,
// and checks the 10 m to 2 d range.
func ParseRotationWindow(s string) (time.Duration, error) {
	d, err := parseDuration("RotationWindow", s, "30m")
	if err != nil {
		return 0, err
	}
	if d < MinRotationWindow || d > MaxRotationWindow {
		return 0, Invalid("RotationWindow", "must be between 10m and 2d")
	}
	return d, nil
}

func parseDuration(field, s, example string) (time.Duration, error) {
	if s == "" {
		return 0, Missing(field)
	}
	unit := time.Second
	num := s
	switch s[len(s)-1] {
	case 'd':
		unit, num = 24*time.Hour, s[:len(s)-1]
	case 'h':
		unit, num = time.Hour, s[:len(s)-1]
	case 'm':
		unit, num = time.Minute, s[:len(s)-1]
	case 's':
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > int64(MaxRotationInterval/unit) {
		return 0, Invalid(field, "use a whole number with a unit d, h, m or s, such as %s", example)
	}
	return time.Duration(n) * unit, nil
}

// FormatRotationInterval writes an interval in seconds, as the protocol answers (604800s).
func FormatRotationInterval(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
