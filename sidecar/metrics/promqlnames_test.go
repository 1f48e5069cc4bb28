package metrics

import (
	"errors"
	"strings"
)

var errUnterminated = errors.New("unterminated")

// promqlGrouping are the keywords followed by a parenthesised label list.
var promqlGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true}

// promqlKeywords are identifiers that are never metric names, even when
// no "(" follows: operators, modifiers, and the aggregations (followed by
// by or without in "sum by (x) (…)"); group_left may stand without labels.
var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true,
	"offset": true, "atan2": true, "inf": true, "nan": true, "group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true}

// promqlMetricNames lists the metric names an expression selects: the
// identifiers left once strings, comments, label matchers {…}, ranges […],
// Grafana variables ($x, ${x}), numbers and durations, grouping label
// lists, function and aggregation names and keywords are skipped. A test
// helper, not a PromQL parser: a name given only as {__name__="…"} is not
// seen (the rules and dashboard do not use that form).
func promqlMetricNames(expr string) ([]string, error) {
	var names []string
	for i := 0; i < len(expr); {
		c := expr[i]
		var err error
		switch {
		case c == '"' || c == '\'' || c == '`':
			i, err = skipString(expr, i)
		case c == '#':
			i = skipLine(expr, i)
		case c == '{':
			i, err = skipClosing(expr, i, '}')
		case c == '[':
			i, err = skipClosing(expr, i, ']')
		case c == '$':
			i = skipVariable(expr, i)
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			i = skipNumber(expr, i)
		case isIdentStart(c):
			var name string
			name, i, err = identifier(expr, i)
			if name != "" {
				names = append(names, name)
			}
		default:
			i++
		}
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// identifier reads the identifier at i and returns it if it is a metric
// name ("" for a keyword or function), and where scanning resumes.
func identifier(expr string, i int) (string, int, error) {
	j := i
	for j < len(expr) && (isIdentStart(expr[j]) || isDigit(expr[j])) {
		j++
	}
	word := expr[i:j]
	k := j
	for k < len(expr) && strings.IndexByte(" \t\r\n", expr[k]) >= 0 {
		k++
	}
	lower := strings.ToLower(word)
	switch {
	case promqlGrouping[lower] && k < len(expr) && expr[k] == '(':
		end, err := skipClosing(expr, k, ')')
		return "", end, err
	case k < len(expr) && expr[k] == '(': // a function or an aggregation
		return "", j, nil
	case promqlKeywords[lower]:
		return "", j, nil
	}
	return word, j, nil
}

// skipClosing returns the index after the close byte matching expr[i],
// passing over quoted strings (a label value may hold the close byte).
func skipClosing(expr string, i int, closeByte byte) (int, error) {
	for j := i + 1; j < len(expr); {
		switch c := expr[j]; {
		case c == closeByte:
			return j + 1, nil
		case c == '"' || c == '\'' || c == '`':
			var err error
			if j, err = skipString(expr, j); err != nil {
				return 0, err
			}
		default:
			j++
		}
	}
	return 0, errUnterminated
}

// skipString returns the index after the string starting at i; backslash
// escapes count in "…" and '…', not in raw `…`.
func skipString(expr string, i int) (int, error) {
	q := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && q != '`':
			j++
		case expr[j] == q:
			return j + 1, nil
		}
	}
	return 0, errUnterminated
}

func skipLine(expr string, i int) int {
	if n := strings.IndexByte(expr[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(expr)
}

func skipVariable(expr string, i int) int {
	if i+1 < len(expr) && expr[i+1] == '{' {
		if n := strings.IndexByte(expr[i:], '}'); n >= 0 {
			return i + n + 1
		}
		return len(expr)
	}
	j := i + 1
	for j < len(expr) && (isIdentStart(expr[j]) || isDigit(expr[j])) {
		j++
	}
	return j
}

// skipNumber passes over a number or duration: 5, 0.99, 1e+6, 5m, 0x1F.
func skipNumber(expr string, i int) int {
	j := i
	for j < len(expr) {
		c := expr[j]
		switch {
		case isDigit(c) || isIdentStart(c) || c == '.':
			j++
		case (c == '+' || c == '-') && (expr[j-1] == 'e' || expr[j-1] == 'E') && !strings.ContainsAny(expr[i:j], "xX"):
			j++
		default:
			return j
		}
	}
	return j
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
