package report

import (
	"github.com/syndiag/syndiag/analyze"
)

// appendAcceptQueue writes the accept-queue model of one listener: the
// occupancy step by step, the size the model estimates, and when the queue
// was seen full.
func appendAcceptQueue(e *jenc, q *analyze.AcceptQueue, jw *jsonWriter) {
	e.open('{')
	e.int("capture", int64(q.Capture))
	e.str("server", q.Server.String())
	e.bool("served", q.Served)
	if q.Capacity > 0 {
		e.int("capacity", int64(q.Capacity))
	} else {
		e.null("capacity")
	}
	e.int("changes", int64(q.Changes))
	e.list("steps", len(q.Steps), func(i int) {
		e.open('{')
		e.time("time", q.Steps[i].Time)
		e.int("waiting", int64(q.Steps[i].Waiting))
		e.close('}')
		jw.spill(e)
	})
	e.list("ignored_third_acks", len(q.Ignored), func(i int) { e.b = appendTimestamp(e.b, q.Ignored[i]) })
	e.list("reset_third_acks", len(q.Reset), func(i int) { e.b = appendTimestamp(e.b, q.Reset[i]) })
	e.close('}')
}

// appendPAWSReplay writes the per-host PAWS replay of one capture: whether
// the rule could drop any SYN there and, where it could, its decision on
// each SYN of the sources it matters most to.
func appendPAWSReplay(e *jenc, r *analyze.PAWSReplay, jw *jsonWriter) {
	e.open('{')
	e.int("capture", int64(r.Capture))
	e.str("scope", string(r.Scope))
	e.list("sources", len(r.Sources), func(i int) {
		src := &r.Sources[i]
		e.open('{')
		e.str("ip", src.Addr.String())
		e.int("syns", int64(src.SYNs))
		e.int("rejected", int64(src.Rejected))
		e.int("unanswered", int64(src.Unanswered))
		e.list("stamps", len(src.Stamps), func(i int) {
			st := src.Stamps[i]
			e.open('{')
			e.time("time", st.Time)
			e.int("tsval", int64(st.TSval))
			e.int("attempt", int64(st.Attempt))
			e.close('}')
		})
		e.list("decisions", len(src.Decisions), func(i int) {
			d := src.Decisions[i]
			e.open('{')
			e.int("attempt", int64(d.Attempt))
			e.int("syn", int64(d.SYN))
			e.bool("answered", d.Answered)
			if d.InForce {
				e.int("stamp_in_force", int64(d.Stamp))
			} else {
				e.null("stamp_in_force")
			}
			e.bool("rejected", d.Reject)
			e.close('}')
			jw.spill(e)
		})
		e.close('}')
	})
	e.int("other_sources", int64(r.OtherSources))
	e.close('}')
}
