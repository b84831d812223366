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
	if s == "" {
		return 0, Missing("RotationInterval")
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
		return 0, Invalid("RotationInterval", "use a whole number with a unit d, h, m or s, such as 7d")
	}
	d := time.Duration(n) * unit
	if d < MinRotationInterval || d > MaxRotationInterval {
		return 0, Invalid("RotationInterval", "must be between 6h and 8760h")
	}
	return d, nil
}

// FormatRotationInterval writes an interval in seconds, as the protocol answers (604800s).
func FormatRotationInterval(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
