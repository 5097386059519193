package cli

import (
	"slices"
	"testing"
)

func TestParseSwarmSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "50", want: []int{50}},
		{in: "10, 50,100", want: []int{10, 50, 100}},
		{in: "500", want: []int{500}},
		{in: "0", err: true},
		{in: "501", err: true},
		{in: "-3", err: true},
		{in: "ten", err: true},
		{in: "10,,50", err: true},
		{in: "2.5", err: true},
	} {
		got, err := parseSwarmSizes(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseSwarmSizes(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseSwarmSizes(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
