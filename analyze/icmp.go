package analyze

import "fmt"

// ICMPMeaning names an ICMP or ICMPv6 error the way a network engineer says
// it: "port unreachable", "administratively prohibited".
func ICMPMeaning(v6 bool, typ, code uint8) string {
	e := struct{ Type, Code uint8 }{typ, code}
	if v6 {
		switch e.Type {
		case 1:
			if s, ok := map[uint8]string{0: "no route to destination", 1: "administratively prohibited", 3: "address unreachable", 4: "port unreachable", 5: "source address failed policy", 6: "reject route"}[e.Code]; ok {
				return s
			}
			return fmt.Sprintf("destination unreachable (code %d)", e.Code)
		case 2:
			return "packet too big"
		case 3:
			return "hop limit exceeded"
		case 4:
			return "parameter problem"
		}
		return fmt.Sprintf("ICMPv6 type %d code %d", e.Type, e.Code)
	}
	switch e.Type {
	case 3:
		if s, ok := map[uint8]string{0: "network unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable", 4: "fragmentation needed", 9: "network administratively prohibited", 10: "host administratively prohibited", 13: "communication administratively prohibited"}[e.Code]; ok {
			return s
		}
		return fmt.Sprintf("destination unreachable (code %d)", e.Code)
	case 4:
		return "source quench"
	case 5:
		return "redirect"
	case 11:
		return "TTL exceeded"
	case 12:
		return "parameter problem"
	}
	return fmt.Sprintf("ICMP type %d code %d", e.Type, e.Code)
}
