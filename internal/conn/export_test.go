package conn

// What the tests of the table's bounds read of it.

const MaxThawedAttempts = maxThawedAttempts

// AttemptsListed is the length of the table's list of attempts.
func (t *Table) AttemptsListed() int { return len(t.attempts) }

// ThawedCount is how many of its connections are thawed.
func (t *Table) ThawedCount() int { return t.thawed.n }
