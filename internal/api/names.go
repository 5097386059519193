package api

// The name grammars of validation.go as byte loops: a regexp match cost
// more than the rest of a pod's validation (12 env vars, each matched).
// names_test.go checks each against its regular expression.

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// isDNS1123LabelChars: [a-z0-9]([-a-z0-9]*[a-z0-9])?
func isDNS1123LabelChars(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNS952LabelChars: [a-z]([-a-z0-9]*[a-z0-9])?
func isDNS952LabelChars(s string) bool {
	return s != "" && s[0] >= 'a' && s[0] <= 'z' && isDNS1123LabelChars(s)
}

// isDNS1123SubdomainChars: labels of isDNS1123LabelChars joined by dots.
func isDNS1123SubdomainChars(s string) bool {
	for {
		i := 0
		for i < len(s) && s[i] != '.' {
			i++
		}
		if !isDNS1123LabelChars(s[:i]) {
			return false
		}
		if i == len(s) {
			return true
		}
		s = s[i+1:]
	}
}

// isQualifiedNameChars: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
func isQualifiedNameChars(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isEnvVarName: [A-Za-z_][A-Za-z0-9_]*
func isEnvVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}
