package api

import "unicode/utf8"

// The tutorial's v0.6 decoded bodies and files as YAML, a superset of JSON,
// which is why the blog's files with trailing commas (lnmp-replication.json,
// lnmp-service.json as printed) were accepted. kubelite accepts exactly
// that leniency, and names the blog's other defect, typographic quotes.

// StripTrailingCommas returns data without the commas that directly precede
// (but for blanks) a closing } or ], outside strings. Anything else is left
// as it is, so malformed JSON stays malformed.
func StripTrailingCommas(data []byte) []byte {
	out := make([]byte, 0, len(data))
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		}
		if c == ',' {
			j := i + 1
			for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
				j++
			}
			if j < len(data) && (data[j] == '}' || data[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// TypographicQuote finds the first curly quote of data (“ ” ‘ ’ „ « »),
// with its 1-based line and column (in characters).
func TypographicQuote(data []byte) (line, col int, q rune, ok bool) {
	line = 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		data = data[size:]
		col++
		switch r {
		case '\n':
			line, col = line+1, 0
		case '\u201c', '\u201d', '\u2018', '\u2019', '\u201e', '\u00ab', '\u00bb':
			return line, col, r, true
		}
	}
	return 0, 0, 0, false
}
