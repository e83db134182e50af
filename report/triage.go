package report

// CaseSummary is what triage keeps of one case (a capture, or a client and
// a server capture analyzed together) once its analysis is done: enough to
// rank it, print a row or a JSON line, and link to its own report, and small,
// so that triage's memory does not grow with the attempts of its cases.
type CaseSummary struct {
	// Name identifies the case: the capture's path, or the folder's for a
	// pair, as the files were given (slash-separated).
	Name  string
	Files []CaseFile
	// Joined is true when a client and a server capture were joined.
	Joined bool
	// Worst is the most severe finding's severity ("critical", "warning",
	// "info"), or "" when there is none.
	Worst    string
	Findings []CaseFinding // ranked, most severe first
	// Attempts counts handshake attempts; Failed those that never
	// completed; Retransmitted those that needed a SYN retransmission.
	Attempts, Failed, Retransmitted int
	// Errors holds the problems met reading the case's files, each naming
	// the file.
	Errors []string
	// Report is the case's own report file, relative to the triage index,
	// or "" when none was written.
	Report string
}

// CaseFile is one capture of a case.
type CaseFile struct {
	Path    string
	Role    string // client, server or unknown
	Format  string // "" when the file could not be read at all
	Packets int64
	Bytes   int64 // the file's size
	Error   string
}

// CaseFinding is a finding as triage shows it: without its evidence.
type CaseFinding struct {
	Kind             string
	Severity         string
	Confidence       float64
	Capture          string // the path of the capture it is about
	Summary          string
	AffectedAttempts int
}
