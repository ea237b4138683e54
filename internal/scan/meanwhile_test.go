package scan

import "testing"

// meanwhile's wait returns once its function has, and raises again, on
// the waiting goroutine and once only, a panic in it.
func TestMeanwhile(t *testing.T) {
	done := false
	wait := meanwhile(func() { done = true })
	wait()
	if !done {
		t.Fatal("wait returned before the function did")
	}
	wait = meanwhile(func() { panic("boom") })
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		wait()
		t.Error("wait did not panic")
	}()
	wait() // a second wait does not panic again
}
